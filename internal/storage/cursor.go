package storage

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Read cursors. A batch Direct Get makes the server generate six headers
// per record (net/http.Header.Write, a third of its CPU when serving
// GetRecords) and the client parse them; a pull consumer delivers the same
// records with their position, arrival time and pending count in the reply
// subject. Sequential readers (GetRecords loops: each call starts where the
// previous one ended) are therefore served by cached consumers:
//
//   - A cursor is an ephemeral pull consumer (AckNone, memory storage, R1)
//     of one log, idle in the cache under the key (log, next sequence).
//   - A Read at a sequence where a cursor waits checks it out exclusively,
//     sends no-wait pull requests for up to max records (and the byte
//     budget), and puts it back under its new next sequence. Two readers at
//     the same position never share one: the second misses.
//   - A miss opens a cursor when max >= minCursorBatch, or when max >=
//     minSequentialBatch and a Direct Get read recently ended right there
//     (the reader is going through the log in order: see below); else it
//     is answered with a batch Direct Get, as is every Read when the cache
//     is full of cursors in use or recently used.
//   - Bounds: at most Options.ReadCursors cursors (idle and in use); the
//     least recently used idle one is evicted (its consumer deleted) for a
//     new one once it has been idle for a tenth of the idle time. Idle
//     cursors expire after Options.ReadCursorIdle; the consumers carry an
//     InactiveThreshold so the server removes them after a crash of ours.
//     DeleteLog drops the log's cursors, Close deletes them all.
//
// Batch visibility. A single-node server applies a committed atomic batch,
// and with durability "always" fsyncs it, under the stream's isolation
// lock, which Direct Gets take too: a Direct Get sees a batch whole and
// after its fsync, or not at all. Consumer deliveries do not take that lock
// (nats-server stream.go, isolateMu): a consumer may deliver the first
// records of a batch while the rest and the fsync are still to come, and
// the commit may yet fail. So before a cursor Read returns records it sends
// a Direct Get for a sequence that cannot exist (the barrier, one small
// round trip per Read), whose answer comes only after every commit that
// had begun when the records were delivered has finished. A Read therefore
// returns a record only once a Direct Get could have returned it too. (If a
// commit fails part way, say because the store was closed, what it wrote
// stays stored for the server to recover on restart, and both paths return
// it although the producer was told the append failed.) On replicated
// streams records reach the store only after the Raft group committed
// their batch: a consumer may deliver part of a batch whose rest is still
// being applied, but the batch can no longer fail, and the barrier is
// merely redundant.
//
// Fresh appends. The server counts a consumer's pending records from
// signals it sends after acknowledging an append, so right after an Append
// a no-wait pull may answer "no messages" although the records are
// stored. A cursor Read that gets nothing at all therefore asks a Direct
// Get, and if that finds records they are the answer (the cursor is then
// behind the caller and is dropped).

// Defaults for Options.ReadCursors and Options.ReadCursorIdle.
const (
	DefaultReadCursors    = 256
	DefaultReadCursorIdle = 30 * time.Second
)

// The heuristic for a miss. Opening a consumer (and deleting it later)
// costs about as much as reading a few dozen records by Direct Get; a
// cursor then saves about half the CPU per record, but a cursor Read takes
// two round trips (the pull and the barrier) against the Direct Get's one,
// which only pays for itself from some tens of records a Read.
//
// A Read asking for at least minCursorBatch records opens a cursor at once:
// GetRecords defaults to Limit 10000 and so does the KCL, so bulk readers
// get cursors from their first call. A smaller Read (at least
// minSequentialBatch records) opens one when it starts where a recent
// Direct Get read ended: the second call of a reader going through the log
// in order with a smaller Limit. One-off reads (the CLI with --limit 10, a
// test, a random access) stay single Direct Gets and leave no consumer
// behind. The trail of recent Direct Get ends is bounded (trailSize keys,
// the oldest forgotten first) and costs no server state.
const (
	minCursorBatch     = 1000
	minSequentialBatch = 100
	trailSize          = 1024
)

// cursorSlack is added to the server-side InactiveThreshold beyond the
// idle time, so the server never removes a cursor we still keep.
const cursorSlack = 30 * time.Second

// cursorMaxRounds bounds the pull requests of one Read (see fetch).
const cursorMaxRounds = 8

type cursorKey struct {
	stream string
	seq    uint64
}

