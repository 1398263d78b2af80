package runtime

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// env is one execution environment: a child process (its own process
// group) and its own Runtime API endpoint on 127.0.0.1:<random port>.
//
// Lifecycle: start → (first GET /next = init done) → serve invocations one
// at a time → stop (idle, timeout, crash, init error, evict, shutdown).
// The env owns the Runtime API server (its accept loop and a goroutine per
// connection), the process waiter and the log pump; stop waits for them.
type env struct {
	m    *Manager
	pool *pool
	spec Spec
	kind kind
	id   string // short hex id for scratch dirs and log streams

	ln      net.Listener
	api     *apiServer
	cmd     *exec.Cmd
	pid     int
	logs    *logPump
	mem     *memReader
	tmpDir  string
	started atomic.Int64 // unix ns of the process start; read by the API server

	// invokes carries the next invocation to the runtime's GET /next.
	// Buffer 1: an invocation may be handed over before the runtime has
	// come back for it.
	invokes chan *invocation

	initDone     chan struct{} // closed at the first GET /next
	initOnce     sync.Once
	initDuration time.Duration // set before initDone is closed

	// dead is closed once, when the environment can no longer serve:
	// process exit, init error, or stop.
	dead     chan struct{}
	deadOnce sync.Once
	exited   chan struct{} // closed after cmd.Wait returned
	exitErr  error         // cmd.Wait's error, valid after exited
	initErr  *outcome      // init error posted by the runtime, valid after dead

	reporting sync.Mutex // held while an answered invocation's END/REPORT are written

	mu     sync.Mutex
	cur    *invocation // delivered, not yet answered
	lastID string      // last answered request id (403 on a second answer)

	life    sync.Mutex // serialises start and stop
	running bool       // start succeeded
	stopped bool

	// pool bookkeeping; guarded by Manager.mu.
	lastUsed time.Time
	busy     bool

	wg sync.WaitGroup
}

func newEnv(m *Manager, p *pool, fn *Spec, k kind) *env {
	return &env{
		m: m, pool: p, spec: *fn, kind: k, id: newID(),
		invokes:  make(chan *invocation, 1),
		initDone: make(chan struct{}),
		dead:     make(chan struct{}),
		exited:   make(chan struct{}),
	}
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// start launches the process and its Runtime API endpoint. On error
// nothing is left running.
func (e *env) start(runtimeDir, interpreter string) (err error) {
	e.life.Lock()
	defer e.life.Unlock()
	if e.stopped {
		return ErrStopped
	}
	e.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listening for the runtime API: %w", err)
	}
	e.api = newAPIServer(e.ln, e.serveAPI, e.m.spin)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.api.serve()
	}()
	defer func() {
		if err != nil {
			e.api.close()
			e.wg.Wait()
		}
	}()

	e.tmpDir = filepath.Join(e.m.workDir, "env", e.id)
	if err := os.MkdirAll(e.tmpDir, 0o755); err != nil {
		return fmt.Errorf("creating scratch dir: %w", err)
	}
	prog, args, err := command(e.kind, e.spec.CodeDir, runtimeDir, interpreter)
	if err != nil {
		os.RemoveAll(e.tmpDir)
		return err
	}
	info := envInfo{
		region:      e.m.o.Region,
		apiAddr:     e.ln.Addr().String(),
		logStream:   time.Now().UTC().Format("2006/01/02") + "/[" + version(&e.spec) + "]" + e.id,
		runtimeDir:  runtimeDir,
		tmpDir:      e.tmpDir,
		credentials: e.m.o.Credentials,
	}
	if e.kind != kindProvided {
		info.interpreterDir = filepath.Dir(prog)
		if w := e.spec.Env["AWS_LAMBDA_EXEC_WRAPPER"]; w != "" {
			// As AWS's managed-runtime bootstrap does: the wrapper gets the
			// runtime's command line; a missing wrapper is the shell's exit
			// status 127 (recorded: Runtime.ExitError ... exit status 127).
			args = append([]string{"-c", `exec "$AWS_LAMBDA_EXEC_WRAPPER" "$@"`, "sh", prog}, args...)
			prog = "/bin/sh"
		}
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		os.RemoveAll(e.tmpDir)
		return fmt.Errorf("creating log pipe: %w", err)
	}
	e.cmd = &exec.Cmd{
		Path:        prog,
		Args:        append([]string{prog}, args...),
		Env:         environ(&e.spec, e.kind, info),
		Dir:         e.spec.CodeDir,
		Stdout:      pw,
		Stderr:      pw,
		SysProcAttr: sysProcAttr(),
	}
	e.logs = newLogPump(e.spec.Name, e.m.o.Logs, pr)
	e.started.Store(time.Now().UnixNano())
	if err := e.cmd.Start(); err != nil {
		pw.Close()
		pr.Close()
		os.RemoveAll(e.tmpDir)
		return &startError{path: prog, err: err}
	}
	pw.Close()
	e.pid = e.cmd.Process.Pid
	e.mem = newMemReader(e.pid)
	e.wg.Add(2)
	go func() {
		defer e.wg.Done()
		e.logs.run()
	}()
	go func() {
		defer e.wg.Done()
		e.exitErr = e.cmd.Wait()
		close(e.exited)
		e.kill() // children left in the group go too
		e.markDead()
		e.m.exitedIdle(e)
	}()
	e.running = true
	return nil
}

