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
}

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
// backoff until maxEventAge; a function error is logged (penstock has no
// event invoke config, so no retries or destinations for Event
// invocations).
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
			if res.FunctionError != "" {
				s.log.Info("lambda: event invocation failed", "function", job.ref.Name, "request_id", job.requestID, "error_type", res.ErrorType)
			}
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
