package esm

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/penstock/penstock/internal/storage"
)

// poller owns one shard of one mapping: it reads ahead, splits records into
// lanes by partition key, and folds the lanes' progress into one checkpoint.
//
// Lock order: poller.mu only; lanes share it.
type poller struct {
	e     *Engine
	m     Mapping
	shard Shard
	es    eventSource
	pol   policy
	met   *Metrics
	log   *slog.Logger
	// fromStart: a parent of this shard was read by this mapping, so the
	// shard is read from its first record whatever the starting position.
	fromStart bool
	// filters drop records before batching (filter.go); nil = none.
	filters filterSet
	// openWindows counts lanes with an open tumbling window (window.go); a
	// closed shard is finished only once they all closed. Guarded by mu.
	openWindows int

	mu     sync.Mutex
	lanes  []*lane // fixed after start
	cursor uint64  // next position to read; guarded by mu
	queued int     // records read and not done, all lanes; guarded by mu
	closed bool    // the shard was closed by a reshard; guarded by mu
	// filling: the reader has more records to read right away and room to
	// read them, so a lane not yet full waits for them (a backlog is sent
	// in full batches, as AWS's GetRecords returns up to 10,000 records at
	// once). Guarded by mu.
	filling bool
	endSeq  uint64 // last position of a closed shard; guarded by mu
	room    chan struct{}
	ckptC   chan struct{}
	// invokeCtx is what invocations run under: it outlives the poller's
	// context by up to drainGrace (run), so that stopping does not kill
	// an invocation in flight and then deliver its batch again.
	invokeCtx context.Context
	kick      chan struct{} // wakes the reader (shard closed)
}

// markClosed tells a running poller its shard was closed at endSeq.
func (p *poller) markClosed(endSeq uint64) {
	p.mu.Lock()
	p.closed, p.endSeq = true, endSeq
	p.mu.Unlock()
	signal(p.kick)
}