// cursor is one pull consumer serving sequential Reads of one log.
type cursor struct {
	stream   string
	name     string // consumer name
	nextSubj string // where pull requests go
	// dseq is the consumer's last delivery sequence seen. AckNone
	// deliveries are numbered 1, 2, 3...: a gap means a delivery went
	// astray and the cursor's position is unknown. Only the reader that
	// checked the cursor out touches it.
	dseq uint64

	// Guarded by cursorCache.mu:
	key       cursorKey
	idleSince time.Time
	elem      *list.Element // in lru while idle, nil while checked out
	dropped   bool          // its log was deleted while checked out
}

// cursorCache holds the cursors of one Store. Its janitor goroutine expires
// idle cursors and deletes the consumers of cursors that are gone; close
// stops it.
type cursorCache struct {
	js        jetstream.JetStream
	log       *slog.Logger
	max       int
	idleTTL   time.Duration
	evictIdle time.Duration // an idle cursor may be evicted after this long
	deleteAll bool          // Close deletes the idle consumers (external server)

	mu sync.Mutex
	// The fields below are guarded by mu.
	now    func() time.Time
	idle   map[cursorKey][]*cursor
	lru    list.List                       // idle cursors, most recently used first
	live   map[string]map[*cursor]struct{} // every cursor (idle or in use) by stream
	total  int                             // cursors idle or in use
	doomed []*cursor                       // consumers the janitor must delete
	closed bool
	// trail holds where recent Direct Get reads ended; ring orders its keys
	// for forgetting the oldest (see minSequentialBatch).
	trail    map[cursorKey]struct{}
	ring     []cursorKey
	ringNext int

	wake chan struct{}
	stop context.CancelFunc
	done chan struct{}
}

func newCursorCache(js jetstream.JetStream, log *slog.Logger, max int, idle time.Duration, deleteAll bool) *cursorCache {
	if idle <= 0 {
		idle = DefaultReadCursorIdle
	}
	c := &cursorCache{
		js: js, log: log, max: max, idleTTL: idle, evictIdle: idle / 10, deleteAll: deleteAll,
		now:  time.Now,
		idle: map[cursorKey][]*cursor{}, live: map[string]map[*cursor]struct{}{},
		trail: map[cursorKey]struct{}{}, ring: make([]cursorKey, 0, trailSize),
		wake: make(chan struct{}, 1), done: make(chan struct{}),
	}
	ctx, stop := context.WithCancel(context.Background())
	c.stop = stop
	go c.janitor(ctx)
	return c
}

// checkout takes an idle cursor waiting at (stream, seq), or returns nil.
func (c *cursorCache) checkout(stream string, seq uint64) *cursor {
	key := cursorKey{stream, seq}
	c.mu.Lock()
	defer c.mu.Unlock()
	list := c.idle[key]
	if len(list) == 0 {
		return nil
	}
	cur := list[len(list)-1]
	list[len(list)-1] = nil
	if len(list) == 1 {
		delete(c.idle, key)
	} else {
		c.idle[key] = list[:len(list)-1]
	}
	c.lru.Remove(cur.elem)
	cur.elem = nil
	return cur
}

// open creates a cursor at seq, checked out to the caller. It returns nil
// without an error when there is no room: every cursor is in use or was
// used too recently to evict. A missing log is ErrLogNotFound.
func (c *cursorCache) open(ctx context.Context, id, stream string, seq uint64) (*cursor, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, nil
	}
	if c.total >= c.max {
		back := c.lru.Back()
		if back == nil || c.now().Sub(back.Value.(*cursor).idleSince) < c.evictIdle {
			c.mu.Unlock()
			return nil, nil
		}
		c.removeIdleLocked(back.Value.(*cursor), true)
	}
	c.total++ // reserve the slot while creating
	c.mu.Unlock()

	name := "psr_" + nuid.Next()
	_, err := c.js.CreateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Name:              name,
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       seq,
		AckPolicy:         jetstream.AckNonePolicy,
		MaxWaiting:        4,
		InactiveThreshold: c.idleTTL + cursorSlack,
		MemoryStorage:     true,
		Replicas:          1,
		Metadata:          map[string]string{"penstock-read-cursor": id},
	})
	if err != nil {
		c.mu.Lock()
		c.total--
		c.mu.Unlock()
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("%w: %s", ErrLogNotFound, id)
		}
		return nil, fmt.Errorf("opening read cursor on log %s: %w", id, err)
	}
	cur := &cursor{stream: stream, name: name, nextSubj: "$JS.API.CONSUMER.MSG.NEXT." + stream + "." + name}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		c.total--
		c.doomed = append(c.doomed, cur) // too late for Close; the server's threshold removes it
		return nil, nil
	}
	set := c.live[stream]
	if set == nil {
		set = map[*cursor]struct{}{}
		c.live[stream] = set
	}
	set[cur] = struct{}{}
	return cur, nil
}

