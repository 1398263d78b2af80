package sns

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// HTTP(S) deliveries are queued durably in the SNS_http JetStream stream
// (work-queue retention) and posted by Run's workers through one durable
// pull consumer: a delivery survives a restart, and with several penstock
// nodes each is posted by one of them. A failed post is nak'd with the
// next backoff delay; after HTTPAttempts deliveries it is terminated.
const (
	httpStream   = "SNS_http"
	httpSubject  = "sns.http"
	httpConsumer = "http"
)

// httpDelivery is one POST to an HTTP(S) subscriber.
type httpDelivery struct {
	URL   string `json:"url"`
	Type  string `json:"type"`
	ID    string `json:"id"`
	Topic string `json:"topic"`
	Sub   string `json:"sub,omitempty"`
	Body  []byte `json:"body"`
	Raw   bool   `json:"raw,omitempty"`
}

// openHTTPQueue creates the delivery stream and consumer.
func (s *Service) openHTTPQueue(ctx context.Context) error {
	js := s.o.Store.JetStream()
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: httpStream, Subjects: []string{httpSubject}, Retention: jetstream.WorkQueuePolicy,
		Storage: jetstream.FileStorage, Replicas: s.o.Store.Replicas(), MaxAge: 24 * time.Hour,
	}); err != nil {
		return fmt.Errorf("creating %s: %w", httpStream, err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, httpStream, jetstream.ConsumerConfig{
		Durable: httpConsumer, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait:    s.o.HTTPClient.Timeout + 15*time.Second, // a post in progress is not handed to another worker
		MaxDeliver: s.o.HTTPAttempts,
	})
	if err != nil {
		return fmt.Errorf("creating %s consumer: %w", httpStream, err)
	}
	s.httpq = cons
	return nil
}

// enqueue stores a delivery for the workers.
func (s *Service) enqueue(ctx context.Context, d httpDelivery) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if _, err := s.o.Store.JetStream().Publish(ctx, httpSubject, b); err != nil {
		return fmt.Errorf("queueing http delivery to %s: %w", d.URL, err)
	}
	return nil
}

// Run posts queued HTTP deliveries until ctx ends, with HTTPWorkers
// goroutines, each waiting on the consumer (server-side, 1 s at a time).
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range s.o.HTTPWorkers {
		wg.Go(func() {
			for ctx.Err() == nil {
				batch, err := s.httpq.Fetch(1, jetstream.FetchMaxWait(time.Second))
				if err != nil {
					s.log.Warn("sns: fetching http deliveries", "err", err)
					t := time.NewTimer(time.Second)
					select {
					case <-ctx.Done():
					case <-t.C:
					}
					t.Stop()
					continue
				}
				for msg := range batch.Messages() {
					s.deliverHTTP(ctx, msg)
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// deliverHTTP posts one queued delivery and settles its message.
func (s *Service) deliverHTTP(ctx context.Context, msg jetstream.Msg) {
	var d httpDelivery
	if err := json.Unmarshal(msg.Data(), &d); err != nil {
		_ = msg.Term()
		return
	}
	md, err := msg.Metadata()
	if err != nil {
		_ = msg.Nak()
		return
	}
	err = s.post(ctx, d)
	switch {
	case err == nil:
		_ = msg.DoubleAck(ctx)
	case ctx.Err() != nil:
		_ = msg.Nak() // stopping: another start (or node) posts it
	case int(md.NumDelivered) >= s.o.HTTPAttempts:
		s.log.Warn("sns: giving up on http delivery", "endpoint", d.URL, "attempts", md.NumDelivered, "err", err)
		_ = msg.Term()
	default:
		delay := s.o.HTTPBackoff
		for i := uint64(1); i < md.NumDelivered && delay < s.o.HTTPMaxBackoff; i++ {
			delay *= 2
		}
		delay = min(delay, s.o.HTTPMaxBackoff)
		s.log.Debug("sns: http delivery failed, retrying", "endpoint", d.URL, "attempt", md.NumDelivered, "in", delay, "err", err)
		_ = msg.NakWithDelay(delay)
	}
}

func (s *Service) post(ctx context.Context, d httpDelivery) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=UTF-8")
	req.Header.Set("User-Agent", "Amazon Simple Notification Service Agent")
	req.Header.Set("x-amz-sns-message-type", d.Type)
	req.Header.Set("x-amz-sns-message-id", d.ID)
	req.Header.Set("x-amz-sns-topic-arn", d.Topic)
	if d.Sub != "" {
		req.Header.Set("x-amz-sns-subscription-arn", d.Sub)
	}
	if d.Raw {
		req.Header.Set("x-amz-sns-rawdelivery", "true")
	}
	resp, err := s.o.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("posting to %s: %w", d.URL, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("posting to %s: status %d", d.URL, resp.StatusCode)
	}
	return nil
}
