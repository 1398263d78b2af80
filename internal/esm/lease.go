package esm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Shard leases: a node runs the poller of a (mapping, shard) only while it
// holds its lease, a key in ESM_leases (key <uuid>.<shardId>, value = node
// id) with a per-key TTL. It is taken with create-if-absent and renewed by a
// publish conditional on the key's last revision that carries a fresh TTL
// (KV Update cannot set a TTL). A node that stops renewing (crash,
// partition) loses the lease when the TTL passes; a graceful stop releases
// it at once. In embedded mode there is one node and the lease is always
// free.

const bucketLeases = "ESM_leases"

var errLeaseLost = errors.New("esm: shard lease lost")

type lease struct {
	e   *Engine
	key string
	rev uint64
}

// acquire takes the lease; ok=false when another node holds it. A lease
// left by this node's previous life (same NodeID, e.g. after kill -9) is
// taken back at once.
func (e *Engine) acquire(ctx context.Context, key string) (*lease, bool, error) {
	rev, err := e.leases.Create(ctx, key, []byte(e.node), jetstream.KeyTTL(e.o.LeaseTTL))
	if errors.Is(err, jetstream.ErrKeyExists) {
		cur, gerr := e.leases.Get(ctx, key)
		if gerr != nil || string(cur.Value()) != e.node {
			return nil, false, nil
		}
		l := &lease{e: e, key: key, rev: cur.Revision()}
		if err := l.renew(ctx); err != nil {
			return nil, false, nil
		}
		return l, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("taking lease %s: %w", key, err)
	}
	return &lease{e: e, key: key, rev: rev}, true, nil
}

// renew extends the lease by another TTL, if this node still holds it.
func (l *lease) renew(ctx context.Context) error {
	m := nats.NewMsg("$KV." + bucketLeases + "." + l.key)
	m.Data = []byte(l.e.node)
	ack, err := l.e.o.Store.JetStream().PublishMsg(ctx, m,
		jetstream.WithExpectLastSequencePerSubject(l.rev), jetstream.WithMsgTTL(l.e.o.LeaseTTL))
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return fmt.Errorf("%w: %s", errLeaseLost, l.key)
		}
		return fmt.Errorf("renewing lease %s: %w", l.key, err)
	}
	l.rev = ack.Sequence
	return nil
}

// release gives the lease up (only if still ours).
func (l *lease) release(ctx context.Context) {
	_ = l.e.leases.Delete(ctx, l.key, jetstream.LastRevision(l.rev))
}

// withLease runs f while holding the lease on key: it waits for the lease,
// renews it every TTL/3 and cancels f's context if it is lost.
func (e *Engine) withLease(ctx context.Context, key string, f func(context.Context) (bool, error)) (bool, error) {
	var l *lease
	for l == nil {
		got, ok, err := e.acquire(ctx, key)
		if err != nil && ctx.Err() == nil {
			e.log.Warn("taking shard lease", "key", key, "err", err)
		}
		if ok {
			l = got
			break
		}
		select {
		case <-ctx.Done():
			return false, nil
		case <-time.After(e.o.LeaseTTL / 3):
		}
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		l.release(rctx)
		cancel()
	}()
	fctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	renewDone := make(chan struct{})
	go func() {
		defer close(renewDone)
		t := time.NewTicker(e.o.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-fctx.Done():
				return
			case <-t.C:
				if err := l.renew(fctx); err != nil {
					if fctx.Err() != nil {
						return
					}
					if errors.Is(err, errLeaseLost) {
						cancel(err)
						return
					}
					e.log.Warn("renewing shard lease", "key", key, "err", err)
				}
			}
		}
	}()
	finished, err := f(fctx)
	cancel(nil)
	<-renewDone
	if cause := context.Cause(fctx); err == nil && errors.Is(cause, errLeaseLost) {
		err = cause
	}
	return finished, err
}
