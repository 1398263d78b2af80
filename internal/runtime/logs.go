package runtime

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// tailMax is how much of an invocation's log LogTail keeps (X-Amz-Log-Result).
const tailMax = 4096

// logPump reads an environment's combined stdout/stderr pipe, splits it
// into lines and sends each to the sink and to the current invocation's
// tail. One goroutine (run) per environment; it ends at EOF.
type logPump struct {
	fn   string
	sink LogSink
	r    *os.File

	mu       sync.Mutex
	partial  []byte        // bytes after the last newline
	tail     *bytes.Buffer // current invocation's lines, nil when not tailing
	drainBuf []byte        // flush's read buffer
}

func newLogPump(fn string, sink LogSink, r *os.File) *logPump {
	p := &logPump{fn: fn, sink: sink, r: r}
	return p
}

// run reads until EOF or a read error; the environment owns the goroutine.
// Each read and the processing of what it returned happen under p.mu, so
// flush can tell from the pipe's fill level alone what is still unread.
func (p *logPump) run() {
	buf := make([]byte, 32*1024)
	rc, err := p.r.SyscallConn()
	if err != nil {
		p.finish()
		return
	}
	for {
		var n int
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			p.mu.Lock()
			defer p.mu.Unlock()
			n, rerr = syscall.Read(int(fd), buf)
			if rerr == syscall.EAGAIN {
				return false // wait for the poller
			}
			if n > 0 {
				p.processLocked(time.Now(), buf[:n])
			}
			return true
		})
		if err != nil || rerr != nil || n <= 0 {
			p.finish()
			return
		}
	}
}

// processLocked turns read bytes into lines. p.mu must be held.
func (p *logPump) processLocked(now time.Time, data []byte) {
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			p.partial = append(p.partial, data...)
			break
		}
		var line string
		if len(p.partial) > 0 {
			line = string(append(p.partial, data[:i]...))
			p.partial = p.partial[:0]
		} else {
			line = string(data[:i])
		}
		p.emitLocked(now, line)
		data = data[i+1:]
	}
}

// finish emits a trailing partial line and wakes flush waiters at EOF.
func (p *logPump) finish() {
	p.mu.Lock()
	if len(p.partial) > 0 {
		p.emitLocked(time.Now(), string(p.partial))
		p.partial = nil
	}
	p.mu.Unlock()
}

// emitLocked sends one line to the sink and the tail. p.mu must be held.
func (p *logPump) emitLocked(at time.Time, line string) {
	line = strings.TrimSuffix(line, "\r")
	if p.sink != nil {
		p.sink.WriteLog(p.fn, at, line)
	}
	if p.tail != nil {
		p.tail.WriteString(line)
		p.tail.WriteByte('\n')
	}
}

// platform writes a line penstock itself produces (START, END, REPORT...).
func (p *logPump) platform(line string) {
	p.mu.Lock()
	p.emitLocked(time.Now(), line)
	p.mu.Unlock()
}

// startTail makes the following lines part of an invocation's tail.
func (p *logPump) startTail(on bool) {
	p.mu.Lock()
	if on {
		p.tail = new(bytes.Buffer)
	} else {
		p.tail = nil
	}
	p.mu.Unlock()
}

// endTail stops collecting and returns the last tailMax bytes.
func (p *logPump) endTail() string {
	p.mu.Lock()
	t := p.tail
	p.tail = nil
	p.mu.Unlock()
	if t == nil {
		return ""
	}
	b := t.Bytes()
	if len(b) > tailMax {
		b = b[len(b)-tailMax:]
	}
	return string(b)
}

// flush turns everything the process wrote before now into lines: it
// reads what the pipe holds itself, without waiting (the pipe's fd is
// non-blocking; rc.Control does not take the read lock the pump's pending
// rc.Read holds, and p.mu serialises the two readers). A trailing partial
// line is emitted too. Costs one read(2) returning EAGAIN when the pipe is
// empty, and never waits for the pump goroutine to be scheduled.
func (p *logPump) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rc, err := p.r.SyscallConn(); err == nil {
		if p.drainBuf == nil {
			p.drainBuf = make([]byte, 32*1024)
		}
		_ = rc.Control(func(fd uintptr) {
			for {
				n, err := syscall.Read(int(fd), p.drainBuf)
				if n > 0 {
					p.processLocked(time.Now(), p.drainBuf[:n])
				}
				if err != nil || n <= 0 { // EAGAIN: empty; 0: EOF (the pump sees it too)
					return
				}
			}
		})
	}
	if len(p.partial) > 0 {
		p.emitLocked(time.Now(), string(p.partial))
		p.partial = p.partial[:0]
	}
}

// Platform line formats (esm.md §10.5).

func startLine(id, version string) string {
	return "START RequestId: " + id + " Version: " + version
}

func endLine(id string) string { return "END RequestId: " + id }

func reportLine(id string, d time.Duration, billed int64, memMB, usedMB int, init time.Duration) string {
	s := fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t",
		id, ms(d), billed, memMB, usedMB)
	if init > 0 {
		s += fmt.Sprintf("Init Duration: %.2f ms\t", ms(init))
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// billedMS rounds up to the next millisecond (AWS bills in 1 ms steps).
func billedMS(d time.Duration) int64 { return int64(math.Ceil(ms(d))) }

func timeoutMessage(t time.Duration) string {
	return fmt.Sprintf("Task timed out after %.2f seconds", t.Seconds())
}
