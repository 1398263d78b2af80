package sns

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// httpDelivery is one POST to an HTTP(S) subscriber.
type httpDelivery struct {
	url, typ, id, topic, sub string
	body                     []byte
	raw                      bool
}

// enqueue hands a delivery to the workers; it blocks while the buffer is
// full (back-pressure on Publish) until ctx ends.
func (s *Service) enqueue(ctx context.Context, d httpDelivery) {
	select {
	case s.http <- d:
	case <-ctx.Done():
		s.log.Warn("sns: dropping http delivery, publish cancelled", "endpoint", d.url)
	}
}

// Run delivers to HTTP subscribers until ctx ends: HTTPWorkers goroutines,
// each posting with bounded exponential backoff. Deliveries still queued
// when ctx ends are dropped (they live in memory only).
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range s.o.HTTPWorkers {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case d := <-s.http:
					s.deliverHTTP(ctx, d)
				}
			}
		})
	}
	wg.Wait()
	return nil
}

func (s *Service) deliverHTTP(ctx context.Context, d httpDelivery) {
	backoff := s.o.HTTPBackoff
	for attempt := 1; ; attempt++ {
		err := s.post(ctx, d)
		if err == nil {
			return
		}
		if attempt >= s.o.HTTPAttempts {
			s.log.Warn("sns: giving up on http delivery", "endpoint", d.url, "attempts", attempt, "err", err)
			return
		}
		s.log.Debug("sns: http delivery failed, retrying", "endpoint", d.url, "attempt", attempt, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, s.o.HTTPMaxBackoff)
	}
}

func (s *Service) post(ctx context.Context, d httpDelivery) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=UTF-8")
	req.Header.Set("User-Agent", "Amazon Simple Notification Service Agent")
	req.Header.Set("x-amz-sns-message-type", d.typ)
	req.Header.Set("x-amz-sns-message-id", d.id)
	req.Header.Set("x-amz-sns-topic-arn", d.topic)
	if d.sub != "" {
		req.Header.Set("x-amz-sns-subscription-arn", d.sub)
	}
	if d.raw {
		req.Header.Set("x-amz-sns-rawdelivery", "true")
	}
	resp, err := s.o.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("posting to %s: %w", d.url, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("posting to %s: status %d", d.url, resp.StatusCode)
	}
	return nil
}
