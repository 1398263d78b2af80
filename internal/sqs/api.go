package sqs

import (
	"context"
	"fmt"
)

// Exists reports whether the queue with this ARN exists: nil, or an error
// wrapping ErrQueueNotFound.
func (s *Service) Exists(ctx context.Context, queueARN string) error {
	name, err := s.nameFromARN(queueARN)
	if err != nil {
		return err
	}
	if _, _, err := s.loadMeta(ctx, name); err != nil {
		if asAPI(err) != nil {
			return fmt.Errorf("%w: %s", ErrQueueNotFound, queueARN)
		}
		return err
	}
	return nil
}

// Send stores one message in the queue with this ARN, as SendMessage does,
// and returns its MessageId. A missing queue is an error wrapping
// ErrQueueNotFound.
func (s *Service) Send(ctx context.Context, queueARN, body string, attrs map[string]MessageAttribute) (string, error) {
	name, err := s.nameFromARN(queueARN)
	if err != nil {
		return "", err
	}
	m, _, err := s.loadMeta(ctx, name)
	if err != nil {
		if asAPI(err) != nil {
			return "", fmt.Errorf("%w: %s", ErrQueueNotFound, queueARN)
		}
		return "", err
	}
	res, err := s.put(ctx, m, body, attrs, nil)
	if err != nil {
		var ae = asAPI(err)
		if ae != nil && ae.Code == "QueueDoesNotExist" {
			return "", fmt.Errorf("%w: %s", ErrQueueNotFound, queueARN)
		}
		return "", fmt.Errorf("sending to %s: %w", queueARN, err)
	}
	return res.ID, nil
}