// put returns a checked-out cursor to the cache, waiting at next.
func (c *cursorCache) put(cur *cursor, next uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || cur.dropped {
		c.forgetLocked(cur)
		return
	}
	cur.key = cursorKey{cur.stream, next}
	cur.idleSince = c.now()
	c.idle[cur.key] = append(c.idle[cur.key], cur)
	cur.elem = c.lru.PushFront(cur)
}

// discard drops a checked-out cursor that can no longer be trusted (its
// position is unknown or its consumer failed) and deletes its consumer.
func (c *cursorCache) discard(cur *cursor) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgetLocked(cur)
	if !cur.dropped && !c.closed {
		c.doomed = append(c.doomed, cur)
		notify(c.wake)
	}
}

// forgetLocked removes a checked-out cursor from the books. Lock must be held.
func (c *cursorCache) forgetLocked(cur *cursor) {
	if set := c.live[cur.stream]; set != nil {
		if _, ok := set[cur]; ok {
			delete(set, cur)
			if len(set) == 0 {
				delete(c.live, cur.stream)
			}
			c.total--
		}
	}
}

// removeIdleLocked takes an idle cursor out of the cache; with del its
// consumer is deleted by the janitor. Lock must be held.
func (c *cursorCache) removeIdleLocked(cur *cursor, del bool) {
	list := c.idle[cur.key]
	for i, x := range list {
		if x == cur {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(c.idle, cur.key)
	} else {
		c.idle[cur.key] = list
	}
	c.lru.Remove(cur.elem)
	cur.elem = nil
	c.forgetLocked(cur)
	if del {
		c.doomed = append(c.doomed, cur)
		notify(c.wake)
	}
}

// dropLog forgets the cursors of a deleted log. Deleting the stream deleted
// their consumers; cursors in use are not put back.
func (c *cursorCache) dropLog(stream string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Cursors in use stay in live (and in the count) until they come back.
	for cur := range c.live[stream] {
		if cur.elem != nil {
			c.removeIdleLocked(cur, false)
		} else {
			cur.dropped = true
		}
	}
}

// expire moves the cursors idle for longer than the idle time to doomed.
func (c *cursorCache) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for e := c.lru.Back(); e != nil; e = c.lru.Back() {
		cur := e.Value.(*cursor)
		if now.Sub(cur.idleSince) < c.idleTTL {
			break
		}
		c.removeIdleLocked(cur, true)
	}
}

func (c *cursorCache) takeDoomed() []*cursor {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.doomed
	c.doomed = nil
	return d
}

// janitor expires idle cursors and deletes the consumers of cursors that
// left the cache, until ctx ends.
func (c *cursorCache) janitor(ctx context.Context) {
	defer close(c.done)
	tick := time.NewTicker(min(max(c.idleTTL/4, time.Millisecond), 5*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			c.expire()
		case <-c.wake:
		}
		c.deleteConsumers(ctx, c.takeDoomed())
	}
}

func (c *cursorCache) deleteConsumers(ctx context.Context, doomed []*cursor) {
	for _, cur := range doomed {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := c.js.DeleteConsumer(dctx, cur.stream, cur.name)
		cancel()
		if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
			if ctx.Err() != nil {
				return
			}
			c.log.Debug("deleting read cursor", "stream", cur.stream, "consumer", cur.name, "err", err)
		}
	}
}

// close stops the janitor and forgets every cursor. Against an external
// server the idle cursors' consumers are deleted (within a few seconds in
// all); an embedded server drops its memory consumers when it shuts down.
// Cursors in use are not put back; their consumers expire on the server.
func (c *cursorCache) close() {
	c.stop()
	<-c.done
	c.mu.Lock()
	c.closed = true
	doomed := c.doomed
	c.doomed = nil
	for e := c.lru.Front(); e != nil; e = e.Next() {
		doomed = append(doomed, e.Value.(*cursor))
	}
	c.lru.Init()
	clear(c.idle)
	clear(c.live)
	c.total = 0
	c.mu.Unlock()
	if c.deleteAll && len(doomed) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.deleteConsumers(ctx, doomed)
	}
}

// stats reports the cursors idle and in total.
func (c *cursorCache) stats() (idle, total int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.total
}