type lane struct {
	q    []*rec // head = oldest not done; the batch in flight is a prefix; guarded by poller.mu
	wake chan struct{}
	// win is the open tumbling window (window.go); set and cleared under
	// poller.mu, its other fields are the lane goroutine's own.
	win *window
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// readAhead bounds the records a poller holds beyond those in flight.
func (p *poller) readAhead() int {
	return max(2*p.m.BatchSize*p.m.ParallelizationFactor, 1000)
}

// drainGrace is how long an invocation in flight may still run once the
// poller stops (the mapping is disabled or deleted, the server stops, the
// lease moves): its result still counts and is checkpointed, so a graceful
// stop does not deliver a batch the function already processed again. A
// longer invocation is cancelled (its environment killed), and its batch
// is delivered again by whoever polls the shard next.
const drainGrace = 10 * time.Second

// run processes the shard until ctx ends (finished=false) or, for a closed
// shard, until every record is done and checkpointed (finished=true).
func (p *poller) run(ctx context.Context) (finished bool, err error) {
	p.mu.Lock()
	p.closed, p.endSeq = p.shard.Closed, p.shard.EndSeq
	p.mu.Unlock()
	began := p.e.clock.Now() // before the first checkpoint is visible
	filters, err := compileFilters(p.m.FilterCriteria)
	if err != nil {
		return false, fmt.Errorf("mapping %s filters: %w", p.m.UUID, err)
	}
	p.filters = filters
	start, finished, err := p.start(ctx)
	if err != nil || finished {
		return finished, err
	}
	p.cursor = start
	p.ckptC = make(chan struct{}, 1)
	p.lanes = make([]*lane, p.m.ParallelizationFactor)
	for i := range p.lanes {
		p.lanes[i] = &lane{wake: make(chan struct{}, 1)}
	}
	lctx, cancel := context.WithCancel(ctx)
	ictx, icancel := context.WithCancel(context.WithoutCancel(ctx))
	defer icancel()
	stopGrace := context.AfterFunc(lctx, func() {
		select {
		case <-p.e.clock.After(drainGrace):
			icancel()
		case <-ictx.Done():
		}
	})
	p.invokeCtx = ictx
	// The checkpointer outlives the lanes: its last write covers the
	// batches they finished while draining.
	ckctx, ckcancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	for _, l := range p.lanes {
		wg.Go(func() { p.runLane(lctx, l, began) })
	}
	ckDone := make(chan struct{})
	go func() { defer close(ckDone); p.runCheckpointer(ckctx, start) }()
	finished, err = p.read(lctx)
	cancel()
	wg.Wait()
	icancel() // ends the grace wait
	stopGrace()
	ckcancel()
	<-ckDone
	if finished {
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer ccancel()
		p.mu.Lock()
		end := p.endSeq
		p.mu.Unlock()
		if err := p.e.ckpts.put(cctx, p.m.UUID, p.shard.ID, checkpoint{Next: end + 1, Finished: true}); err != nil {
			return false, err
		}
	}
	return finished, err
}

// start resolves where to begin: the checkpoint, else the starting position.
// The resolved position is written at once, so LATEST and AT_TIMESTAMP mean
// the same thing after a restart.
func (p *poller) start(ctx context.Context) (uint64, bool, error) {
	c, ok, err := p.e.ckpts.get(ctx, p.m.UUID, p.shard.ID)
	if err != nil {
		return 0, false, err
	}
	if ok {
		return c.Next, c.Finished, nil
	}
	info, err := p.e.o.Store.Info(ctx, p.shard.LogID)
	if err != nil {
		return 0, false, fmt.Errorf("shard %s: %w", p.shard.ID, err)
	}
	pos := info.FirstSeq
	child := p.shard.ParentShardID != "" || p.shard.AdjacentParentShardID != ""
	switch {
	case child && p.fromStart:
		// Children of shards this mapping read are read from their start.
	case p.m.StartingPosition == posLatest:
		pos = info.LastSeq + 1
	case p.m.StartingPosition == posAtTimestamp && p.m.StartingPositionTimestamp != nil:
		t := time.UnixMilli(int64(*p.m.StartingPositionTimestamp * 1000))
		if pos, err = p.e.o.Store.SeqAtTime(ctx, p.shard.LogID, t); err != nil {
			return 0, false, fmt.Errorf("shard %s: %w", p.shard.ID, err)
		}
	}
	if pos == 0 {
		pos = 1
	}
	if err := p.e.ckpts.put(ctx, p.m.UUID, p.shard.ID, checkpoint{Next: pos}); err != nil {
		return 0, false, err
	}
	return pos, false, nil
}

// read fills the lanes until ctx ends or a closed shard is fully done.
func (p *poller) read(ctx context.Context) (bool, error) {
	w := p.e.o.Store.Watch(p.shard.LogID)
	defer w.Close()
	safety := time.NewTimer(time.Second)
	defer safety.Stop()
	var tail *storage.Tail
	defer func() {
		if tail != nil {
			tail.Close()
		}
	}()
	failures := 0
	for ctx.Err() == nil {
		p.mu.Lock()
		room := p.readAhead() - p.queued
		cursor := p.cursor
		empty := p.queued == 0 && p.openWindows == 0
		windows := p.openWindows > 0
		closed, endSeq := p.closed, p.endSeq
		p.mu.Unlock()
		if closed && cursor > endSeq {
			if empty {
				return true, nil
			}
			if windows {
				for _, l := range p.lanes {
					signal(l.wake) // the shard ended: so do its windows
				}
			}
			p.waitRoom(ctx)
			continue
		}
		if room <= 0 {
			p.setFilling(false)
			p.waitRoom(ctx)
			continue
		}
		n := room
		if closed {
			n = int(min(uint64(n), 1000, endSeq-cursor+1)) // one Direct Get batch; larger requests read slower (BenchmarkDrain)
		}
		res, err := p.fetch(ctx, &tail, cursor, n, closed)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			failures++
			p.log.Warn("reading shard", "err", err)
			if errors.Is(err, storage.ErrLogNotFound) {
				p.met.setResult("PROBLEM: Stream not found")
			}
			select {
			case <-ctx.Done():
			case <-time.After(min(time.Duration(failures)*100*time.Millisecond, 2*time.Second)):
			}
			continue
		}
		failures = 0
		recs := res.Records
		if closed {
			for len(recs) > 0 && recs[len(recs)-1].Seq > endSeq {
				recs = recs[:len(recs)-1]
			}
		}
		if len(recs) == 0 {
			if res.Pending == 0 || closed { // else more are on their way from the tail
				p.setFilling(false)
			}
			if closed {
				p.mu.Lock()
				p.cursor = endSeq + 1
				p.mu.Unlock()
				signal(p.ckptC)
				continue
			}
			var pushed <-chan struct{}
			if tail != nil {
				pushed = tail.C
			}
			safety.Reset(time.Second)
			select {
			case <-ctx.Done():
			case <-pushed:
			case <-w.C:
			case <-p.kick:
			case <-safety.C:
				p.setFilling(false)
			}
			continue
		}
		p.distribute(recs, res.Pending > 0)
	}
	return false, nil
}