// startError is a failure to exec the runtime's entry point. AWS answers
// it with Runtime.InvalidEntrypoint (user reports, 2021-2024:
// "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]",
// "fork/exec /var/task/bootstrap: permission denied").
type startError struct {
	path string
	err  error
}

func (s *startError) Error() string { return "starting runtime: " + s.err.Error() }
func (s *startError) Unwrap() error { return s.err }

// reason words the failure as AWS does.
func (s *startError) reason() string {
	if _, err := os.Stat(s.path); errors.Is(err, os.ErrNotExist) {
		return "Couldn't find valid bootstrap(s): [" + s.path + "]"
	}
	return s.err.Error() // "fork/exec <path>: permission denied", "...: exec format error"
}

func (e *env) markDead() { e.deadOnce.Do(func() { close(e.dead) }) }

func (e *env) kill() {
	if e.pid > 0 {
		killGroup(e.pid)
	}
}

// initTime is the init duration: start to the first GET /next, or start
// to now while init has not ended.
func (e *env) initTime() time.Duration {
	select {
	case <-e.initDone:
		return e.initDuration
	default:
		return time.Duration(time.Now().UnixNano() - e.started.Load())
	}
}

// markInitDone records the end of init (first GET /next).
func (e *env) markInitDone() {
	e.initOnce.Do(func() {
		e.initDuration = time.Duration(time.Now().UnixNano() - e.started.Load())
		close(e.initDone)
	})
}

// stop kills the process group and releases everything the env owns.
// Safe to call more than once and from any goroutine.
func (e *env) stop() {
	e.life.Lock()
	if e.stopped {
		e.life.Unlock()
		return
	}
	e.stopped = true
	running := e.running
	e.life.Unlock()
	e.markDead()
	if !running {
		return
	}
	e.kill()
	if e.cmd != nil && e.cmd.Process != nil {
		select {
		case <-e.exited:
		case <-time.After(5 * time.Second):
			e.m.log.Warn("runtime process did not exit after SIGKILL", "function", e.spec.Name, "pid", e.pid)
		}
	}
	e.api.close() // waits for its connection goroutines
	if e.logs != nil {
		// The pipe reaches EOF once every process holding it is gone; a
		// child that left the process group could hold it open.
		done := make(chan struct{})
		go func() { e.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Second):
			e.logs.r.Close()
			<-done
		}
		e.logs.r.Close()
	} else {
		e.wg.Wait()
	}
	if e.mem != nil {
		e.mem.close()
	}
	os.RemoveAll(e.tmpDir)
}
