package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Tail follows a log from a position on through an ordered JetStream
// consumer: the server pushes records as they are appended (no request per
// batch, no generated header per record: position, arrival time and
// pending count come from the reply subject), and the client reads ahead
// while its owner works. Readers that go through a log in order (the event
// source mapping pollers) use it instead of Read.
//
// C is signalled (coalesced, like Watcher.C) when records were buffered or
// the tail failed; Next then returns them without waiting. While more
// records are on their way (a backlog), C is signalled once per chunk of
// records (up to 1000) rather than per record.
type Tail struct {
	C <-chan struct{}

	c      chan struct{}
	space  chan struct{}
	it     jetstream.MessagesContext
	limit  int
	chunk  int // with more records on their way, C is signalled every chunk records
	stop   context.CancelFunc
	done   chan struct{}
	closed sync.Once

	mu sync.Mutex
	// buf, err, pending are guarded by mu.
	buf []tailRec
	err error
	// pending: records the log held after the last buffered one.
	pending uint64
	quiet   int // records buffered since C was last signalled
}

type tailRec struct {
	Record
	pending uint64
}

// Tail opens a Tail of the log starting at seq (or the first retained record
// after it), buffering at most readAhead records. The caller must Close it.
func (s *Store) Tail(ctx context.Context, id string, seq uint64, readAhead int) (*Tail, error) {
	name, _, _ := logNames(id)
	if seq == 0 {
		seq = 1
	}
	readAhead = max(readAhead, 1)
	cons, err := s.js.OrderedConsumer(ctx, name, jetstream.OrderedConsumerConfig{
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       seq,
		InactiveThreshold: time.Minute,
	})
	if err != nil {
		return nil, s.logErr(id, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(min(readAhead, 1000)))
	if err != nil {
		return nil, s.logErr(id, err)
	}
	c := make(chan struct{}, 1)
	t := &Tail{C: c, c: c, space: make(chan struct{}, 1), it: it, limit: readAhead,
		chunk: max(min(readAhead/2, 1000), 1), done: make(chan struct{})}
	pctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	t.stop = stop
	go t.pump(pctx, id)
	return t, nil
}

func (t *Tail) pump(ctx context.Context, id string) {
	defer close(t.done)
	for {
		// Wait for room before taking the next message.
		for {
			t.mu.Lock()
			full := len(t.buf) >= t.limit
			t.mu.Unlock()
			if !full {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-t.space:
			}
		}
		m, err := t.it.Next()
		if err == nil {
			var r tailRec
			r, err = tailRecOf(m)
			if err == nil {
				t.mu.Lock()
				t.buf = append(t.buf, r)
				t.pending = r.pending
				// A backlog wakes the reader per chunk, not per record:
				// fewer, larger hand-offs while records stream in.
				t.quiet++
				wake := r.pending == 0 || t.quiet >= t.chunk || len(t.buf) >= t.limit
				if wake {
					t.quiet = 0
				}
				t.mu.Unlock()
				if wake {
					notify(t.c)
				}
				continue
			}
		}
		if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			return
		}
		t.mu.Lock()
		t.err = fmt.Errorf("tailing log %s: %w", id, err)
		t.mu.Unlock()
		notify(t.c)
		return
	}
}

func tailRecOf(m jetstream.Msg) (tailRec, error) {
	md, err := m.Metadata()
	if err != nil {
		return tailRec{}, err
	}
	pk, data, err := decodeBody(m.Data())
	if err != nil {
		return tailRec{}, err
	}
	pending := md.NumPending
	if h := m.Headers(); pending == 0 && h != nil && h["Nats-Batch-Id"] != nil && h["Nats-Batch-Commit"] == nil {
		// Inside an atomic batch the server may deliver a record before
		// the rest of its batch is stored: the rest is on its way. (A
		// Direct Get, after the append's signal, saw the batch whole.)
		pending = 1
	}
	return tailRec{Record: Record{Seq: md.Sequence.Stream, Time: md.Timestamp, PartitionKey: pk, Data: data},
		pending: pending}, nil
}

func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Next returns the buffered records, at most max of them and, past the first,
// at most maxBytes of data, without waiting (none: wait on C). Pending is
// how many records the log held after the last returned one when it was
// delivered; with no records, after the last one buffered (more than 0: more
// records are on their way). After an error the Tail is done: Close it and
// open another.
func (t *Tail) Next(max, maxBytes int) (ReadResult, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.buf) == 0 {
		return ReadResult{Pending: t.pending}, t.err
	}
	n, bytes := 0, 0
	for n < len(t.buf) && n < max {
		bytes += len(t.buf[n].Data)
		if n > 0 && maxBytes > 0 && bytes > maxBytes {
			break
		}
		n++
	}
	res := ReadResult{Records: make([]Record, n), Pending: t.buf[n-1].pending}
	for i := range n {
		res.Records[i] = t.buf[i].Record
	}
	clear(t.buf[:n])
	t.buf = t.buf[n:]
	notify(t.space)
	if len(t.buf) > 0 {
		notify(t.c)
	}
	return res, nil
}

// Close stops the tail and deletes its consumer. It is safe to call more
// than once.
func (t *Tail) Close() {
	t.closed.Do(func() {
		t.stop()
		t.it.Stop()
		<-t.done
	})
}
