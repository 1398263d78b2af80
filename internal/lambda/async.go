package lambda

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/penstock/penstock/internal/runtime"
	"github.com/penstock/penstock/internal/storage"
)

// Event invocations are queued in a JetStream work queue, so they survive
// a restart and any node of a cluster may run them.
const (
	asyncStream   = "LAMBDA_async"
	asyncSubject  = "lambda.async." // + function name
	asyncConsumer = "workers"
	asyncMaxBytes = 1 << 30
	// asyncAckWait is longer than the longest invocation (900 s): a message
	// comes back only when the node running it died.
	asyncAckWait = 16 * time.Minute

	hdrRequestID = "Penstock-Request-Id"
	hdrQualifier = "Penstock-Qualifier"
	hdrAttempt   = "Penstock-Attempt"    // 0 = first run
	hdrNotBefore = "Penstock-Not-Before" // unix ms: a retry waits until then
	hdrQueued    = "Penstock-Queued"     // unix ms of the original Invoke
)

// jsErrCodeStreamStoreFailed is JetStream's "storing failed" (10077), the
// error of a publish to a full DiscardNew stream.
const jsErrCodeStreamStoreFailed jetstream.ErrorCode = 10077

// maxEventAge is how long AWS keeps an Event invocation it cannot run
// (throttled): 6 hours, the default MaximumEventAgeInSeconds. It is the
// queue stream's MaxAge too.
const maxEventAge = 6 * time.Hour

// asyncRetryDelays are AWS's waits before the retries of an Event
// invocation that returned a function error (MaximumRetryAttempts 2: one
// minute, then two).
var asyncRetryDelays = []time.Duration{time.Minute, 2 * time.Minute}

type asyncQueue struct {
	js   jetstream.JetStream
	cons jetstream.Consumer
}

func openAsyncQueue(ctx context.Context, st *storage.Store) (*asyncQueue, error) {
	js := st.JetStream()
	stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:      asyncStream,
		Subjects:  []string{asyncSubject + ">"},
		Storage:   jetstream.FileStorage,
		Replicas:  st.Replicas(),
		Retention: jetstream.WorkQueuePolicy,
		MaxAge:    maxEventAge,
		MaxBytes:  asyncMaxBytes,
		Discard:   jetstream.DiscardNew,
	})
	if err != nil {
		return nil, fmt.Errorf("lambda: creating event queue %s: %w", asyncStream, err)
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       asyncConsumer,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       asyncAckWait,
		MaxDeliver:    -1,
		MaxAckPending: 10000,
	})
	if err != nil {
		return nil, fmt.Errorf("lambda: creating event queue consumer: %w", err)
	}
	return &asyncQueue{js: js, cons: cons}, nil
}

// enqueue checks the function and queues an Event invocation. A full queue
// is TooManyRequestsException.
func (s *Service) enqueue(ctx context.Context, ref ref, payload []byte, requestID string) error {
	if _, err := s.prepareDry(ctx, ref); err != nil {
		return err
	}
	m := nats.NewMsg(asyncSubject + ref.Name)
	m.Data = payload
	m.Header.Set(hdrRequestID, requestID)
	m.Header.Set(hdrQualifier, ref.Qualifier)
	m.Header.Set(hdrAttempt, "0")
	m.Header.Set(hdrQueued, strconv.FormatInt(time.Now().UnixMilli(), 10))
	return s.publishEvent(ctx, m)
}

func (s *Service) publishEvent(ctx context.Context, m *nats.Msg) error {
	if _, err := s.async.js.PublishMsg(ctx, m); err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jsErrCodeStreamStoreFailed {
			// The queue is full (MaxBytes, DiscardNew).
			return errThrottled("ConcurrentInvocationLimitExceeded")
		}
		return fmt.Errorf("queueing event invocation: %w", err)
	}
	return nil
}

// runAsync runs queued Event invocations, at most s.workers at a time,
// until ctx ends. An invocation cut short by shutdown goes back to the
// queue.
func (s *Service) runAsync(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, s.workers)
	for ctx.Err() == nil {
		it, err := s.async.cons.Messages(jetstream.PullMaxMessages(s.workers))
		if err != nil {
			s.log.Warn("lambda: reading the event queue", "err", err)
			if !sleepCtx(ctx, time.Second) {
				return nil
			}
			continue
		}
		stop := context.AfterFunc(ctx, it.Stop)
		for {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				break
			}
			m, err := it.Next()
			if err != nil {
				<-sem
				if ctx.Err() == nil && !errors.Is(err, jetstream.ErrMsgIteratorClosed) {
					s.log.Warn("lambda: reading the event queue", "err", err)
					sleepCtx(ctx, time.Second)
				}
				break
			}
			wg.Go(func() {
				defer func() { <-sem }()
				s.runEvent(ctx, m)
			})
		}
		stop()
		it.Stop()
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// runEvent runs one queued invocation. A throttled invocation is retried
// with backoff until maxEventAge; a function error is retried after each of
// the retry delays (AWS's default of two retries), then dropped with a log
// line (penstock has no event invoke config: no destinations).
func (s *Service) runEvent(ctx context.Context, m jetstream.Msg) {
	h := m.Headers()
	name := m.Subject()[len(asyncSubject):]
	log := s.log.With("function", name, "request_id", h.Get(hdrRequestID))
	if nb, err := strconv.ParseInt(h.Get(hdrNotBefore), 10, 64); err == nil {
		if wait := time.Until(time.UnixMilli(nb)); wait > 0 {
			_ = m.NakWithDelay(wait)
			return
		}
	}
	queued, _ := strconv.ParseInt(h.Get(hdrQueued), 10, 64)
	if time.Since(time.UnixMilli(queued)) > maxEventAge {
		log.Warn("lambda: event invocation dropped: older than the maximum event age")
		_ = m.Term()
		return
	}
	attempt, _ := strconv.Atoi(h.Get(hdrAttempt))
	res, err := s.invoke(ctx, ref{Name: name, Qualifier: h.Get(hdrQualifier)}, m.Data(), runtime.InvokeOptions{RequestID: h.Get(hdrRequestID)})
	switch {
	case ctx.Err() != nil:
		_ = m.Nak() // shutting down: another run takes it
	case errors.Is(err, runtime.ErrThrottled):
		md, _ := m.Metadata()
		backoff := 100 * time.Millisecond
		if md != nil {
			for i := uint64(1); i < md.NumDelivered && backoff < 30*time.Second; i++ {
				backoff *= 2
			}
		}
		_ = m.NakWithDelay(min(backoff, 30*time.Second))
	case err != nil:
		log.Warn("lambda: event invocation dropped", "err", err)
		_ = m.Term()
	case res.FunctionError != "" && attempt < len(s.retryDelays):
		retry := nats.NewMsg(m.Subject())
		retry.Data = m.Data()
		for k, v := range h {
			retry.Header[k] = v
		}
		retry.Header.Set(hdrAttempt, strconv.Itoa(attempt+1))
		retry.Header.Set(hdrNotBefore, strconv.FormatInt(time.Now().Add(s.retryDelays[attempt]).UnixMilli(), 10))
		if err := s.publishEvent(ctx, retry); err != nil {
			log.Warn("lambda: queueing event retry", "err", err)
			_ = m.NakWithDelay(time.Second)
			return
		}
		_ = m.Ack()
	default:
		if res.FunctionError != "" {
			log.Info("lambda: event invocation failed", "error_type", res.ErrorType, "attempts", attempt+1)
		}
		_ = m.Ack()
	}
}
