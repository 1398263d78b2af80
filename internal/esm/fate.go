package esm

import (
	"time"
)

// This file is the batch fate state machine: pure logic, no I/O. A lane
// hands it the records of one batch; the machine says what to do next
// (invoke these records, wait, give these records up) and is told how each
// invoke ended. It never looks at a clock itself: callers pass now.

// rec is one record as the engine carries it.
type rec struct {
	Seq     uint64    // storage position in the shard log
	SeqNum  string    // Kinesis sequence number
	Arrival time.Time // approximate arrival time
	JSON    []byte    // the record's encoded event entry
}

// policy is the part of a mapping's config that decides a batch's fate.
type policy struct {
	MaxRetries   int           // -1 = until the record expires
	MaxAge       time.Duration // 0 = no limit
	Bisect       bool
	ItemFailures bool          // ReportBatchItemFailures
	BackoffBase  time.Duration // first retry delay
	BackoffMax   time.Duration
}

// backoff is the delay before retry n (1-based): base·2^(n-1), capped.
func (p policy) backoff(n int) time.Duration {
	if n <= 0 || p.BackoffBase <= 0 {
		return 0
	}
	d := p.BackoffBase
	for i := 1; i < n && d < p.BackoffMax; i++ {
		d *= 2
	}
	return min(d, p.BackoffMax)
}

// throttleBackoff is the delay after the nth consecutive throttle: shorter
// than the error backoff (a free execution environment is usually a
// moment away), 50 ms doubling, capped like retries. UNCONFIRMED.
func (p policy) throttleBackoff(n int) time.Duration {
	q := p
	q.BackoffBase = min(p.BackoffBase, 50*time.Millisecond)
	return q.backoff(n)
}

// actKind says what the lane must do.
type actKind int

const (
	actInvoke   actKind = iota // invoke the function with Records
	actWait                    // wait until Until, then ask again
	actDiscard                 // give Records up (on-failure destination), then call Discarded
	actFinished                // every record of the batch is done
)

// Condition values of the on-failure invocation record.
const (
	condRetriesExhausted = "RetryAttemptsExhausted"
	condRecordAge        = "RecordAgeExceeded"
)

// action is the machine's answer to next.
type action struct {
	Kind    actKind
	Records []*rec
	Until   time.Time
	// For actDiscard:
	Condition   string
	InvokeCount int
	// LastFunctionError is the last attempt's X-Amz-Function-Error ("" for
	// a partial or invalid partial response); NoResponse means the records
	// were never answered for (age cut), so the record has no responseContext.
	LastFunctionError string
	NoResponse        bool
}

// outKind classifies how one invoke ended.
type outKind int

const (
	outOK          outKind = iota // success (incl. every "success" partial response)
	outPartial                    // partial failure: FailedAt = index of the lowest failed record
	outInvalid                    // invalid partial response: whole batch failed, not a function error
	outFunctionErr                // function error (error, timeout, crash)
	outThrottled                  // throttle or invocation error: retry, no attempt spent
)

// outcome is what the lane observed.
type outcome struct {
	Kind          outKind
	FailedAt      int    // outPartial
	FunctionError string // outFunctionErr: "Unhandled"
}

// segment is a contiguous run of the batch's records with its own retry budget.
type segment struct {
	recs      []*rec
	attempts  int // invocations of this segment (approximateInvokeCount)
	failures  int // consecutive failed attempts that spent the budget
	throttles int // consecutive throttles (backoff only)
	lastErr   string
	answered  bool // at least one attempt got a function response
}

// fate tracks one batch from its first invoke to its last record's end.
// Segments are processed oldest first, so the records done always form a
// prefix of the batch: Done tells the lane how far the checkpoint may move.
type fate struct {
	p         policy
	segs      []*segment
	notBefore time.Time
	done      int // records of the batch done (success or given up)
	pending   *action
}

func newFate(p policy, recs []*rec) *fate {
	return &fate{p: p, segs: []*segment{{recs: recs}}}
}

// Done is how many leading records of the batch are done.
func (f *fate) Done() int { return f.done }

// next says what to do at time now.
func (f *fate) next(now time.Time) action {
	if len(f.segs) == 0 {
		return action{Kind: actFinished}
	}
	s := f.segs[0]
	if f.p.MaxAge > 0 {
		cut := 0
		for cut < len(s.recs) && now.Sub(s.recs[cut].Arrival) > f.p.MaxAge {
			cut++
		}
		if cut > 0 {
			a := action{Kind: actDiscard, Records: s.recs[:cut], Condition: condRecordAge,
				InvokeCount: max(s.attempts, 1), NoResponse: true}
			f.pending = &a
			return a
		}
	}
	if now.Before(f.notBefore) {
		return action{Kind: actWait, Until: f.notBefore}
	}
	return action{Kind: actInvoke, Records: s.recs}
}

// discarded confirms that the records of the last actDiscard were handed to
// the on-failure destination (or dropped when there is none).
func (f *fate) discarded() {
	if f.pending == nil || len(f.segs) == 0 {
		return
	}
	n := len(f.pending.Records)
	f.pending = nil
	s := f.segs[0]
	f.done += n
	if n >= len(s.recs) {
		f.segs = f.segs[1:]
		f.notBefore = time.Time{}
		return
	}
	s.recs = s.recs[n:]
}

// result folds the outcome of invoking the head segment, made at now.
// It returns a discard action when the segment's retries are exhausted
// (the caller delivers it, then calls discarded), else nil.
func (f *fate) result(o outcome, now time.Time) *action {
	s := f.segs[0]
	if o.Kind != outThrottled {
		s.attempts++
		s.throttles = 0
	}
	switch o.Kind {
	case outOK:
		f.done += len(s.recs)
		f.segs = f.segs[1:]
		f.notBefore = time.Time{}
		return nil
	case outThrottled:
		s.throttles++
		f.notBefore = now.Add(f.p.throttleBackoff(s.throttles))
		return nil
	case outPartial:
		if o.FailedAt > 0 && o.FailedAt < len(s.recs) {
			// The checkpoint moves to the lowest failed record; the rest
			// is retried as a new batch with its own budget.
			f.done += o.FailedAt
			f.segs[0] = &segment{recs: s.recs[o.FailedAt:]}
			f.notBefore = time.Time{}
			return nil
		}
		s.lastErr, s.answered = "", true
	case outInvalid:
		s.lastErr, s.answered = "", true
	case outFunctionErr:
		s.lastErr, s.answered = o.FunctionError, true
		if f.p.Bisect && len(s.recs) > 1 {
			// Halves are retried at once, older half first; splitting
			// spends no retry.
			h := len(s.recs) / 2
			a := &segment{recs: s.recs[:h]}
			b := &segment{recs: s.recs[h:]}
			f.segs = append([]*segment{a, b}, f.segs[1:]...)
			f.notBefore = time.Time{}
			return nil
		}
	}
	s.failures++
	if f.p.MaxRetries >= 0 && s.failures > f.p.MaxRetries {
		a := action{Kind: actDiscard, Records: s.recs, Condition: condRetriesExhausted,
			InvokeCount: s.attempts, LastFunctionError: s.lastErr}
		f.pending = &a
		return &a
	}
	f.notBefore = now.Add(f.p.backoff(s.failures))
	return nil
}
