package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// busyInvoke starts an invocation that sleeps far longer than the test and
// waits until it runs; Run's shutdown at cleanup ends it (ErrStopped).
func busyInvoke(t *testing.T, m *Manager, logs *logRecorder, s *Spec, id string) {
	t.Helper()
	go func() {
		_, _ = m.Invoke(context.Background(), s, []byte(`{"action":"sleep","sleepMs":60000}`), InvokeOptions{RequestID: id})
	}()
	logs.waitLine(t, "START RequestId: "+id)
}

func TestInvoke_Throttled(t *testing.T) {
	m, logs := newTestManager(t, func(o *Options) { o.MaxEnvironments = 2 })
	s := langs[0].spec(t, "throttle")
	s.Concurrency = 1
	s.Timeout = time.Minute
	busyInvoke(t, m, logs, s, "slow")
	if _, err := m.Invoke(t.Context(), s, []byte(`{}`), InvokeOptions{}); !errors.Is(err, ErrThrottled) {
		t.Fatalf("second concurrent invoke: err = %v, want ErrThrottled", err)
	}
	// Server-wide cap 2: throttle (busy) + other (idle); a third function
	// evicts other's idle environment, never the busy one.
	other, _ := invokeInfo(t, m, langs[0].spec(t, "other"), InvokeOptions{})
	invokeInfo(t, m, langs[0].spec(t, "third"), InvokeOptions{})
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error { return gone(other.PID) })
	if _, err := m.Invoke(t.Context(), s, []byte(`{}`), InvokeOptions{}); !errors.Is(err, ErrThrottled) {
		t.Fatalf("the busy environment was evicted: err = %v", err)
	}
}

func TestInvoke_ServerCapWithAllBusy(t *testing.T) {
	m, logs := newTestManager(t, func(o *Options) { o.MaxEnvironments = 1 })
	s := langs[0].spec(t, "busy")
	s.Timeout = time.Minute
	busyInvoke(t, m, logs, s, "busy1")
	if _, err := m.Invoke(t.Context(), langs[0].spec(t, "x"), []byte(`{}`), InvokeOptions{}); !errors.Is(err, ErrThrottled) {
		t.Fatalf("err = %v, want ErrThrottled", err)
	}
}

func TestVersionsHaveTheirOwnPools(t *testing.T) {
	m, logs := newTestManager(t, nil)
	latest := langs[0].spec(t, "versions")
	v1 := langs[0].spec(t, "versions")
	v1.Version, v1.Revision, v1.ARN = "1", "published-1", latest.ARN+":1"
	a, _ := invokeInfo(t, m, latest, InvokeOptions{})
	b, _ := invokeInfo(t, m, v1, InvokeOptions{})
	requireEqual(t, "v1 version", b.Version, "1")
	requireEqual(t, "v1 arn", b.ARN, v1.ARN)
	a2, r1 := invokeInfo(t, m, latest, InvokeOptions{})
	b2, r2 := invokeInfo(t, m, v1, InvokeOptions{})
	if a2.PID != a.PID || b2.PID != b.PID || r1.Cold || r2.Cold {
		t.Fatalf("versions did not stay warm: $LATEST %d→%d, 1 %d→%d", a.PID, a2.PID, b.PID, b2.PID)
	}
	// Spec.Concurrency counts executions over all versions: with 1, an
	// idle environment of the other version makes room.
	latest.Concurrency, v1.Concurrency = 1, 1
	v1.Revision = "published-1b" // v1 needs a new environment; $LATEST's is idle
	invokeInfo(t, m, v1, InvokeOptions{})
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error { return gone(a.PID) })
	latest.Concurrency, v1.Concurrency = 2, 2
	latest.Timeout, v1.Timeout = time.Minute, time.Minute
	busyInvoke(t, m, logs, latest, "v-busy-0")
	busyInvoke(t, m, logs, v1, "v-busy-1")
	if _, err := m.Invoke(t.Context(), latest, []byte(`{"action":"ping"}`), InvokeOptions{}); !errors.Is(err, ErrThrottled) {
		t.Errorf("third execution of a function with concurrency 2: err = %v, want ErrThrottled", err)
	}
}

