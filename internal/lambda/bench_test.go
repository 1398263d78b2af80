package lambda_test

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/penstock/penstock/internal/runtime"
)

// BenchmarkWarmInvoke measures warm invocations of the three example
// functions (examples/functions) through the HTTP Invoke API with
// aws-sdk-go-v2, and through the in-process Invoke the mapping engine uses.
// It reports the median latency as p50-µs beside Go's mean ns/op.
//
//	go test ./internal/lambda -run '^$' -bench WarmInvoke -benchtime 2000x
func BenchmarkWarmInvoke(b *testing.B) {
	e := start(b)
	fns := []struct {
		name string
		in   *awslambda.CreateFunctionInput
	}{
		{"go", &awslambda.CreateFunctionInput{Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
			Code: &types.FunctionCode{ZipFile: makeZip(b, file{"bootstrap", 0o755, goExampleBootstrap})}}},
		{"node", &awslambda.CreateFunctionInput{Runtime: types.RuntimeNodejs20x, Handler: aws.String("index.handler"),
			Code: &types.FunctionCode{ZipFile: makeZip(b, file{"index.js", 0o644, readFile(b, "../../examples/functions/node/index.js")})}}},
		{"python", &awslambda.CreateFunctionInput{Runtime: types.RuntimePython312, Handler: aws.String("app.handler"),
			Code: &types.FunctionCode{ZipFile: makeZip(b, file{"app.py", 0o644, readFile(b, "../../examples/functions/python/app.py")})}}},
	}
	payload := []byte(`{"name":"bench"}`)
	for _, fn := range fns {
		fn.in.FunctionName = aws.String("bench-" + fn.name)
		e.create(b, fn.in)
		// Warm it up once.
		if out, err := e.c.Invoke(b.Context(), &awslambda.InvokeInput{FunctionName: fn.in.FunctionName, Payload: payload}); err != nil || out.FunctionError != nil {
			b.Fatalf("warm-up of %s: %v", fn.name, err)
		}
		b.Run(fn.name+"/http", func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t0 := time.Now()
				out, err := e.c.Invoke(b.Context(), &awslambda.InvokeInput{FunctionName: fn.in.FunctionName, Payload: payload})
				if err != nil || out.FunctionError != nil {
					b.Fatalf("invoke: %v", err)
				}
				lat = append(lat, time.Since(t0))
			}
			reportMedian(b, lat)
		})
		b.Run(fn.name+"/inprocess", func(b *testing.B) {
			svc := e.srv.Lambda()
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t0 := time.Now()
				res, err := svc.Invoke(b.Context(), *fn.in.FunctionName, payload, runtime.InvokeOptions{})
				if err != nil || res.FunctionError != "" {
					b.Fatalf("invoke: %v", err)
				}
				lat = append(lat, time.Since(t0))
			}
			reportMedian(b, lat)
		})
	}
}

func reportMedian(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
