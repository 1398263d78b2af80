package esm

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"time"
)

// This file is tumbling windows (spec/esm.md §2.2). With
// TumblingWindowInSeconds > 0 each lane (one per shard with
// ParallelizationFactor 1) groups its records into windows aligned on
// multiples of the window length since the epoch, by the records' arrival
// times. Every invoke carries the window, the state the function returned
// last in it, the shard and stream; a batch never spans two windows. When
// the window is over (the clock passed its end, or a record of a later
// window is next) the lane sends the window's remaining records, or none,
// with isFinalInvokeForWindow; after that invoke succeeds the state is
// dropped. Window state lives in memory only (see doc.go).

// maxWindowState is the state size past which a window ends early (1 MB per shard).
const maxWindowState = 1 << 20

// window is one lane's open tumbling window.
type window struct {
	start, end time.Time
	hold       uint64          // position of the window's first record: the checkpoint stays below it until the window closes
	state      json.RawMessage // what the function returned last; {} at first
	final      bool            // the batch in flight is the window's last
	early      bool            // the invoke in flight ends the window early (state too big)
}

// windowOf is the epoch-aligned window of length size holding t.
func windowOf(t time.Time, size time.Duration) (start, end time.Time) {
	s, u := int64(size/time.Second), t.Unix()
	start = time.Unix(u-((u%s)+s)%s, 0).UTC()
	return start, start.Add(size)
}

// runWindowLane is runLane for a mapping with a tumbling window.
func (p *poller) runWindowLane(ctx context.Context, l *lane, began time.Time) {
	size := time.Duration(p.m.TumblingWindowInSeconds) * time.Second
	batching := time.Duration(p.m.MaximumBatchingWindowInSeconds) * time.Second
	free := began
	for ctx.Err() == nil {
		now := p.e.clock.Now()
		p.mu.Lock()
		n, full := p.batchLen(l)
		filling := p.filling
		shardDone := p.closed && p.cursor > p.endSeq
		if l.win == nil && n > 0 {
			start, end := windowOf(l.q[0].Arrival, size)
			l.win = &window{start: start, end: end, hold: l.q[0].Seq, state: json.RawMessage(`{}`)}
			p.openWindows++
		}
		w := l.win
		k := n // head records of the open window in the next batch
		later := false
		if w != nil {
			for i := range n {
				if !l.q[i].Arrival.Before(w.end) {
					k, full, later = i, true, true
					break
				}
			}
			if !later && len(l.q) > n && !l.q[n].Arrival.Before(w.end) {
				later = true // the batch holds the window's last records
			}
		}
		rest := len(l.q) - k // records left after this batch
		p.mu.Unlock()
		if w == nil {
			select {
			case <-ctx.Done():
			case <-l.wake:
			}
			continue
		}
		if len(w.state) > maxWindowState {
			// The state outgrew its limit: end the window early with an
			// invoke of its own, then go on in the same window afresh.
			w.final, w.early = true, true
			if p.invokeAlone(ctx, l) {
				w.state, w.final, w.early = json.RawMessage(`{}`), false, false
			}
			continue
		}
		over := !now.Before(w.end) || later || (shardDone && rest == 0)
		if over && !later && !full && filling {
			// The reader has more records right away: they may be this window's.
			p.waitWindow(ctx, l, time.Second)
			continue
		}
		if over {
			if rest > 0 && !later {
				// More of the window's records follow this batch.
				p.runWindowBatch(ctx, l, k)
				free = p.e.clock.Now()
				continue
			}
			w.final = true
			var ok bool
			if k == 0 {
				ok = p.invokeAlone(ctx, l)
			} else {
				ok = p.runWindowBatch(ctx, l, k)
			}
			if ok {
				p.closeWindow(l)
			}
			free = p.e.clock.Now()
			continue
		}
		if k == 0 || (!full && filling) {
			p.waitWindow(ctx, l, w.end.Sub(now))
			continue
		}
		if batching > 0 && !full {
			if wait := free.Add(batching).Sub(now); wait > 0 {
				p.waitWindow(ctx, l, min(wait, w.end.Sub(now)))
				continue
			}
		}
		p.runWindowBatch(ctx, l, k)
		free = p.e.clock.Now()
	}
}

