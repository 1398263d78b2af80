package storage

import (
	"context"
	"sync"
)

// Group commit. Concurrent Appends to one log are combined into one atomic
// batch (up to maxAtomicBatch entries), so N producers writing to the same
// shard cost one staged batch and one fsync per round instead of N. There
// is no background goroutine: the first caller to find the log idle leads
// one round (its own request plus whatever queued behind it while the
// previous round committed), then hands the lead to the oldest waiting
// request, which runs the next round. A leader therefore never works for
// others longer than one commit, and a lone caller commits at once.

// appender is the per-log queue of pending appends.
type appender struct {
	mu sync.Mutex
	// queue and busy are guarded by mu.
	queue []*appendReq
	busy  bool // a leader is running a round
}

type appendReq struct {
	entries []Entry
	wake    chan struct{} // one signal: committed, or promoted to leader
	// first, err and done are set by the leader of the round, under mu.
	first uint64
	err   error
	done  bool
}

func (s *Store) appenderFor(subj string) *appender {
	if a, ok := s.appenders.Load(subj); ok {
		return a.(*appender)
	}
	a, _ := s.appenders.LoadOrStore(subj, &appender{})
	return a.(*appender)
}

// groupAppend queues entries and returns once they are committed.
// The commit runs without the caller's cancellation (other callers' records
// share the batch); each publish has its own timeout.
func (s *Store) groupAppend(ctx context.Context, id, subj, notify string, entries []Entry) (uint64, error) {
	a := s.appenderFor(subj)
	r := &appendReq{entries: entries, wake: make(chan struct{}, 1)}
	a.mu.Lock()
	a.queue = append(a.queue, r)
	if a.busy {
		a.mu.Unlock()
		<-r.wake
		a.mu.Lock()
	} else {
		a.busy = true
	}
	if !r.done {
		// We lead: r is at the head of the queue.
		n, total := 0, 0
		for n < len(a.queue) && (n == 0 || total+len(a.queue[n].entries) <= maxAtomicBatch) {
			total += len(a.queue[n].entries)
			n++
		}
		round := append([]*appendReq(nil), a.queue[:n]...)
		a.queue = a.queue[n:]
		a.mu.Unlock()

		s.commitRound(context.WithoutCancel(ctx), id, subj, round)
		// Wake watchers. Core NATS, fire and forget.
		_ = s.nc.Publish(notify, nil)

		a.mu.Lock()
		for _, q := range round {
			q.done = true
			if q != r {
				q.wake <- struct{}{}
			}
		}
		if len(a.queue) > 0 {
			a.queue[0].wake <- struct{}{} // promote: busy stays true
		} else {
			a.busy = false
		}
	}
	first, err := r.first, r.err
	a.mu.Unlock()
	return first, err
}

// commitRound writes the round's entries and sets each request's result.
func (s *Store) commitRound(ctx context.Context, id, subj string, round []*appendReq) {
	if len(round) == 1 {
		r := round[0]
		r.first, r.err = s.appendChunks(ctx, id, subj, r.entries)
		return
	}
	var flat []Entry
	for _, r := range round {
		flat = append(flat, r.entries...)
	}
	first, err := s.appendBatch(ctx, id, subj, flat)
	for _, r := range round {
		r.first, r.err = first, err
		first += uint64(len(r.entries))
	}
}

// appendChunks writes entries in consecutive atomic batches of at most
// maxAtomicBatch. Rounds are serialized per log, so the chunks are contiguous.
func (s *Store) appendChunks(ctx context.Context, id, subj string, entries []Entry) (uint64, error) {
	var first uint64
	for start := 0; start < len(entries); start += maxAtomicBatch {
		end := min(start+maxAtomicBatch, len(entries))
		seq, err := s.appendBatch(ctx, id, subj, entries[start:end])
		if err != nil {
			return 0, err
		}
		if start == 0 {
			first = seq
		}
	}
	return first, nil
}
