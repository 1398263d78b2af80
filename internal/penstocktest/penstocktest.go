// Package penstocktest starts a whole penstock server in process for tests:
// embedded JetStream in t.TempDir(), a random loopback port, and AWS SDK
// clients pointed at it.
package penstocktest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/penstock/penstock/internal/server"
)

// Start provisions and runs a server until the test ends. mutate may adjust
// the configuration (nil for the defaults).
func Start(t testing.TB, mutate func(*server.Config)) *server.Server {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	if mutate != nil {
		mutate(&cfg)
	}
	return StartConfig(t, cfg)
}

// StartConfig runs a server with exactly this configuration.
func StartConfig(t testing.TB, cfg server.Config) *server.Server {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("PENSTOCK_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("starting penstock: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("penstock stopped with: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Errorf("penstock did not stop within 60s")
		}
	})
	if err := WaitHealthy(ctx, srv.URL(), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return srv
}

// WaitHealthy polls /healthz until it answers 200.
func WaitHealthy(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if healthy(ctx, url) {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("penstock at %s not healthy after %s", url, timeout)
}

// AWSConfig is an aws.Config with static test credentials for the server.
func AWSConfig(srv *server.Server) aws.Config {
	return aws.Config{
		Region:       srv.Config().Region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDPENSTOCKTEST", "secret", ""),
		BaseEndpoint: aws.String(srv.URL()),
	}
}

// CheckFor calls f every interval until it returns nil or timeout passes.
func CheckFor(t testing.TB, timeout, interval time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = f(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %s: %v", timeout, err)
		}
		time.Sleep(interval)
	}
}
