package runtime

import (
	"io"
	"net"
	goruntime "runtime"
	"sync/atomic"
	"syscall"
	"time"
)

// Busy-polling the Runtime API connection.
//
// A warm invocation is two round trips between penstock and the function's
// process on loopback, and on a virtual machine much of its time is not
// work but wake-ups: the parent's threads go idle while the function runs,
// the vCPU halts, and the bytes the function writes back have to wake it
// again (tens of µs each time on these machines). The runtime's next
// request usually follows within tens of µs (its POST /response right after
// a fast handler; its GET /next right after our 202; the second and third
// segments of one request, which net/http's client writes separately), so
// the connection's reader polls the socket for up to a short budget before
// it parks in the netpoller. BenchmarkInvokeWarm/go-example: p50 about
// 40 % lower, for about 40 µs more parent CPU per invocation.
//
// The spin is bounded so that it never costs much more than it can save:
//   - by the budget (Options.SpinWait, default 300 µs);
//   - by learning, per connection and per kind of wait, whether spinning
//     pays: a spin that did not pay makes that wait park at once for the
//     next 1, 3, 7 … 63 reads, so a handler slower than the budget costs at
//     most 1/64 of a budget per invocation. A spin for the POST of a
//     response (afterEvent) or for a request's later segments pays when the
//     bytes arrive in time. A spin for GET /next (afterAnswer) pays only if
//     an invocation was already waiting for it (handleNext judges): with
//     invocations spaced out, as behind the Invoke HTTP API, the GET comes
//     first, and spinning for it would only take a core from the function
//     and from whoever sends the next invocation;
//   - by the cores: a connection spins only while spinners and invocations
//     in flight together stay under GOMAXPROCS, so a spinner never takes a
//     core that a function (or another spinner) could use. On 2 cores: one
//     invocation in flight spins, two or more (concurrent functions, a
//     mapping draining several shards) do not.
//
// The spinning goroutine yields to every other runnable goroutine of the
// process on each poll.

// DefaultSpinWait is Options.SpinWait's default: about three times what
// aws-lambda-go's client takes from our event to its POST for a small
// handler on a quiet machine (~90 µs here), so that the spin still catches
// it when the machine is busy. 150 µs gave the Go example the same median
// but a wider spread between runs (119-218 against 140-157 µs p50, eight
// runs each, interleaved).
const DefaultSpinWait = 300 * time.Microsecond

// spinPolicy is the Manager-wide part: the budget and the use of cores.
type spinPolicy struct {
	budget   time.Duration // 0 = never spin
	cores    int32         // GOMAXPROCS when the Manager was made
	spinners atomic.Int32  // connections spinning now
	running  atomic.Int32  // invocations in flight (Manager.invokeOn)
}

func newSpinPolicy(budget time.Duration) *spinPolicy {
	return &spinPolicy{budget: max(budget, 0), cores: int32(goruntime.GOMAXPROCS(0))}
}

// acquire takes a spinner's place if spinners and invocations in flight
// leave a core for it.
func (p *spinPolicy) acquire() bool {
	if p == nil || p.budget == 0 {
		return false
	}
	for {
		n := p.spinners.Load()
		if n+max(p.running.Load(), 1) >= p.cores {
			return false
		}
		if p.spinners.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (p *spinPolicy) release() { p.spinners.Add(-1) }

// spinStat learns whether spinning pays for one kind of wait on one
// connection.
type spinStat struct {
	skip   uint8 // reads left that park at once
	misses uint8 // spins in a row that did not pay (capped at 6)
	// judged: the request's handler decides whether a spin that caught
	// the request paid (spinReader.judge), not the arrival alone.
	judged bool
}

// try reports whether this read may spin, consuming a skip if not.
func (s *spinStat) try() bool {
	if s.skip > 0 {
		s.skip--
		return false
	}
	return true
}

// record notes how a spin ended.
func (s *spinStat) record(hit bool) {
	if hit {
		s.misses = 0
		return
	}
	s.misses = min(s.misses+1, 6)
	s.skip = 1<<s.misses - 1
}

// spinReader is the connection's reader: a read on the raw socket that
// polls for up to the budget before it parks. wait is the kind of wait
// the next Read is for (nil: park at once); once a request has started
// arriving, the reads of its remaining segments use segment.
type spinReader struct {
	conn    net.Conn
	rc      syscall.RawConn // nil: plain conn.Read, no spinning
	policy  *spinPolicy
	wait    *spinStat
	segment spinStat
	// judge is a judged spinStat whose spin caught a request, waiting for
	// the handler's verdict (verdict).
	judge *spinStat
}

func newSpinReader(c net.Conn, policy *spinPolicy) *spinReader {
	r := &spinReader{conn: c, policy: policy}
	if sc, ok := c.(syscall.Conn); ok && policy != nil && policy.budget > 0 {
		if rc, err := sc.SyscallConn(); err == nil {
			r.rc = rc
		}
	}
	return r
}

// expect sets the kind of wait the next request is for. A spin nobody
// judged counts as paid.
func (r *spinReader) expect(s *spinStat) {
	r.verdict(true)
	r.wait = s
}

// verdict records whether the spin that caught the current request paid,
// if that is for the handler to judge.
func (r *spinReader) verdict(paid bool) {
	if r.judge != nil {
		r.judge.record(paid)
		r.judge = nil
	}
}

func (r *spinReader) Read(p []byte) (int, error) {
	if r.rc == nil || len(p) == 0 {
		return r.conn.Read(p)
	}
	st := r.wait
	spinning := st != nil && st.try() && r.policy.acquire()
	var start time.Time
	if spinning {
		start = time.Now()
	}
	// endSpin gives the spinner's place back and notes whether the spin
	// caught the data (a judged wait leaves that to the handler).
	endSpin := func(hit bool) {
		spinning = false
		r.policy.release()
		switch {
		case !hit:
			st.record(false)
		case st.judged:
			r.judge = st
		default:
			st.record(true)
		}
	}
	var n int
	var err error
	rerr := r.rc.Read(func(fd uintptr) bool {
		for {
			n, err = syscall.Read(int(fd), p)
			switch err {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				if spinning && time.Since(start) < r.policy.budget {
					goruntime.Gosched()
					continue
				}
				if spinning {
					endSpin(false)
				}
				return false // park in the netpoller
			}
			if spinning {
				endSpin(true)
			}
			return true
		}
	})
	if spinning { // rc.Read failed before the callback ran: nothing learnt
		spinning = false
		r.policy.release()
	}
	switch {
	case rerr != nil:
		return 0, rerr
	case err != nil:
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: r.conn.LocalAddr(), Addr: r.conn.RemoteAddr(), Err: err}
	case n == 0:
		return 0, io.EOF
	}
	r.wait = &r.segment
	return n, nil
}
