package server

import (
	"context"
	"errors"
	"testing"
)

type runnerFunc func(context.Context) error

func (f runnerFunc) Run(ctx context.Context) error { return f(ctx) }

// A graceful stop stops the function runtime last: the mapping engine's
// pollers and the HTTP front's Invoke requests still use its environments
// while they stop (an invocation killed under a draining poller was
// delivered again after a restart).
func TestRunStopsTheRuntimeLast(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s, err := New(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.lastRunners) != 1 || s.lastRunners[0] != Runner(s.runtime) {
		t.Fatalf("lastRunners = %v, want just the function runtime", s.lastRunners)
	}
	for _, r := range s.runners {
		if r == Runner(s.runtime) {
			t.Fatal("the function runtime is also among the runners stopped first")
		}
	}
	lastCtx := make(chan context.Context, 1)
	lastStopped := make(chan struct{})
	s.lastRunners = append(s.lastRunners, runnerFunc(func(ctx context.Context) error {
		lastCtx <- ctx
		<-ctx.Done()
		close(lastStopped)
		return nil
	}))
	s.runners = append(s.runners, runnerFunc(func(ctx context.Context) error {
		lctx := <-lastCtx
		<-ctx.Done()
		// Still stopping, like a poller waiting for an invocation: the
		// last runners must not have been told to stop yet.
		if lctx.Err() != nil {
			return errors.New("the last runners were stopped while a runner was still stopping")
		}
		return nil
	}))
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	select {
	case <-lastStopped:
	default:
		t.Fatal("the last runners were never stopped")
	}
}
