package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/penstock/penstock/internal/awsapi"
	"github.com/penstock/penstock/internal/esm"
)

// provisionServices builds every API service and mounts it on the front.
// Services with background work are added to s.runners; things to release
// at stop to s.closers (they run in reverse order, before storage closes).
func (s *Server) provisionServices(ctx context.Context) error {
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
		// A restarted node takes its shard leases back at once when its id
		// is stable: host and listen address (embedded: the engine's own).
		// Port 0 (tests) is not stable: a random id then.
		nodeID := ""
		if _, port, _ := net.SplitHostPort(s.cfg.Listen); !s.store.Embedded() && port != "0" {
			host, _ := os.Hostname()
			nodeID = host + "/" + s.cfg.Listen
		}
		engine, err := esm.New(ctx, esm.Options{
			Store: s.store, Streams: esm.KinesisStreams(kinesisSvc), Functions: esm.LambdaFunctions(s.lambda),
			Destinations: dests, Region: s.cfg.Region, AccountID: s.cfg.AccountID,
			Logger: s.log.With("component", "esm"), NodeID: nodeID,
		})
		if err != nil {
			return fmt.Errorf("provisioning event source mappings: %w", err)
		}
		s.front.mappings = engine
		s.runners = append(s.runners, engine)
		// Tags on mapping ARNs (/2017-03-31/tags/...:event-source-mapping:...)
		// are the engine's; every other Lambda path stays with s.lambda.
		if lambdaAPI := s.front.services[awsapi.Lambda]; lambdaAPI != nil {
			s.front.services[awsapi.Lambda] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if esm.IsTagPath(r) {
					engine.ServeHTTP(w, r)
					return
				}
				lambdaAPI.ServeHTTP(w, r)
			})
		}
	}
	return nil
}

// Mappings returns the event source mapping engine.
func (s *Server) Mappings() *esm.Engine {
	e, _ := s.front.mappings.(*esm.Engine)
	return e
}
