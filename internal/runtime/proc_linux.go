package runtime

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// sysProcAttr puts the environment in its own process group (so a kill
// takes its children too) and kills it if penstock dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup SIGKILLs the process group led by pid.
func killGroup(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}

// memReader reads a process's peak resident set size from
// /proc/<pid>/status, keeping the file open and re-reading it from offset 0.
// The kernel formats the whole file on every read (~8 µs), so a value is
// reused for memSampleEvery: back-to-back invocations report a peak at most
// that old (VmHWM only grows, so it is never too high).
type memReader struct {
	mu   sync.Mutex
	f    *os.File
	buf  []byte
	mb   int
	read time.Time // when mb was read; zero = never
}

// memSampleEvery is how long a VmHWM reading is reused.
const memSampleEvery = 100 * time.Millisecond

func newMemReader(pid int) *memReader {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return &memReader{}
	}
	return &memReader{f: f, buf: make([]byte, 4096)}
}

// maxMB returns VmHWM (or VmRSS) rounded up to MB; 0 when unknown.
func (m *memReader) maxMB() int {
	if m.f == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if !m.read.IsZero() && now.Sub(m.read) < memSampleEvery {
		return m.mb
	}
	m.mb, m.read = m.readMB(), now
	return m.mb
}

func (m *memReader) readMB() int {
	n, err := m.f.ReadAt(m.buf, 0)
	if n == 0 && err != nil {
		return 0
	}
	b := m.buf[:n]
	kb := field(b, "VmHWM:")
	if kb == 0 {
		kb = field(b, "VmRSS:")
	}
	return int((kb + 1023) / 1024)
}

func (m *memReader) close() {
	if m.f != nil {
		m.f.Close()
	}
}

// field parses "Name:   1234 kB" from a /proc status file.
func field(b []byte, name string) int64 {
	i := bytes.Index(b, []byte(name))
	if i < 0 {
		return 0
	}
	b = b[i+len(name):]
	if j := bytes.IndexByte(b, '\n'); j >= 0 {
		b = b[:j]
	}
	b = bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(b), []byte("kB")))
	v, _ := strconv.ParseInt(string(b), 10, 64)
	return v
}
