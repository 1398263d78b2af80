package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Manager runs functions in pools of execution environments, one pool per
// function name and version (qualifier); Spec.Concurrency counts over all
// versions of a function.
// function name. Create it with NewManager and call Run, which owns every
// process: when Run's context ends all environments are stopped.
type Manager struct {
	o           Options
	log         *slog.Logger
	workDir     string
	maxEnv      int
	idleTimeout time.Duration
	spin        *spinPolicy

	shimOnce sync.Once
	shimDir  string
	shimErr  error

	interpMu sync.Mutex
	interp   map[kind]string // resolved node / python3 binaries

	mu      sync.Mutex
	pools   map[poolKey]*pool
	perFn   map[string]int    // live environments per function name
	envs    map[*env]struct{} // every live environment, any pool
	stopped bool

	stopping sync.WaitGroup // env.stop calls running in the background
}

type poolKey struct{ name, version string }

// pool is one function version's environments, all of one revision.
type pool struct {
	key            poolKey
	name, revision string
	envs           map[*env]struct{}
	idle           []*env // most recently used last
	retired        bool   // evicted or replaced: envs stop when released
}

// NewManager returns a Manager; nothing starts until the first Invoke.
func NewManager(o Options) *Manager {
	m := &Manager{
		o:           o,
		log:         o.Logger,
		workDir:     o.WorkDir,
		maxEnv:      o.MaxEnvironments,
		idleTimeout: o.IdleTimeout,
		pools:       map[poolKey]*pool{},
		perFn:       map[string]int{},
		envs:        map[*env]struct{}{},
	}
	if m.log == nil {
		m.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if m.workDir == "" {
		m.workDir = filepath.Join(os.TempDir(), "penstock-runtime")
	}
	if m.maxEnv <= 0 {
		m.maxEnv = 64
	}
	if m.idleTimeout <= 0 {
		m.idleTimeout = 5 * time.Minute
	}
	spin := o.SpinWait
	if spin == 0 {
		spin = DefaultSpinWait
	}
	m.spin = newSpinPolicy(spin)
	return m
}

// runtimeDir writes the embedded shims once and returns their directory.
func (m *Manager) runtimeDir() (string, error) {
	m.shimOnce.Do(func() {
		// Scratch dirs left by a previous process that died.
		_ = os.RemoveAll(filepath.Join(m.workDir, "env"))
		m.shimDir, m.shimErr = writeShims(m.workDir)
	})
	return m.shimDir, m.shimErr
}

// interpreter returns the resolved binary for a managed runtime, looked up
// once per Manager.
func (m *Manager) interpreter(k kind) (string, error) {
	if k == kindProvided {
		return "", nil
	}
	m.interpMu.Lock()
	defer m.interpMu.Unlock()
	if p, ok := m.interp[k]; ok {
		return p, nil
	}
	p, err := resolveInterpreter(context.Background(), k)
	if err != nil {
		return "", err
	}
	if m.interp == nil {
		m.interp = map[kind]string{}
	}
	m.interp[k] = p
	m.log.Debug("resolved interpreter", "name", k.interpreter(), "path", p)
	return p, nil
}

// Run stops idle environments after IdleTimeout and, when ctx ends, stops
// every environment and waits for their processes to exit.
func (m *Manager) Run(ctx context.Context) error {
	every := m.idleTimeout / 4
	if every < 50*time.Millisecond {
		every = 50 * time.Millisecond
	}
	if every > 30*time.Second {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			m.shutdown()
			return nil
		case now := <-t.C:
			m.reap(now)
		}
	}
}

