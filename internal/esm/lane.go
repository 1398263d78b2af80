package esm

import (
	"context"
	"errors"
	"time"
)

// runLane builds batches from the lane's records and sees each through its
// fate, one batch in flight at a time.
// The first batching window starts at start (when the poller started).
func (p *poller) runLane(ctx context.Context, l *lane, start time.Time) {
	if p.m.TumblingWindowInSeconds > 0 {
		p.runWindowLane(ctx, l, start)
		return
	}
	window := time.Duration(p.m.MaximumBatchingWindowInSeconds) * time.Second
	free := start // the batching window starts when the lane is free
	for ctx.Err() == nil {
		p.mu.Lock()
		n, full := p.batchLen(l)
		filling := p.filling
		p.mu.Unlock()
		if n == 0 || (!full && filling) {
			select {
			case <-ctx.Done():
			case <-l.wake:
			}
			continue
		}
		if window > 0 && !full {
			if wait := free.Add(window).Sub(p.e.clock.Now()); wait > 0 {
				select {
				case <-ctx.Done():
				case <-l.wake:
				case <-p.e.clock.After(wait):
				}
				continue
			}
		}
		p.mu.Lock()
		batch := append([]*rec(nil), l.q[:n]...)
		p.mu.Unlock()
		p.runBatch(ctx, l, batch)
		free = p.e.clock.Now()
	}
}

// batchLen is how many head records of the lane make the next batch, and
// whether the batch is full (BatchSize reached, or the next record would
// push the event over 6 MB). Lock must be held.
func (p *poller) batchLen(l *lane) (int, bool) {
	bytes := 0
	for i, r := range l.q {
		if i == p.m.BatchSize {
			return i, true
		}
		if i > 0 && eventSize(i+1, bytes+len(r.JSON)) > maxPayload {
			return i, true
		}
		bytes += len(r.JSON)
	}
	return len(l.q), len(l.q) >= p.m.BatchSize
}

// runBatch drives one batch's fate until every record is done or ctx ends.
func (p *poller) runBatch(ctx context.Context, l *lane, batch []*rec) {
	f := newFate(p.pol, batch)
	done := 0
	progress := func() {
		p.markDone(l, f.Done()-done)
		done = f.Done()
	}
	for ctx.Err() == nil {
		a := f.next(p.e.clock.Now())
		switch a.Kind {
		case actFinished:
			progress()
			return
		case actWait:
			select {
			case <-ctx.Done():
			case <-p.e.clock.After(a.Until.Sub(p.e.clock.Now())):
			}
		case actDiscard:
			if p.discard(ctx, a, "") {
				f.discarded()
				progress()
			}
		case actInvoke:
			o, version, ok := p.invoke(ctx, l, a.Records)
			if !ok {
				return
			}
			if da := f.result(o, p.e.clock.Now()); da != nil {
				if !p.discard(ctx, *da, version) {
					return
				}
				f.discarded()
			}
			progress()
		}
	}
}

// invoke calls the function once with recs (none: a window's final or
// early-end invoke). ok=false when ctx ended before the function answered.
// The invocation itself runs under p.invokeCtx, so one in flight when ctx
// ends may finish (drainGrace) and its answer counts.
func (p *poller) invoke(ctx context.Context, l *lane, recs []*rec) (outcome, string, bool) {
	payload := p.buildPayload(l, recs)
	now := p.e.clock.Now()
	if len(recs) > 0 {
		p.met.IteratorAgeMs.Store(now.Sub(recs[len(recs)-1].Arrival).Milliseconds())
	}
	if obs := p.e.observer.Load(); obs != nil {
		arr := make([]time.Time, len(recs))
		for i, r := range recs {
			arr[i] = r.Arrival
		}
		(*obs)(p.m.UUID, time.Now(), arr)
	}
	p.met.ConcurrentExecutions.Add(1)
	res, err := p.e.o.Functions.Invoke(p.invokeCtx, p.m.FunctionArn, payload)
	p.met.ConcurrentExecutions.Add(-1)
	if err != nil && ctx.Err() != nil {
		return outcome{}, "", false
	}
	n := int64(len(recs))
	if err != nil {
		if errors.Is(err, ErrThrottled) {
			p.met.Throttles.Add(1)
		} else {
			p.log.Warn("invoking function", "function", p.m.FunctionArn, "err", err)
			p.met.setResult("PROBLEM: " + err.Error())
		}
		return outcome{Kind: outThrottled}, "", true
	}
	p.met.Invocations.Add(1)
	p.met.InvokedEventCount.Add(n)
	p.met.observeDuration(res.Duration)
	version := res.ExecutedVersion
	if version == "" {
		version = "$LATEST"
	}
	if res.FunctionError != "" {
		p.met.Errors.Add(1)
		p.met.FailedInvokeEventCount.Add(n)
		p.met.setResult("PROBLEM: Function call failed")
		return outcome{Kind: outFunctionErr, FunctionError: res.FunctionError}, version, true
	}
	var o outcome
	if l.win != nil {
		o = p.windowResponse(l, res.Payload, recs)
	} else {
		o = classifyResponse(p.pol.ItemFailures, res.Payload, recs)
	}
	if o.Kind != outOK {
		p.met.FailedInvokeEventCount.Add(n)
	}
	p.met.setResult("OK")
	return o, version, true
}

// discard hands given-up records to the on-failure destination, retrying
// until delivered: the shard never moves past undelivered records. Without
// a destination the records are dropped. ok=false when ctx ended first.
func (p *poller) discard(ctx context.Context, a action, version string) bool {
	n := int64(len(a.Records))
	dest := p.m.destination()
	if dest == "" || p.e.o.Destinations == nil {
		p.met.DroppedEventCount.Add(n)
		return true
	}
	if version == "" {
		version = "$LATEST"
	}
	d := Delivery{
		Record:         newFailureRecord(a, newRequestID(), p.m.FunctionArn, version, p.es, p.e.clock.Now()),
		Payload:        buildEvent(a.Records),
		MappingUUID:    p.m.UUID,
		ShardID:        p.shard.ID,
		IncludeRecords: p.m.Tags[IncludeRecordsTag] == "true",
	}
	for attempt := 1; ctx.Err() == nil; attempt++ {
		err := p.e.o.Destinations.Deliver(ctx, dest, d)
		if err == nil {
			p.met.OnFailureDestinationDeliveredEventCount.Add(n)
			return true
		}
		p.met.DestinationDeliveryFailures.Add(1)
		p.log.Warn("delivering on-failure record", "destination", dest, "err", err)
		select {
		case <-ctx.Done():
		case <-p.e.clock.After(p.pol.backoff(attempt)):
		}
	}
	return false
}
