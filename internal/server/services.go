package server

import (
	"context"
	"fmt"

	"github.com/penstock/penstock/internal/esm"
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
	if err := s.provisionLambda(ctx); err != nil {
		return err
	}
	if err := s.provisionDestinations(ctx); err != nil {
		return err
	}
	// Event source mappings: the engine polls kinesisSvc's shards and
	// invokes through s.lambda; on-failure records go through s.destinations.
	{
		var dests esm.Destinations
		if s.destinations != nil {
			dests = s.destinations
		}
		engine, err := esm.New(ctx, esm.Options{
			Store: s.store, Streams: esm.KinesisStreams(kinesisSvc), Functions: esm.LambdaFunctions(s.lambda),
			Destinations: dests, Region: s.cfg.Region, AccountID: s.cfg.AccountID,
			Logger: s.log.With("component", "esm"),
		})
		if err != nil {
			return fmt.Errorf("provisioning event source mappings: %w", err)
		}
		s.front.mappings = engine
		s.runners = append(s.runners, engine)
	}
	return nil
}

// Mappings returns the event source mapping engine.
func (s *Server) Mappings() *esm.Engine {
	e, _ := s.front.mappings.(*esm.Engine)
	return e
}
