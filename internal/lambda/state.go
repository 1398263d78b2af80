package lambda

import (
	"context"
	"errors"
	"time"
)

var errStale = errors.New("lambda: function changed again")

// runActivator moves functions from Pending to Active and updates from
// InProgress to Successful once their code is unpacked on this node. At
// start it picks up work a stopped process left behind.
func (s *Service) runActivator(ctx context.Context) error {
	started := time.Now()
	recs, err := s.all(ctx)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("lambda: scanning functions for pending work", "err", err)
	}
	referenced := map[string]bool{}
	for _, r := range recs {
		referenced[r.Code.Hex] = true
		if r.Live != nil {
			referenced[r.Live.Code.Hex] = true
		}
		if r.State == statePending || r.LastUpdateStatus == updInProgress {
			s.finish(ctx, r.Name)
		}
	}
	if err == nil {
		// Packages of deleted or updated functions, from earlier runs.
		if n, err := s.code.gc(referenced, started); err != nil {
			s.log.Warn("lambda: cleaning the code cache", "err", err)
		} else if n > 0 {
			s.log.Info("lambda: cleaned the code cache", "removed", n)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case name := <-s.activate:
			s.finish(ctx, name)
		}
	}
}

// finish completes the pending state transition of one function.
func (s *Service) finish(ctx context.Context, name string) {
	defer s.wake(name)
	r, _, err := s.load(ctx, name)
	if err != nil {
		if !errors.Is(err, ErrFunctionNotFound) {
			s.log.Warn("lambda: loading function for activation", "function", name, "err", err)
		}
		return
	}
	if r.State != statePending && r.LastUpdateStatus != updInProgress {
		return
	}
	if _, err := s.code.path(ctx, r.Code, nil); err != nil {
		s.log.Error("lambda: unpacking function code", "function", name, "err", err)
		_, _ = s.mutate(ctx, name, func(x *record) error {
			if x.RevisionID != r.RevisionID {
				return errStale
			}
			x.State, x.StateReason, x.StateReasonCode = "Failed", "Unpacking the deployment package failed: "+err.Error(), "InvalidZipFileException"
			x.LastUpdateStatus, x.LastUpdateStatusReason, x.LastUpdateStatusReasonCode = "Failed", x.StateReason, x.StateReasonCode
			return nil
		})
		return
	}
	// Environments of the previous revision would be replaced on their next
	// use anyway; stop them now, before the switch, so an invocation that
	// starts after the switch is never evicted.
	if r.Live != nil {
		s.rt.Evict(name)
	}
	var oldObject string
	_, err = s.mutate(ctx, name, func(x *record) error {
		if x.RevisionID != r.RevisionID {
			return errStale
		}
		if x.Live != nil && x.Live.Code.Object != x.Code.Object {
			oldObject = x.Live.Code.Object
		}
		x.Live = x.snapshot()
		x.State, x.StateReason, x.StateReasonCode = stateActive, "", ""
		x.LastUpdateStatus, x.LastUpdateStatusReason, x.LastUpdateStatusReasonCode = updSuccessful, "", ""
		return nil
	})
	switch {
	case errors.Is(err, errStale), errors.Is(err, ErrFunctionNotFound):
		return
	case err != nil:
		s.log.Error("lambda: activating function", "function", name, "err", err)
		// Try again shortly rather than leave it Pending.
		time.AfterFunc(time.Second, func() {
			select {
			case s.activate <- name:
			default:
			}
		})
		return
	}
	if oldObject != "" {
		if err := s.code.delete(ctx, oldObject); err != nil {
			s.log.Warn("lambda: deleting replaced code", "function", name, "err", err)
		}
	}
}

// queueActivation asks the activator to finish a function's transition.
func (s *Service) queueActivation(name string) {
	select {
	case s.activate <- name:
	default:
		// The queue is full; waitActive re-queues on demand and Run
		// rescans at start.
		s.log.Warn("lambda: activation queue full", "function", name)
	}
}
