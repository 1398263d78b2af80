package server

import (
	"context"
)

// provisionServices builds every API service and mounts it on the front.
// Services with background work are added to s.runners; things to release
// at stop to s.closers (they run in reverse order, before storage closes).
func (s *Server) provisionServices(ctx context.Context) error {
	_ = ctx
	kinesisSvc, err := s.provisionKinesis(ctx)
	if err != nil {
		return err
	}
	_ = kinesisSvc // the mapping engine's stream API (esm.Options.Kinesis)
	if err := s.provisionLambda(ctx); err != nil {
		return err
	}
	if err := s.provisionDestinations(ctx); err != nil {
		return err
	}
	return nil
}