// fetch reads up to n records at cursor. While the shard is open they come
// from a storage.Tail opened at cursor (an ordered consumer: records are
// pushed as they are appended and read ahead while the lanes invoke, with
// no request and no generated header per record). A closed shard is read
// with batch Direct Gets: an empty Direct Get means the shard has no more
// records, an empty tail only that none arrived yet. The tail's buffered
// records are not lost when it is closed: reading resumes at cursor.
func (p *poller) fetch(ctx context.Context, tail **storage.Tail, cursor uint64, n int, closed bool) (storage.ReadResult, error) {
	if closed {
		if *tail != nil {
			(*tail).Close()
			*tail = nil
		}
		return p.e.o.Store.Read(ctx, p.shard.LogID, cursor, n, 16<<20)
	}
	if *tail == nil {
		t, err := p.e.o.Store.Tail(ctx, p.shard.LogID, cursor, p.readAhead())
		if err != nil {
			return storage.ReadResult{}, err
		}
		*tail = t
	}
	res, err := (*tail).Next(n, 16<<20)
	if err != nil {
		(*tail).Close()
		*tail = nil
	}
	return res, err
}

func (p *poller) waitRoom(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-p.room:
	case <-p.kick:
	}
}

// distribute encodes records and appends them to their lanes.
func (p *poller) distribute(recs []storage.Record, more bool) {
	out := make([]*rec, 0, len(recs))
	var keys []string // partition keys of out when filters dropped records
	if p.filters != nil {
		keys = make([]string, 0, len(recs))
	}
	for _, r := range recs {
		sn := p.e.o.Streams.SequenceNumber(p.shard.ID, r.Seq)
		if !p.filters.match(p.es, sn, r.PartitionKey, r.Data, r.Time) {
			continue // filtered out: never delivered, checkpointed with the cursor
		}
		out = append(out, &rec{Seq: r.Seq, SeqNum: sn, Arrival: r.Time,
			JSON: p.es.encodeRecord(sn, r.PartitionKey, r.Data, r.Time)})
		if keys != nil {
			keys = append(keys, r.PartitionKey)
		}
	}
	filtered := len(recs) - len(out)
	n := len(p.lanes)
	p.mu.Lock()
	woken := make([]bool, n)
	for i, r := range out {
		li := 0
		if n > 1 {
			pk := recs[i].PartitionKey
			if keys != nil {
				pk = keys[i]
			}
			h := fnv.New32a()
			h.Write([]byte(pk))
			li = int(h.Sum32() % uint32(n))
		}
		p.lanes[li].q = append(p.lanes[li].q, r)
		woken[li] = true
	}
	p.queued += len(out)
	stopped := p.filling && !more
	p.filling = more
	p.cursor = recs[len(recs)-1].Seq + 1
	p.mu.Unlock()
	p.met.PolledEventCount.Add(int64(len(recs)))
	if filtered > 0 {
		p.met.FilteredOutEventCount.Add(int64(filtered))
		signal(p.ckptC)
	}
	for i, w := range woken {
		if w || stopped {
			signal(p.lanes[i].wake)
		}
	}
}

// setFilling records whether the reader is about to deliver more records;
// lanes held back by it are woken when it stops.
func (p *poller) setFilling(v bool) {
	p.mu.Lock()
	was := p.filling
	p.filling = v
	p.mu.Unlock()
	if was && !v {
		for _, l := range p.lanes {
			signal(l.wake)
		}
	}
}

// position is the checkpoint: the lowest position not done over all lanes.
// Lock must be held.
func (p *poller) position() uint64 {
	pos := p.cursor
	for _, l := range p.lanes {
		if len(l.q) > 0 && l.q[0].Seq < pos {
			pos = l.q[0].Seq
		}
		if l.win != nil && l.win.hold < pos {
			pos = l.win.hold
		}
	}
	return pos
}

// markDone drops n done records from the head of the lane.
func (p *poller) markDone(l *lane, n int) {
	if n <= 0 {
		return
	}
	p.mu.Lock()
	clear(l.q[:n])
	l.q = l.q[n:]
	p.queued -= n
	p.mu.Unlock()
	signal(p.room)
	signal(p.ckptC)
}

// runCheckpointer writes the checkpoint whenever it moves, coalescing.
func (p *poller) runCheckpointer(ctx context.Context, last uint64) {
	write := func(ctx context.Context) {
		p.mu.Lock()
		pos := p.position()
		p.mu.Unlock()
		if pos <= last {
			return
		}
		if err := p.e.ckpts.put(ctx, p.m.UUID, p.shard.ID, checkpoint{Next: pos}); err != nil {
			p.log.Warn("writing checkpoint", "err", err)
			return
		}
		last = pos
	}
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			write(fctx)
			cancel()
			return
		case <-p.ckptC:
			write(ctx)
		}
	}
}
