package esm_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/penstock/penstock/internal/penstocktest"
	"github.com/penstock/penstock/internal/server"
)

// runServer runs a server on dir until the returned stop is called.
func runServer(t *testing.T, dir string) (*server.Server, func()) {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = dir
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	if err := penstocktest.WaitHealthy(ctx, srv.URL(), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server stopped with %v", err)
		}
	}
	t.Cleanup(stop)
	return srv, stop
}

// waitAll waits until the function saw every record at least once.
func waitAll(t *testing.T, out string, records []string) map[string]int {
	t.Helper()
	var s map[string]int
	penstocktest.CheckFor(t, 60*time.Second, 10*time.Millisecond, func() error {
		s = seen(t, out)
		for _, d := range records {
			if s[d] == 0 {
				return fmt.Errorf("%s never delivered", d)
			}
		}
		return nil
	})
	return s
}

// TestE2E_RestartSameDataDir: stop the server, start a new one on the same
// data directory: the mapping resumes from its checkpoint, nothing lost,
// nothing repeated after a graceful stop.
func TestE2E_RestartSameDataDir(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(t.TempDir(), "fn.log")
	srv, stop := runServer(t, dir)
	c := newClients(srv)
	ctx := t.Context()
	arn := c.setup(t, ctx, "s", 2, out)
	if _, err := c.l.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
		EventSourceArn: aws.String(arn), FunctionName: aws.String("fn"), StartingPosition: ltypes.EventSourcePositionTrimHorizon,
	}); err != nil {
		t.Fatal(err)
	}
	first := data("first", 200)
	c.put(t, ctx, "s", first...)
	waitAll(t, out, first)
	stop()
	srv, _ = runServer(t, dir)
	c = newClients(srv)
	second := data("second", 200)
	c.put(t, ctx, "s", second...)
	s := waitAll(t, out, append(first, second...))
	for d, n := range s {
		if n != 1 {
			t.Errorf("%s delivered %d times after a graceful restart", d, n)
		}
	}
}

// runChildServer is the child process of TestE2E_Kill9: a server on dir
// and addr until it is killed.
func runChildServer(dir, addr string) int {
	cfg := server.DefaultConfig()
	cfg.Listen = addr
	cfg.DataDir = dir
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func startChild(t *testing.T, dir, addr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PENSTOCK_ESM_CHILD_DIR="+dir, "PENSTOCK_ESM_CHILD_ADDR="+addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	if err := penstocktest.WaitHealthy(t.Context(), "http://"+addr, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestE2E_Kill9: kill -9 the server process while the mapping is busy,
// start it again on the same data directory: every record put before and
// after the crash reaches the function at least once.
func TestE2E_Kill9(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash test")
	}
	dir := t.TempDir()
	out := filepath.Join(t.TempDir(), "fn.log")
	addr := freeAddr(t)
	child := startChild(t, dir, addr)
	c := clientsAt("http://" + addr)
	ctx := t.Context()
	arn := c.setup(t, ctx, "s", 2, out)
	if _, err := c.l.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
		EventSourceArn: aws.String(arn), FunctionName: aws.String("fn"), StartingPosition: ltypes.EventSourcePositionTrimHorizon,
		BatchSize: aws.Int32(5),
	}); err != nil {
		t.Fatal(err)
	}
	before := data("before", 2000)
	c.put(t, ctx, "s", before...)
	penstocktest.CheckFor(t, 30*time.Second, time.Millisecond, func() error {
		if n := len(seen(t, out)); n == 0 {
			return errors.New("nothing processed yet")
		}
		return nil
	})
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	t.Logf("killed with %d of %d records seen", len(seen(t, out)), len(before))
	startChild(t, dir, addr)
	after := data("after", 200)
	c.put(t, ctx, "s", after...)
	waitAll(t, out, append(before, after...))
}
