package lambda_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/penstock/penstock/internal/lambda"
	"github.com/penstock/penstock/internal/penstocktest"
	"github.com/penstock/penstock/internal/runtime"
	"github.com/penstock/penstock/internal/storage"
)

// node is the Lambda service on its own (storage, runtime, service,
// httptest server) over a data directory that outlives it.
type node struct {
	env
	stop func()
}

// startNode starts a service on dir; without run, the service's
// background work (activation, Event workers) does not run.
func startNode(t *testing.T, dir string, run bool) *node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := storage.Open(ctx, storage.Options{DataDir: filepath.Join(dir, "js")})
	if err != nil {
		t.Fatal(err)
	}
	rt := runtime.NewManager(runtime.Options{Region: "us-east-1", AccountID: "000000000000", WorkDir: filepath.Join(dir, "rt")})
	svc, err := lambda.New(ctx, lambda.Options{Store: st, Runtime: rt, Region: "us-east-1", AccountID: "000000000000",
		CacheDir: filepath.Join(dir, "code"), AsyncRetryDelays: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = rt.Run(ctx) })
	if run {
		wg.Go(func() { _ = svc.Run(ctx) })
	}
	hs := httptest.NewServer(svc)
	var once sync.Once
	stop := func() {
		once.Do(func() {
			hs.Close()
			cancel()
			wg.Wait()
			st.Close()
		})
	}
	t.Cleanup(stop)
	c := awslambda.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}, func(o *awslambda.Options) { o.RetryMaxAttempts = 1 })
	return &node{env: env{c: c}, stop: stop}
}

func countLines(path, line string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), line+"\n")
}

// An Event invocation whose function fails runs three times in all, as
// AWS's default two retries do.
func TestEventRetries(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, true)
	n.createGo(t, "retried", nil)
	marker := filepath.Join(dir, "attempts")
	out, err := n.c.Invoke(t.Context(), &awslambda.InvokeInput{FunctionName: aws.String("retried"), InvocationType: types.InvocationTypeEvent,
		Payload: []byte(fmt.Sprintf(`{"op":"fail","marker":%q}`, marker))})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("Event invoke: %v", err)
	}
	penstocktest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if n := countLines(marker, "retried"); n != 3 {
			return fmt.Errorf("%d attempts so far", n)
		}
		return nil
	})
}

// Event invocations are queued in JetStream: one accepted while no worker
// runs is run after a restart of storage and service.
func TestEventSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, true)
	n.createGo(t, "durable", nil)
	n.stop()

	n = startNode(t, dir, false) // accepts requests, runs nothing
	marker := filepath.Join(dir, "ran")
	out, err := n.c.Invoke(t.Context(), &awslambda.InvokeInput{FunctionName: aws.String("durable"), InvocationType: types.InvocationTypeEvent,
		Payload: []byte(fmt.Sprintf(`{"op":"fail","marker":%q}`, marker))})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("Event invoke: %v", err)
	}
	n.stop()
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the event ran without workers")
	}

	startNode(t, dir, true)
	penstocktest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if n := countLines(marker, "durable"); n != 3 {
			return fmt.Errorf("%d attempts so far", n)
		}
		return nil
	})
}