// remember notes that a Direct Get read of stream ended before next.
func (c *cursorCache) remember(stream string, next uint64) {
	key := cursorKey{stream, next}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.trail[key]; ok {
		return
	}
	if len(c.ring) < cap(c.ring) {
		c.ring = append(c.ring, key)
	} else {
		delete(c.trail, c.ring[c.ringNext])
		c.ring[c.ringNext] = key
		c.ringNext = (c.ringNext + 1) % len(c.ring)
	}
	c.trail[key] = struct{}{}
}

// sequential reports whether a recent Direct Get read ended at (stream,
// seq), and forgets it.
func (c *cursorCache) sequential(stream string, seq uint64) bool {
	key := cursorKey{stream, seq}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.trail[key]
	delete(c.trail, key) // its ring slot is reused in turn
	return ok
}

// readCursor serves a Read through a cursor. ok=false: no cursor served it
// (a small miss, no room, or a cursor failed before delivering anything);
// the caller answers with a Direct Get.
func (s *Store) readCursor(ctx context.Context, id, stream string, seq uint64, max, maxBytes int) (res ReadResult, ok bool, err error) {
	cur := s.cursors.checkout(stream, seq)
	if cur == nil {
		if max < minCursorBatch && (max < minSequentialBatch || !s.cursors.sequential(stream, seq)) {
			return ReadResult{}, false, nil
		}
		if cur, err = s.cursors.open(ctx, id, stream, seq); err != nil {
			if errors.Is(err, ErrLogNotFound) {
				return ReadResult{}, true, err
			}
			s.log.Debug("read cursor not opened, using Direct Get", "log", id, "err", err)
			return ReadResult{}, false, nil
		}
		if cur == nil {
			return ReadResult{}, false, nil
		}
	}
	res, empty, err := s.fetch(ctx, id, cur, max, maxBytes)
	switch {
	case err != nil:
		s.cursors.discard(cur)
		if errors.Is(err, errCursorGone) {
			return ReadResult{}, false, nil
		}
		return ReadResult{}, true, err
	case empty:
		// The consumer saw nothing; make sure nothing is there (see
		// "Fresh appends").
		res, err := s.readDirect(ctx, id, stream, seq, max, maxBytes)
		if err != nil || len(res.Records) > 0 {
			s.cursors.discard(cur)
		} else {
			s.cursors.put(cur, seq)
		}
		return res, true, err
	}
	next := seq
	if n := len(res.Records); n > 0 {
		next = res.Records[n-1].Seq + 1
	}
	s.cursors.put(cur, next)
	return res, true, nil
}

// errCursorGone: the cursor's consumer no longer answers (deleted with its
// log, removed by the server, or a cluster change); nothing was delivered.
var errCursorGone = errors.New("storage: read cursor gone")

// fetch reads up to max records through the cursor. empty: the consumer had
// nothing at all to deliver. After an error the cursor's position is
// unknown.
//
// Byte budget: the server counts subject, reply subject, headers and body
// against a pull request's max_bytes and stops before a record that does
// not fit, so a request for the bytes left keeps the data within maxBytes.
// When it stopped on bytes, the next request asks for the rest, until max
// records, the budget, or the end of the log is reached (a few rounds). A
// first record larger than the budget is fetched on its own.
func (s *Store) fetch(ctx context.Context, id string, cur *cursor, max, maxBytes int) (res ReadResult, empty bool, err error) {
	data := 0
	for round := 0; round < cursorMaxRounds && len(res.Records) < max; round++ {
		n, budget := max-len(res.Records), 0
		if maxBytes > 0 {
			if budget = maxBytes - data; budget <= 0 {
				break
			}
		}
		msgs, status, err := s.pull(ctx, id, cur, n, budget)
		if err != nil {
			return ReadResult{}, false, err
		}
		if res.Records == nil {
			res.Records = make([]Record, 0, len(msgs))
		}
		for _, m := range msgs {
			r, dseq, pending, err := deliveredRecord(m)
			if err != nil {
				return ReadResult{}, false, fmt.Errorf("reading log %s: %w", id, err)
			}
			if dseq != cur.dseq+1 {
				s.log.Warn("read cursor lost track of its deliveries", "log", id, "consumer", cur.name, "delivery", dseq, "want", cur.dseq+1)
				return ReadResult{}, false, errCursorGone
			}
			cur.dseq = dseq
			res.Records = append(res.Records, r)
			res.Pending = pending
			data += len(r.Data)
		}
		switch status.Get("Status") {
		case "": // served in full: n records, or exactly the budget's bytes
			continue
		case "404": // No Messages: the end of the log
			if len(res.Records) == 0 {
				return res, true, nil
			}
			res.Pending = 0
		case "409":
			switch desc := status.Get("Description"); {
			case strings.HasPrefix(desc, "Message Size Exceeds MaxBytes"):
				if len(msgs) > 0 {
					continue
				}
				if len(res.Records) == 0 {
					// The first record alone exceeds the budget: it is
					// returned anyway, on its own.
					maxBytes, max = 0, 1
					continue
				}
			case strings.HasPrefix(desc, "Batch Completed"):
			default:
				return ReadResult{}, false, errCursorGone
			}
		default: // 503 no responders: the consumer is gone; or a cluster event
			return ReadResult{}, false, errCursorGone
		}
		break
	}
	if len(res.Records) > 0 {
		if err := s.barrier(ctx, id, cur.stream); err != nil {
			return ReadResult{}, false, err
		}
	}
	return res, false, nil
}