// waitWindow waits for records, or d (the window's end or batching window).
func (p *poller) waitWindow(ctx context.Context, l *lane, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-l.wake:
	case <-p.e.clock.After(d):
	}
}

// runWindowBatch sends the lane's first k records through their fate;
// ok when they are all done (ctx did not end first).
func (p *poller) runWindowBatch(ctx context.Context, l *lane, k int) bool {
	p.mu.Lock()
	batch := append([]*rec(nil), l.q[:k]...)
	p.mu.Unlock()
	p.runBatch(ctx, l, batch)
	return ctx.Err() == nil
}

// closeWindow drops the lane's window after its final invoke.
func (p *poller) closeWindow(l *lane) {
	p.mu.Lock()
	l.win = nil
	p.openWindows--
	p.mu.Unlock()
	signal(p.room)  // a reader waiting for a closed shard's end looks again
	signal(p.ckptC) // the checkpoint may pass the window's records now
}

// invokeAlone sends an invoke without records (the final invoke of a window
// whose records were all sent, or an early end), retrying until the function
// succeeds: AWS suspends the shard until a final invoke succeeds. There are
// no records to give up, so MaximumRetryAttempts does not apply. ok=false
// when ctx ended first.
func (p *poller) invokeAlone(ctx context.Context, l *lane) bool {
	failures, throttles := 0, 0
	for ctx.Err() == nil {
		o, _, ok := p.invoke(ctx, l, nil)
		if !ok {
			return false
		}
		var d time.Duration
		switch o.Kind {
		case outOK, outPartial:
			return true
		case outThrottled:
			throttles++
			d = p.pol.throttleBackoff(throttles)
		default:
			failures++
			d = p.pol.backoff(failures)
		}
		select {
		case <-ctx.Done():
		case <-p.e.clock.After(d):
		}
	}
	return false
}

// buildPayload is the event for recs: with an open window, the
// KinesisTimeWindowEvent (Records plus the window fields).
func (p *poller) buildPayload(l *lane, recs []*rec) []byte {
	ev := buildEvent(recs)
	w := l.win
	if w == nil {
		return ev
	}
	b := append(ev[:len(ev)-1:len(ev)-1], `,"window":{"start":"`...)
	b = w.start.UTC().AppendFormat(b, time.RFC3339)
	b = append(b, `","end":"`...)
	b = w.end.UTC().AppendFormat(b, time.RFC3339)
	b = append(b, `"},"state":`...)
	b = append(b, w.state...)
	b = append(b, `,"shardId":`...)
	b = appendJSONString(b, p.shard.ID)
	b = append(b, `,"eventSourceARN":`...)
	b = appendJSONString(b, p.es.StreamARN)
	b = append(b, `,"isFinalInvokeForWindow":`...)
	b = strconv.AppendBool(b, w.final)
	b = append(b, `,"isWindowTerminatedEarly":`...)
	b = strconv.AppendBool(b, w.early)
	return append(b, '}')
}

// windowResponse classifies a windowed invoke's response and keeps the
// state it returns. A response without a state object is a failed
// invocation (AWS); otherwise batchItemFailures follow the usual rules.
func (p *poller) windowResponse(l *lane, body []byte, recs []*rec) outcome {
	var r struct {
		State json.RawMessage `json:"state"`
	}
	body = bytes.TrimSpace(body)
	if err := json.Unmarshal(body, &r); err != nil || len(r.State) == 0 || r.State[0] != '{' {
		return outcome{Kind: outInvalid}
	}
	o := classifyResponse(p.pol.ItemFailures, body, recs)
	if o.Kind == outOK || o.Kind == outPartial {
		l.win.state = append(json.RawMessage(nil), r.State...)
	}
	return o
}
