package lambda_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
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

// TestEventRetries runs the service on its own (storage, runtime, service,
// httptest server) with short retry delays: an Event invocation whose
// function fails runs three times in all, as AWS's default two retries do.
func TestEventRetries(t *testing.T) {
	dir := t.TempDir()
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
	done := make(chan struct{}, 2)
	go func() { _ = rt.Run(ctx); done <- struct{}{} }()
	go func() { _ = svc.Run(ctx); done <- struct{}{} }()
	hs := httptest.NewServer(svc)
	t.Cleanup(func() {
		hs.Close()
		cancel()
		<-done
		<-done
		st.Close()
	})
	c := awslambda.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")})
	e := env{c: c}
	e.createGo(t, "retried", nil)

	marker := filepath.Join(dir, "attempts")
	out, err := c.Invoke(t.Context(), &awslambda.InvokeInput{FunctionName: aws.String("retried"), InvocationType: types.InvocationTypeEvent,
		Payload: []byte(fmt.Sprintf(`{"op":"fail","marker":%q}`, marker))})
	if err != nil || out.StatusCode != 202 {
		t.Fatalf("Event invoke: %v", err)
	}
	penstocktest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		b, _ := os.ReadFile(marker)
		if n := strings.Count(string(b), "retried\n"); n != 3 {
			return fmt.Errorf("%d attempts so far", n)
		}
		return nil
	})
}
