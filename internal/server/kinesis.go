package server

import (
	"context"

	"github.com/penstock/penstock/internal/awsapi"
	"github.com/penstock/penstock/internal/kinesis"
)

// provisionKinesis builds the Kinesis Data Streams API, mounts it and adds
// its background work (state transitions, closed-shard cleanup) to the
// runners. The returned service is the Go API the mapping engine uses.
func (s *Server) provisionKinesis(ctx context.Context) (*kinesis.Service, error) {
	svc, err := kinesis.New(ctx, kinesis.Options{
		Store:      s.store,
		Region:     s.cfg.Region,
		AccountID:  s.cfg.AccountID,
		Logger:     s.log.With("component", "kinesis"),
		Now:        s.cfg.Now,
		StateDelay: s.cfg.StateDelay,
		Throttle:   s.cfg.Throttle,
	})
	if err != nil {
		return nil, err
	}
	s.front.services[awsapi.Kinesis] = svc
	s.runners = append(s.runners, svc)
	return svc, nil
}