func TestInvoke_ConcurrentCallers(t *testing.T) {
	m, _ := newTestManager(t, func(o *Options) { o.MaxEnvironments = 4 })
	s := langs[0].spec(t, "concurrent")
	s.Concurrency = 3
	other := langs[0].spec(t, "concurrent-other")
	type tally struct{ ok, throttled int }
	results := make(chan tally, 8)
	for g := range 8 {
		go func() {
			var n tally
			fn := s
			if g%4 == 3 {
				fn = other
			}
			for range 25 {
				res, err := m.Invoke(context.Background(), fn, []byte(`{"action":"ping"}`), InvokeOptions{})
				switch {
				case errors.Is(err, ErrThrottled):
					n.throttled++
				case err != nil:
					t.Errorf("Invoke: %v", err)
				case string(res.Payload) != `"pong"`:
					t.Errorf("payload %s", res.Payload)
				default:
					n.ok++
				}
			}
			results <- n
		}()
	}
	var total tally
	for range 8 {
		n := <-results
		total.ok += n.ok
		total.throttled += n.throttled
	}
	t.Logf("%d ok, %d throttled", total.ok, total.throttled)
	if total.ok == 0 {
		t.Fatal("no invocation succeeded")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := m.perFn[s.Name]; n > 3 {
		t.Errorf("%d environments for a function with concurrency 3", n)
	}
	if n := len(m.envs); n > 4 {
		t.Errorf("%d environments over MaxEnvironments 4", n)
	}
}

func TestEvictAndRevision(t *testing.T) {
	m, _ := newTestManager(t, nil)
	s := langs[0].spec(t, "evict")
	a, _ := invokeInfo(t, m, s, InvokeOptions{})
	b, _ := invokeInfo(t, m, s, InvokeOptions{})
	requireEqual(t, "warm pid", b.PID, a.PID)
	m.Evict(s.Name)
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error { return gone(a.PID) })
	c, res := invokeInfo(t, m, s, InvokeOptions{})
	if c.PID == a.PID || !res.Cold {
		t.Fatalf("after Evict: pid %d (was %d), cold=%v", c.PID, a.PID, res.Cold)
	}
	s.Revision = "r2"
	d, res := invokeInfo(t, m, s, InvokeOptions{})
	if d.PID == c.PID || !res.Cold {
		t.Fatalf("after a new revision: pid %d (was %d), cold=%v", d.PID, c.PID, res.Cold)
	}
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error { return gone(c.PID) })
}

func TestEvictKillsTheProcessGroup(t *testing.T) {
	m, _ := newTestManager(t, nil)
	s := langs[0].spec(t, "group")
	res, err := m.Invoke(t.Context(), s, []byte(`{"action":"spawn"}`), InvokeOptions{})
	if err != nil || res.FunctionError != "" {
		t.Fatalf("spawn: %v %s", err, res.Payload)
	}
	var got struct{ PID, Child int }
	if err := json.Unmarshal(res.Payload, &got); err != nil || got.Child == 0 {
		t.Fatalf("payload %s: %v", res.Payload, err)
	}
	if err := gone(got.Child); err == nil {
		t.Fatal("child not running before Evict")
	}
	m.Evict(s.Name)
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error { return gone(got.Child) })
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error { return gone(got.PID) })
}

func TestIdleTimeoutAndShutdown(t *testing.T) {
	m, _ := newTestManager(t, func(o *Options) { o.IdleTimeout = 100 * time.Millisecond })
	in, _ := invokeInfo(t, m, langs[0].spec(t, "idle"), InvokeOptions{})
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error { return gone(in.PID) })

	m2 := NewManager(Options{WorkDir: t.TempDir()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m2.Run(ctx) }()
	var pids []int
	for _, l := range langs {
		in, _ := invokeInfo(t, m2, l.spec(t, "shutdown-"+l.name), InvokeOptions{})
		pids = append(pids, in.PID)
	}
	busy := make(chan error, 1)
	go func() {
		_, err := m2.Invoke(context.Background(), langs[0].spec(t, "shutdown-go"), []byte(`{"action":"sleep","sleepMs":20000}`), InvokeOptions{})
		busy <- err
	}()
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		m2.mu.Lock()
		defer m2.mu.Unlock()
		for e := range m2.envs {
			if e.busy {
				return nil
			}
		}
		return errors.New("no busy environment yet")
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-busy; !errors.Is(err, ErrStopped) {
		t.Errorf("invoke in flight at shutdown: %v, want ErrStopped", err)
	}
	for _, pid := range pids {
		if err := gone(pid); err != nil {
			t.Error(err)
		}
	}
	if _, err := m2.Invoke(t.Context(), langs[0].spec(t, "late"), []byte(`{}`), InvokeOptions{}); !errors.Is(err, ErrStopped) {
		t.Errorf("Invoke after Run ended: %v, want ErrStopped", err)
	}
}

// gone reports an error while pid is alive. A zombie counts as gone: a
// killed grandchild waits for PID 1 to reap it.
func gone(pid int) error {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return nil
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	if i := strings.LastIndexByte(string(stat), ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
		return nil
	}
	return fmt.Errorf("process %d still running", pid)
}
