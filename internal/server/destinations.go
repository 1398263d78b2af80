package server

import (
	"context"
	"fmt"

	"github.com/penstock/penstock/internal/awsapi"
	"github.com/penstock/penstock/internal/sqs"
)

// provisionDestinations builds the SQS, SNS and S3 services (the on-failure
// destination kinds) and the destination router the mapping engine uses.
func (s *Server) provisionDestinations(ctx context.Context) error {
	q, err := sqs.New(ctx, sqs.Options{Store: s.store, Region: s.cfg.Region, AccountID: s.cfg.AccountID,
		Logger: s.log.With("component", "sqs")})
	if err != nil {
		return fmt.Errorf("provisioning sqs: %w", err)
	}
	s.front.services[awsapi.SQS] = q
	return nil
}