// pull sends one no-wait pull request and collects its deliveries.
func (s *Store) pull(ctx context.Context, id string, cur *cursor, n, maxBytes int) ([]*nats.Msg, nats.Header, error) {
	req := make([]byte, 0, 64)
	req = append(req, `{"batch":`...)
	req = strconv.AppendInt(req, int64(n), 10)
	if maxBytes > 0 {
		req = append(req, `,"max_bytes":`...)
		req = strconv.AppendInt(req, int64(maxBytes), 10)
	}
	req = append(req, `,"no_wait":true}`...)
	c, err := s.collect(ctx, id, cur.nextSubj, req, n, n, maxBytes, cur.name)
	if err != nil {
		return nil, nil, err
	}
	return c.msgs, c.status, nil
}

// barrier returns once every atomic batch commit that had begun on the log
// when it was called has finished: a Direct Get waits for the stream's
// isolation lock. It asks for a sequence that cannot exist.
func (s *Store) barrier(ctx context.Context, id, stream string) error {
	c, err := s.collect(ctx, id, "$JS.API.DIRECT.GET."+stream, []byte(`{"seq":18446744073709551615}`), 1, 0, 0, "")
	if err != nil {
		return err
	}
	switch c.status.Get("Status") {
	case "404":
		return nil
	case "503":
		return s.logErr(id, jetstream.ErrStreamNotFound)
	default:
		return fmt.Errorf("reading log %s: barrier: status %s %s", id, c.status.Get("Status"), c.status.Get("Description"))
	}
}

// deliveredRecord decodes a consumer delivery; dseq is its delivery
// sequence, pending how many records followed it in the log when it was
// delivered.
func deliveredRecord(m *nats.Msg) (r Record, dseq, pending uint64, err error) {
	seq, dseq, ts, pending, ok := ackMeta(m.Reply)
	if !ok {
		return Record{}, 0, 0, fmt.Errorf("bad delivery reply subject %q", m.Reply)
	}
	pk, data, err := decodeBody(m.Data)
	if err != nil {
		return Record{}, 0, 0, err
	}
	return Record{Seq: seq, Time: time.Unix(0, ts).UTC(), PartitionKey: pk, Data: data}, dseq, pending, nil
}

// ackMeta reads the stream sequence, delivery (consumer) sequence,
// timestamp and pending count from a consumer delivery's reply subject,
// either
// $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending> or,
// from newer servers,
// $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>[.<token>].
func ackMeta(reply string) (seq, dseq uint64, ts int64, pending uint64, ok bool) {
	rest, ok := strings.CutPrefix(reply, "$JS.ACK.")
	if !ok {
		return 0, 0, 0, 0, false
	}
	var tok [10]string
	n := 0
	for more := true; more && n < len(tok); n++ {
		tok[n], rest, more = strings.Cut(rest, ".")
	}
	var f []string // delivered, sseq, cseq, ts, pending
	switch {
	case n == 7:
		f = tok[2:7]
	case n >= 9:
		f = tok[4:9]
	default:
		return 0, 0, 0, 0, false
	}
	var err1, err2, err3, err4 error
	seq, err1 = strconv.ParseUint(f[1], 10, 64)
	dseq, err2 = strconv.ParseUint(f[2], 10, 64)
	ts, err3 = strconv.ParseInt(f[3], 10, 64)
	pending, err4 = strconv.ParseUint(f[4], 10, 64)
	return seq, dseq, ts, pending, err1 == nil && err2 == nil && err3 == nil && err4 == nil
}
