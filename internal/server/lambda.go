package server

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/penstock/penstock/internal/awsapi"
	"github.com/penstock/penstock/internal/lambda"
	"github.com/penstock/penstock/internal/runtime"
)

// provisionLambda builds the function runtime and the Lambda functions API:
// the log stream first (the runtime writes to it), then the runtime
// manager, then the service. It mounts the service on the front and
// /_penstock/logs and /_penstock/code on the penstock mux.
func (s *Server) provisionLambda(ctx context.Context) error {
	logs, err := lambda.NewLogs(ctx, s.store, s.log.With("component", "lambda"))
	if err != nil {
		return err
	}
	s.runtime = runtime.NewManager(runtime.Options{
		Logger:          s.log.With("component", "runtime"),
		Region:          s.cfg.Region,
		AccountID:       s.cfg.AccountID,
		WorkDir:         filepath.Join(s.cfg.DataDir, "runtime"),
		MaxEnvironments: s.cfg.MaxEnvironments,
		Logs:            logs,
		SpinWait:        spinWait(s.cfg.InvokeSpin),
	})
	s.lambda, err = lambda.New(ctx, lambda.Options{
		Store:     s.store,
		Runtime:   s.runtime,
		Region:    s.cfg.Region,
		AccountID: s.cfg.AccountID,
		CacheDir:  filepath.Join(s.cfg.DataDir, "functions"),
		Logger:    s.log.With("component", "lambda"),
		Logs:      logs,
	})
	if err != nil {
		return fmt.Errorf("provisioning lambda: %w", err)
	}
	s.front.services[awsapi.Lambda] = s.lambda
	if s.front.penstock == nil {
		s.front.penstock = http.NewServeMux()
	}
	h := s.lambda.PenstockHandler()
	s.front.penstock.Handle("/_penstock/logs/", h)
	s.front.penstock.Handle("/_penstock/code/", h)
	s.runners = append(s.runners, s.lambda)
	s.lastRunners = append(s.lastRunners, s.runtime)
	return nil
}

// Lambda returns the functions service (for the mapping engine and tests).
func (s *Server) Lambda() *lambda.Service { return s.lambda }

// Runtime returns the function runtime manager.
func (s *Server) Runtime() *runtime.Manager { return s.runtime }

// spinWait maps Config.InvokeSpin (0 = off) to runtime.Options.SpinWait
// (0 = default, negative = off).
func spinWait(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}
