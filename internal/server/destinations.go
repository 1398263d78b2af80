package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/penstock/penstock/internal/awsapi"
	"github.com/penstock/penstock/internal/destination"
	"github.com/penstock/penstock/internal/s3"
	"github.com/penstock/penstock/internal/sns"
	"github.com/penstock/penstock/internal/sqs"
)

// provisionDestinations builds the SQS, SNS and S3 services (the on-failure
// destination kinds) and s.destinations, the router the mapping engine
// delivers through.
func (s *Server) provisionDestinations(ctx context.Context) error {
	q, err := sqs.New(ctx, sqs.Options{Store: s.store, Region: s.cfg.Region, AccountID: s.cfg.AccountID,
		Logger: s.log.With("component", "sqs")})
	if err != nil {
		return fmt.Errorf("provisioning sqs: %w", err)
	}
	t, err := sns.New(ctx, sns.Options{Store: s.store, Queues: q, Region: s.cfg.Region, AccountID: s.cfg.AccountID,
		Logger: s.log.With("component", "sns")})
	if err != nil {
		return fmt.Errorf("provisioning sns: %w", err)
	}
	// SNS's SubscribeURL/UnsubscribeURL links are unsigned GETs without a
	// target, which the front routes to S3: S3 hands them back to SNS.
	b, err := s3.New(ctx, s3.Options{Store: s.store, Region: s.cfg.Region, AccountID: s.cfg.AccountID,
		Logger: s.log.With("component", "s3"), Fallback: t})
	if err != nil {
		return fmt.Errorf("provisioning s3: %w", err)
	}
	s.front.services[awsapi.SQS] = q
	s.front.services[awsapi.SNS] = t
	s.front.services[awsapi.S3] = b
	if s.front.penstock == nil {
		s.front.penstock = http.NewServeMux()
	}
	s.front.penstock.Handle("/_penstock/sns/", t) // SigningCertURL
	s.runners = append(s.runners, t)              // HTTP subscriber deliveries
	s.destinations = destination.New(q, t, b)
	return nil
}

// Destinations returns the on-failure destination router (tests, tools).
func (s *Server) Destinations() *destination.Router { return s.destinations }