func (m *Manager) shutdown() {
	m.mu.Lock()
	m.stopped = true
	all := make([]*env, 0, len(m.envs))
	for e := range m.envs {
		all = append(all, e)
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range all {
		wg.Add(1)
		go func() { defer wg.Done(); e.stop() }()
	}
	wg.Wait()
	m.stopping.Wait()
}

// reap stops environments idle longer than IdleTimeout and idle ones whose
// process has exited.
func (m *Manager) reap(now time.Time) {
	m.mu.Lock()
	var old []*env
	for e := range m.envs {
		if e.busy {
			continue
		}
		if now.Sub(e.lastUsed) >= m.idleTimeout || isClosed(e.dead) {
			old = append(old, e)
		}
	}
	for _, e := range old {
		m.removeLocked(e)
	}
	m.mu.Unlock()
	for _, e := range old {
		m.log.Debug("stopping idle environment", "function", e.spec.Name, "pid", e.pid)
		m.stopLater(e)
	}
}

// Evict stops the function's environments: idle ones now, busy ones when
// their invocation ends. Call it after the function is updated or deleted.
func (m *Manager) Evict(functionName string) {
	m.mu.Lock()
	var idle []*env
	for _, p := range m.pools {
		if p.name == functionName {
			idle = append(idle, m.retireLocked(p)...)
		}
	}
	m.mu.Unlock()
	for _, e := range idle {
		m.stopLater(e)
	}
}

// retireLocked detaches p and returns its idle environments, removed from
// the books, for the caller to stop. m.mu must be held.
func (m *Manager) retireLocked(p *pool) []*env {
	p.retired = true
	if m.pools[p.key] == p {
		delete(m.pools, p.key)
	}
	idle := append([]*env(nil), p.idle...)
	for _, e := range idle {
		m.removeLocked(e)
	}
	return idle
}

// removeLocked forgets e. m.mu must be held.
func (m *Manager) removeLocked(e *env) {
	if _, ok := m.envs[e]; !ok {
		return
	}
	delete(m.envs, e)
	delete(e.pool.envs, e)
	if m.perFn[e.pool.name]--; m.perFn[e.pool.name] <= 0 {
		delete(m.perFn, e.pool.name)
	}
	for i, x := range e.pool.idle {
		if x == e {
			e.pool.idle = append(e.pool.idle[:i], e.pool.idle[i+1:]...)
			break
		}
	}
}

// stopLater stops e in the background; Run's shutdown waits for it.
func (m *Manager) stopLater(e *env) {
	m.mu.Lock()
	stopped := m.stopped
	if !stopped {
		m.stopping.Add(1)
	}
	m.mu.Unlock()
	if stopped {
		e.stop() // shutdown is stopping everything; do it here, now
		return
	}
	go func() {
		defer m.stopping.Done()
		e.stop()
	}()
}

// acquire returns an environment for fn, exclusively, warm if one is idle.
// cold is true for a new environment (already started).
func (m *Manager) acquire(fn *Spec, k kind) (e *env, cold bool, err error) {
	rdir, err := m.runtimeDir()
	if err != nil {
		return nil, false, err
	}
	interp, err := m.interpreter(k)
	if err != nil {
		return nil, false, err
	}
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return nil, false, ErrStopped
	}
	key := poolKey{fn.Name, version(fn)}
	p := m.pools[key]
	var retired []*env
	if p != nil && p.revision != fn.Revision {
		retired = m.retireLocked(p)
		p = nil
	}
	if p == nil {
		p = &pool{key: key, name: fn.Name, revision: fn.Revision, envs: map[*env]struct{}{}}
		m.pools[key] = p
	}
	for len(p.idle) > 0 {
		e = p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if isClosed(e.dead) {
			m.removeLocked(e)
			retired = append(retired, e)
			continue
		}
		e.busy = true
		m.mu.Unlock()
		m.stopAll(retired)
		return e, false, nil
	}
	limit := m.maxEnv
	if fn.Concurrency > 0 && fn.Concurrency < limit {
		limit = fn.Concurrency
	}
	if m.perFn[fn.Name] >= limit {
		// Concurrency counts executions: an idle environment of another
		// version of the function makes room.
		victim := m.lruIdleLocked(func(e *env) bool { return e.pool.name == fn.Name })
		if victim == nil {
			m.mu.Unlock()
			m.stopAll(retired)
			return nil, false, ErrThrottled
		}
		m.removeLocked(victim)
		retired = append(retired, victim)
	}
	if len(m.envs) >= m.maxEnv {
		victim := m.lruIdleLocked(nil)
		if victim == nil {
			m.mu.Unlock()
			m.stopAll(retired)
			return nil, false, ErrThrottled
		}
		m.removeLocked(victim)
		retired = append(retired, victim)
	}
	e = newEnv(m, p, fn, k)
	e.busy = true
	p.envs[e] = struct{}{}
	m.envs[e] = struct{}{}
	m.perFn[fn.Name]++
	m.mu.Unlock()
	m.stopAll(retired)

	if err := e.start(rdir, interp); err != nil {
		m.mu.Lock()
		m.removeLocked(e)
		m.mu.Unlock()
		var se *startError
		if errors.As(err, &se) {
			return nil, false, err
		}
		return nil, false, fmt.Errorf("starting environment for %s: %w", fn.Name, err)
	}
	return e, true, nil
}

func (m *Manager) stopAll(es []*env) {
	for _, e := range es {
		m.stopLater(e)
	}
}

// lruIdleLocked returns the least recently used idle environment that
// matches (nil = any). m.mu must be held.
func (m *Manager) lruIdleLocked(match func(*env) bool) *env {
	var v *env
	for e := range m.envs {
		if !e.busy && (match == nil || match(e)) && (v == nil || e.lastUsed.Before(v.lastUsed)) {
			v = e
		}
	}
	return v
}

// release returns e to its pool, or stops it when it is not reusable.
func (m *Manager) release(e *env, reusable bool) {
	m.mu.Lock()
	e.busy = false
	e.lastUsed = time.Now()
	if reusable && !e.pool.retired && !m.stopped && !isClosed(e.dead) {
		e.pool.idle = append(e.pool.idle, e)
		m.mu.Unlock()
		return
	}
	m.removeLocked(e)
	m.mu.Unlock()
	m.stopLater(e)
}

// discard stops e now-ish and forgets it (timeout, crash, init error).
func (m *Manager) discard(e *env) {
	e.kill()
	m.mu.Lock()
	m.removeLocked(e)
	m.mu.Unlock()
	m.stopLater(e)
}

// exitedIdle forgets an idle environment whose process exited on its own
// (a busy one is handled by its invoker).
func (m *Manager) exitedIdle(e *env) {
	m.mu.Lock()
	_, live := m.envs[e]
	idle := live && !e.busy && !m.stopped // shutdown stops it otherwise
	if idle {
		m.removeLocked(e)
		m.stopping.Add(1)
	}
	m.mu.Unlock()
	if idle {
		// Not inline: e.stop waits for the goroutine calling us.
		go func() {
			defer m.stopping.Done()
			e.stop()
		}()
	}
}

func (m *Manager) isStopped() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stopped
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
