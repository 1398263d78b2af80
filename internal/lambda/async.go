package lambda

import (
	"context"
	"errors"
	"time"

	"github.com/penstock/penstock/internal/runtime"
)

// asyncJob is one queued Event invocation.
type asyncJob struct {
	ref       ref
	payload   []byte
	requestID string
	queued    time.Time
	attempt   int // 0 = first run
}

// asyncRetryDelays are AWS's waits before the retries of an Event
// invocation that returned a function error (MaximumRetryAttempts 2: one
// minute, then two).
var asyncRetryDelays = []time.Duration{time.Minute, 2 * time.Minute}

// maxEventAge is how long AWS keeps retrying an Event invocation that is
// throttled (6 hours, the default MaximumEventAgeInSeconds).
const maxEventAge = 6 * time.Hour

// enqueue checks the function and queues an Event invocation. A full queue
// is TooManyRequestsException.
func (s *Service) enqueue(ctx context.Context, ref ref, payload []byte, requestID string) error {
	if _, err := s.prepareDry(ctx, ref); err != nil {
		return err
	}
	select {
	case s.async <- asyncJob{ref: ref, payload: payload, requestID: requestID, queued: time.Now()}:
		return nil
	default:
		return errThrottled("ConcurrentInvocationLimitExceeded")
	}
}

// runAsync is one Event worker. A throttled invocation is retried with
// backoff until maxEventAge; a function error is retried after each of the
// retry delays (AWS's default of two retries), then logged and dropped
// (penstock has no event invoke config: no destinations).
func (s *Service) runAsync(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case job := <-s.async:
			s.runJob(ctx, job)
		}
	}
}

func (s *Service) runJob(ctx context.Context, job asyncJob) {
	backoff := 100 * time.Millisecond
	for {
		res, err := s.invoke(ctx, job.ref, job.payload, runtime.InvokeOptions{RequestID: job.requestID})
		switch {
		case err == nil:
			if res.FunctionError == "" {
				return
			}
			if job.attempt < len(s.retryDelays) {
				next := job
				next.attempt++
				time.AfterFunc(s.retryDelays[job.attempt], func() {
					select {
					case s.async <- next:
					default:
						s.log.Warn("lambda: event retry dropped, queue full", "function", job.ref.Name, "request_id", job.requestID)
					}
				})
				return
			}
			s.log.Info("lambda: event invocation failed", "function", job.ref.Name, "request_id", job.requestID,
				"error_type", res.ErrorType, "attempts", job.attempt+1)
			return
		case errors.Is(err, runtime.ErrThrottled) && time.Since(job.queued) < maxEventAge:
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
		default:
			if ctx.Err() == nil {
				s.log.Warn("lambda: event invocation dropped", "function", job.ref.Name, "request_id", job.requestID, "err", err)
			}
			return
		}
	}
}
