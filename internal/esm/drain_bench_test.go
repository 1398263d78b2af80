package esm

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// BenchmarkDrain measures the engine alone: storage reads, lanes, event
// encoding and checkpoints, with an in-process no-op handler instead of a
// function process. 4 shards pre-filled with 50,000 records each.
//
//	go test ./internal/esm -run '^$' -bench Drain -benchtime 1x
func BenchmarkDrain(b *testing.B) {
	for _, size := range []int{1, 100, 10000} {
		b.Run(fmt.Sprint("batch=", size), func(b *testing.B) {
			shards, per := 4, 50000
			if size == 1 {
				per = 5000
			}
			for b.Loop() {
				b.StopTimer()
				var n atomic.Int64
				en := newEnv(b, func(o *Options) { o.Functions = countFunctions{&n} })
				arn := en.stream("s", shards)
				for sh := range shards {
					for i := 0; i < per; i += 1000 {
						en.put(fmt.Sprint("s/", sh), entries(1000, func(j int) string { return fmt.Sprint(i + j) }, func(int) string { return "0123456789abcdef" })...)
					}
				}
				in := mappingInput(arn, "f", types.EventSourcePositionTrimHorizon)
				in.BatchSize = aws.Int32(int32(size))
				b.StartTimer()
				start := time.Now()
				if _, err := en.api.CreateEventSourceMapping(en.ctx, in); err != nil {
					b.Fatal(err)
				}
				en.checkFor(5*time.Minute, func() error {
					if n.Load() < int64(shards*per) {
						return fmt.Errorf("%d records", n.Load())
					}
					return nil
				})
				b.ReportMetric(float64(shards*per)/time.Since(start).Seconds(), "records/s")
				b.StopTimer()
				en.stopEngine()
				b.StartTimer()
			}
		})
	}
}

// countFunctions is a no-op function that counts the records it gets
// without decoding the event.
type countFunctions struct{ n *atomic.Int64 }

func (c countFunctions) Function(_ context.Context, name string) (FunctionInfo, error) {
	return FunctionInfo{Name: name, ARN: functionARN(name), Role: testRole}, nil
}

func (c countFunctions) Invoke(_ context.Context, _ string, payload []byte) (*InvokeResult, error) {
	c.n.Add(int64(bytes.Count(payload, []byte(`"eventID"`))))
	return &InvokeResult{}, nil
}
