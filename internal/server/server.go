// Package server wires penstock together: storage, the services and the one
// HTTP front.
//
// Lifecycle, written once: New provisions everything (opens storage, builds
// each service, binds the listener) and fails fast on bad config; Run serves
// until its context ends, then stops in reverse order: the HTTP server stops
// accepting and lets in-flight requests finish, background components stop,
// storage is flushed and closed. A Server is run once.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/penstock/penstock/internal/awsapi"
	"github.com/penstock/penstock/internal/destination"
	"github.com/penstock/penstock/internal/lambda"
	"github.com/penstock/penstock/internal/runtime"
	"github.com/penstock/penstock/internal/storage"
)

// Runner is a component with background work; Run returns when ctx ends.
type Runner interface {
	Run(ctx context.Context) error
}

// Server is a provisioned penstock.
type Server struct {
	cfg     Config
	log     *slog.Logger
	store   *storage.Store
	ln      net.Listener
	front   *front
	http    *http.Server
	runners []Runner
	// lastRunners start with runners but are stopped only once every
	// runner and the HTTP front have stopped: the function runtime, whose
	// environments the mapping engine's draining pollers and in-flight
	// Invoke requests still use while they stop.
	lastRunners []Runner
	runtime     *runtime.Manager // functions runtime (lambda.go)
	lambda      *lambda.Service  // Lambda functions API (lambda.go)
	closers     []func() error

	// destinations delivers on-failure records (destinations.go).
	destinations *destination.Router
}

// New provisions a server: storage, services, listener. The caller must call
// Run (which cleans up) or Close.
func New(ctx context.Context, cfg Config, log *slog.Logger) (s *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s = &Server{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	s.store, err = storage.Open(ctx, storage.Options{
		DataDir:    filepath.Join(cfg.DataDir, "jetstream"),
		NATSURL:    cfg.NATSURL,
		Replicas:   cfg.Replicas,
		Durability: cfg.Durability,
		Logger:     log.With("component", "storage"),
	})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.store.Close)
	s.front = &front{auth: awsapi.AllowAll{}, services: map[string]http.Handler{}}
	if err := s.provisionServices(ctx); err != nil {
		return nil, err
	}
	s.ln, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true) // h2c with prior knowledge: the JS SDK v3
	s.http = &http.Server{
		Handler:           s.front,
		Protocols:         &protocols,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the endpoint to give AWS clients.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Store returns the server's storage (for tests and tools).
func (s *Server) Store() *storage.Store { return s.store }

// Config returns the configuration the server runs with.
func (s *Server) Config() Config { return s.cfg }

// Run serves until ctx ends, then shuts down gracefully: the HTTP front
// finishes its requests and every runner stops (the mapping engine lets
// invocations in flight finish and checkpoints them); the function runtime
// (lastRunners) stops after all of them.
func (s *Server) Run(ctx context.Context) error {
	defer s.Close()
	lctx, stopLast := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLast()
	var last errgroup.Group
	for _, r := range s.lastRunners {
		last.Go(func() error { return r.Run(lctx) })
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, r := range s.runners {
		g.Go(func() error { return r.Run(gctx) })
	}
	g.Go(func() error {
		if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serving http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		s.front.ready.Store(false)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(gctx), 30*time.Second)
		defer cancel()
		return s.http.Shutdown(sctx)
	})
	s.front.ready.Store(true)
	s.log.Info("penstock ready", "url", s.URL(), "embedded", s.store.Embedded())
	err := g.Wait()
	stopLast()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return errors.Join(err, last.Wait())
}

// Close releases everything New acquired, in reverse order.
func (s *Server) Close() error {
	var errs []error
	if s.ln != nil && s.http == nil {
		errs = append(errs, s.ln.Close())
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}
