package esm

import (
	"context"
	"errors"
	"sync"
	"time"
)

// mappingRun runs one enabled mapping: a poller per shard, children only
// after their parents finished, new shards picked up from WatchShards.
type mappingRun struct {
	e      *Engine
	m      Mapping
	key    string
	met    *Metrics
	cancel context.CancelFunc
	done   chan struct{}
}

func (r *mappingRun) stop() {
	r.cancel()
	<-r.done
}

type shardExit struct {
	id       string
	finished bool
	err      error
}

func (r *mappingRun) run(ctx context.Context) {
	log := r.e.log.With("mapping", r.m.UUID)
	changed, stopWatch := r.e.o.Streams.WatchShards(r.m.EventSourceArn)
	defer stopWatch()
	var wg sync.WaitGroup
	defer wg.Wait()
	running := map[string]*poller{}
	finished := map[string]bool{}
	exits := make(chan shardExit)
	role := ""
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		if role == "" {
			if fi, err := r.e.o.Functions.Function(ctx, r.m.FunctionArn); err == nil {
				role = fi.Role
			} else if ctx.Err() == nil {
				log.Warn("looking up function", "err", err)
			}
		}
		st, err := r.e.o.Streams.Shards(ctx, r.m.EventSourceArn)
		if err != nil && ctx.Err() == nil {
			if errors.Is(err, ErrStreamNotFound) {
				r.met.setResult("PROBLEM: Stream not found")
			}
			log.Warn("listing shards", "err", err)
			retry.Reset(time.Second)
		}
		present := map[string]bool{}
		for _, s := range st.Shards {
			present[s.ID] = true
		}
		for _, s := range st.Shards {
			if p := running[s.ID]; p != nil {
				if s.Closed {
					p.markClosed(s.EndSeq)
				}
				continue
			}
			if finished[s.ID] {
				continue
			}
			ready, fromStart := true, false
			for _, parent := range []string{s.ParentShardID, s.AdjacentParentShardID} {
				if parent == "" || !present[parent] {
					continue
				}
				if !finished[parent] {
					ready = false
				}
				fromStart = true
			}
			if !ready {
				continue
			}
			p := &poller{e: r.e, m: r.m, shard: s, met: r.met, pol: r.m.policy(r.e.o.RetryBackoff, r.e.o.MaxRetryBackoff),
				es:  newEventSource(s.ID, r.e.o.Region, r.m.EventSourceArn, role),
				log: log.With("shard", s.ID), fromStart: fromStart,
				room: make(chan struct{}, 1), kick: make(chan struct{}, 1)}
			running[s.ID] = p
			wg.Go(func() {
				fin, err := r.e.withLease(ctx, checkpointKey(r.m.UUID, s.ID), p.run)
				select {
				case exits <- shardExit{s.ID, fin, err}:
				case <-ctx.Done():
				}
			})
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-retry.C:
		case x := <-exits:
			delete(running, x.id)
			if x.finished {
				finished[x.id] = true
			} else if x.err != nil {
				log.Warn("shard poller stopped", "shard", x.id, "err", x.err)
				retry.Reset(time.Second)
			}
		}
	}
}
