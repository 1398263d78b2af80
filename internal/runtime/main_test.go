package runtime

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// goHandlerDir holds the Go test handler built once as `bootstrap`.
var goHandlerDir string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "penstock-runtime-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	goHandlerDir = filepath.Join(dir, "gohandler")
	cmd := exec.Command("go", "build", "-o", filepath.Join(goHandlerDir, "bootstrap"), "./testdata/gohandler")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building testdata/gohandler: %v\n%s", err, out)
		return 1
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "leaked goroutines:", err)
			return 1
		}
	}
	return code
}

// logRecorder is a LogSink that keeps every line and wakes waiters.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
	fns   []string
	added chan struct{}
}

func newLogRecorder() *logRecorder { return &logRecorder{added: make(chan struct{}, 1)} }

func (l *logRecorder) WriteLog(fn string, at time.Time, line string) {
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.fns = append(l.fns, fn)
	l.mu.Unlock()
	select {
	case l.added <- struct{}{}:
	default:
	}
}

func (l *logRecorder) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// waitLine blocks until a line containing s was written.
func (l *logRecorder) waitLine(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		for _, line := range l.all() {
			if strings.Contains(line, s) {
				return
			}
		}
		select {
		case <-l.added:
		case <-deadline:
			t.Fatalf("no log line containing %q; have:\n%s", s, strings.Join(l.all(), "\n"))
		}
	}
}

// newTestManager starts a Manager whose Run ends with the test.
func newTestManager(t testing.TB, mut func(*Options)) (*Manager, *logRecorder) {
	t.Helper()
	logs := newLogRecorder()
	o := Options{
		Region: "us-east-1", AccountID: "111111111111",
		WorkDir:     t.TempDir(),
		Credentials: map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"},
		Logs:        logs,
	}
	if mut != nil {
		mut(&o)
	}
	m := NewManager(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return m, logs
}

// lang is one of the test handler languages.
type lang struct {
	name    string
	runtime string
	handler string
	dir     func(t testing.TB) string
}

var langs = []lang{
	{"go", "provided.al2023", "bootstrap", func(testing.TB) string { return goHandlerDir }},
	{"node", "nodejs20.x", "index.handler", func(testing.TB) string { return abs("testdata/node/behaviors") }},
	{"python", "python3.12", "handler.handler", func(testing.TB) string { return abs("testdata/python") }},
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return a
}

func (l lang) spec(t testing.TB, name string) *Spec {
	return &Spec{
		Name: name, ARN: "arn:aws:lambda:us-east-1:111111111111:function:" + name,
		Runtime: l.runtime, Handler: l.handler, CodeDir: l.dir(t), Revision: "r1",
		Timeout: 5 * time.Second, MemoryMB: 256,
		Env: map[string]string{"FOO": "bar"},
	}
}

// requireEqual fails the test when got != want.
func requireEqual[T comparable](t testing.TB, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// checkFor polls f until it returns nil or the timeout passes.
func checkFor(t testing.TB, timeout, every time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(every)
	}
}
