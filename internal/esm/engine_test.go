package esm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/penstock/penstock/internal/storage"
)

// calls records what a function saw.
type calls struct {
	mu      sync.Mutex
	batches [][]string // data of each invoke's records
	seqs    [][]string
	sizes   []int
	events  []kinesisEvent
}

func (c *calls) add(ev kinesisEvent) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var d, s []string
	for _, r := range ev.Records {
		d = append(d, string(r.Kinesis.Data))
		s = append(s, r.Kinesis.SequenceNumber)
	}
	c.batches = append(c.batches, d)
	c.seqs = append(c.seqs, s)
	c.sizes = append(c.sizes, ev.size)
	c.events = append(c.events, ev)
	return len(c.batches)
}

func (c *calls) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.batches)
}

func (c *calls) lens() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for _, b := range c.batches {
		out = append(out, len(b))
	}
	return out
}

func (c *calls) records() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, b := range c.batches {
		n += len(b)
	}
	return n
}

func (c *calls) waitRecords(en *env, n int) {
	en.t.Helper()
	en.checkFor(20*time.Second, func() error {
		if got := c.records(); got < n {
			return fmt.Errorf("%d of %d records delivered", got, n)
		}
		return nil
	})
}

func recorder(c *calls, answer func(call int, ev kinesisEvent) (*InvokeResult, error)) handler {
	return func(_ context.Context, ev kinesisEvent) (*InvokeResult, error) {
		n := c.add(ev)
		if answer == nil {
			return ok("")
		}
		return answer(n, ev)
	}
}

func seqData(prefix string) func(int) string {
	return func(i int) string { return fmt.Sprintf("%s%05d", prefix, i) }
}
func constKey(k string) func(int) string { return func(int) string { return k } }

func mappingInput(arn, fn string, pos types.EventSourcePosition) *lambda.CreateEventSourceMappingInput {
	return &lambda.CreateEventSourceMappingInput{EventSourceArn: aws.String(arn), FunctionName: aws.String(fn), StartingPosition: pos}
}

// TestBatchSize: records already in the shard are sent in batches of
// BatchSize, in order; the event has AWS's exact shape.
func TestBatchSize(t *testing.T) {
	en := newEnv(t)
	arn := en.stream("s", 1)
	en.put("s/0", entries(250, constKey("k"), seqData("r"))...)
	var c calls
	en.f.add("f", recorder(&c, nil))
	in := mappingInput(arn, "f", types.EventSourcePositionTrimHorizon)
	in.BatchSize = aws.Int32(100)
	id := en.createMapping(in, 1)
	c.waitRecords(en, 250)
	if got := c.lens(); !slices.Equal(got, []int{100, 100, 50}) {
		t.Errorf("batch sizes = %v, want [100 100 50]", got)
	}
	en.checkFor(5*time.Second, func() error { // the last invoke's counters land after the handler returned
		met := en.e.Metrics(id).Snapshot()
		if met.PolledEventCount != 250 || met.InvokedEventCount != 250 || met.Invocations != 3 || met.Errors != 0 ||
			met.ConcurrentExecutions != 0 || met.IteratorAgeMs < 0 || met.LastProcessingResult != "OK" {
			return fmt.Errorf("metrics = %+v", met)
		}
		return nil
	})
	g, err := en.api.GetEventSourceMapping(en.ctx, &lambda.GetEventSourceMappingInput{UUID: &id})
	if err != nil || *g.LastProcessingResult != "OK" {
		t.Errorf("LastProcessingResult = %v, %v; want OK", g.LastProcessingResult, err)
	}
	var all []string
	for _, b := range c.batches {
		all = append(all, b...)
	}
	for i, d := range all {
		if d != seqData("r")(i) {
			t.Fatalf("record %d = %s, out of order", i, d)
		}
	}
	r := c.events[0].Records[0]
	want := map[string]string{
		"kinesisSchemaVersion": r.Kinesis.KinesisSchemaVersion, "eventSource": r.EventSource, "eventVersion": r.EventVersion,
		"eventName": r.EventName, "invokeIdentityArn": r.InvokeIdentityArn, "awsRegion": r.AwsRegion, "eventSourceARN": r.EventSourceARN,
		"eventID": r.EventID, "partitionKey": r.Kinesis.PartitionKey,
	}
	for k, v := range map[string]string{"kinesisSchemaVersion": "1.0", "eventSource": "aws:kinesis", "eventVersion": "1.0",
		"eventName": "aws:kinesis:record", "invokeIdentityArn": testRole, "awsRegion": testRegion, "eventSourceARN": arn,
		"eventID": "shardId-000000000000:" + r.Kinesis.SequenceNumber, "partitionKey": "k"} {
		if want[k] != v {
			t.Errorf("%s = %q, want %q", k, want[k], v)
		}
	}
	if age := time.Since(time.UnixMilli(int64(r.Kinesis.ApproximateArrivalTimestamp * 1000))); age < 0 || age > time.Minute {
		t.Errorf("approximateArrivalTimestamp %v is %v old", r.Kinesis.ApproximateArrivalTimestamp, age)
	}
}

// TestEventJSONShape compares one encoded record with the recorded AWS event's keys.
func TestEventJSONShape(t *testing.T) {
	es := eventSource{ShardID: "shardId-000000000006", Region: "us-east-2", StreamARN: "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream", Role: "arn:aws:iam::123456789012:role/lambda-role"}
	got := es.encodeRecord("49590338271490256608559692538361571095921575989136588898", "1", []byte("Hello, this is a test."), time.UnixMilli(1545084650987))
	want := `{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"1","sequenceNumber":"49590338271490256608559692538361571095921575989136588898","data":"SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==","approximateArrivalTimestamp":1545084650.987},"eventSource":"aws:kinesis","eventVersion":"1.0","eventID":"shardId-000000000006:49590338271490256608559692538361571095921575989136588898","eventName":"aws:kinesis:record","invokeIdentityArn":"arn:aws:iam::123456789012:role/lambda-role","awsRegion":"us-east-2","eventSourceARN":"arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream"}`
	if string(got) != want {
		t.Errorf("record JSON\n got %s\nwant %s", got, want)
	}
}

// TestBatchingWindow: with a window, records wait until the window (on the
// injected clock) expires unless the batch fills first.
func TestBatchingWindow(t *testing.T) {
	clk := newManualClock(time.Now())
	en := newEnv(t, withClock(clk))
	arn := en.stream("s", 1)
	var c calls
	en.f.add("f", recorder(&c, nil))
	in := mappingInput(arn, "f", types.EventSourcePositionLatest)
	in.BatchSize = aws.Int32(10)
	in.MaximumBatchingWindowInSeconds = aws.Int32(5)
	id := en.createMapping(in, 1)
	en.put("s/0", entries(3, constKey("k"), seqData("a"))...)
	en.checkFor(5*time.Second, func() error {
		if n := en.e.Metrics(id).PolledEventCount.Load(); n != 3 {
			return fmt.Errorf("polled %d", n)
		}
		return nil
	})
	clk.Advance(4 * time.Second)
	if c.n() != 0 {
		t.Fatalf("invoked before the window expired: %v", c.lens())
	}
	clk.Advance(time.Second)
	c.waitRecords(en, 3)
	// A full batch goes at once, window or not.
	en.put("s/0", entries(10, constKey("k"), seqData("b"))...)
	c.waitRecords(en, 13)
	if got := c.lens(); !slices.Equal(got, []int{3, 10}) {
		t.Errorf("batches = %v, want [3 10]", got)
	}
}

// TestPayloadCut: a batch is cut before the record that would push the
// event over 6291456 bytes.
func TestPayloadCut(t *testing.T) {
	en := newEnv(t)
	arn := en.stream("s", 1)
	big := strings.Repeat("x", 1<<20)
	en.put("s/0", entries(10, constKey("k"), func(int) string { return big })...)
	var c calls
	en.f.add("f", recorder(&c, nil))
	en.createMapping(mappingInput(arn, "f", types.EventSourcePositionTrimHorizon), 1)
	c.waitRecords(en, 10)
	if got := c.lens(); !slices.Equal(got, []int{4, 4, 2}) {
		t.Errorf("batches = %v, want [4 4 2]", got)
	}
	for i, s := range c.sizes {
		if s > maxPayload {
			t.Errorf("event %d is %d bytes, over %d", i, s, maxPayload)
		}
	}
	// The cut is tight: one more record would not have fit.
	if one := c.sizes[2] / 2; c.sizes[0]+one <= maxPayload {
		t.Errorf("first event %d bytes + one record %d fits under the limit: cut too early", c.sizes[0], one)
	}
}

// TestParallelization: PF lanes run concurrently and keep per-key order.
func TestParallelization(t *testing.T) {
	en := newEnv(t)
	arn := en.stream("s", 1)
	const keys, per = 20, 100
	var es []storage.Entry
	for i := range per {
		for k := range keys {
			es = append(es, storage.Entry{PartitionKey: fmt.Sprint("key-", k), Data: []byte(fmt.Sprintf("key-%d/%05d", k, i))})
		}
	}
	en.put("s/0", es...)
	var (
		mu       sync.Mutex
		last     = map[string]int{}
		bad      []string
		inFlight atomic.Int32
		peak     atomic.Int32
		gate     = make(chan struct{})
		gateOnce sync.Once
	)
	var c calls
	en.f.add("f", recorder(&c, func(n int, ev kinesisEvent) (*InvokeResult, error) {
		cur := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		if cur >= 3 {
			gateOnce.Do(func() { close(gate) })
		}
		select { // hold the first invokes until several lanes overlap
		case <-gate:
		case <-time.After(2 * time.Second):
		}
		mu.Lock()
		defer mu.Unlock()
		for _, r := range ev.Records {
			var k, i int
			fmt.Sscanf(string(r.Kinesis.Data), "key-%d/%d", &k, &i)
			key := fmt.Sprint(k)
			if prev, ok := last[key]; ok && i != prev+1 {
				bad = append(bad, fmt.Sprintf("key %d: %d after %d", k, i, prev))
			}
			last[key] = i
		}
		return ok("")
	}))
	in := mappingInput(arn, "f", types.EventSourcePositionTrimHorizon)
	in.BatchSize = aws.Int32(10)
	in.ParallelizationFactor = aws.Int32(5)
	id := en.createMapping(in, 1)
	c.waitRecords(en, keys*per)
	if len(bad) > 0 {
		t.Errorf("per-key order broken: %v", bad[:min(5, len(bad))])
	}
	if p := peak.Load(); p < 3 {
		t.Errorf("peak concurrency %d, want ≥ 3 with PF 5", p)
	}
	en.checkFor(5*time.Second, func() error {
		c, _, _ := en.e.ckpts.get(en.ctx, id, "shardId-000000000000")
		if c.Next != keys*per+1 {
			return fmt.Errorf("checkpoint %d, want %d", c.Next, keys*per+1)
		}
		return nil
	})
}

// TestStartingPositions: TRIM_HORIZON, LATEST and AT_TIMESTAMP.
func TestStartingPositions(t *testing.T) {
	en := newEnv(t)
	arn := en.stream("s", 1)
	en.put("s/0", entries(5, constKey("k"), seqData("old"))...)
	res, err := en.store.Read(en.ctx, "s/0", 5, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	cut := res.Records[0].Time.Add(time.Millisecond)
	// Make sure the next records arrive strictly later than cut.
	for time.Now().Before(cut.Add(2 * time.Millisecond)) {
		time.Sleep(time.Millisecond)
	}
	en.put("s/0", entries(3, constKey("k"), seqData("mid"))...)
	tests := []struct {
		fn   string
		pos  types.EventSourcePosition
		ts   *time.Time
		want []string
	}{
		{"trim", types.EventSourcePositionTrimHorizon, nil, []string{"old00000", "old00004", "mid00000", "mid00002", "new00000"}},
		{"latest", types.EventSourcePositionLatest, nil, []string{"new00000"}},
		{"attime", types.EventSourcePositionAtTimestamp, &cut, []string{"mid00000", "mid00002", "new00000"}},
	}
	cs := map[string]*calls{}
	for _, tc := range tests {
		c := &calls{}
		cs[tc.fn] = c
		en.f.add(tc.fn, recorder(c, nil))
		in := mappingInput(arn, tc.fn, tc.pos)
		in.StartingPositionTimestamp = tc.ts
		en.createMapping(in, 1)
	}
	en.put("s/0", entries(1, constKey("k"), seqData("new"))...)
	for _, tc := range tests {
		t.Run(tc.fn, func(t *testing.T) {
			c := cs[tc.fn]
			var got []string
			en.checkFor(10*time.Second, func() error {
				c.mu.Lock()
				got = nil
				for _, b := range c.batches {
					got = append(got, b...)
				}
				c.mu.Unlock()
				if len(got) == 0 || got[len(got)-1] != "new00000" {
					return fmt.Errorf("got %v", got)
				}
				return nil
			})
			if got[0] != tc.want[0] || !slices.Contains(got, tc.want[max(0, len(tc.want)-2)]) || (tc.fn == "latest" && len(got) != 1) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if tc.fn == "attime" && slices.Contains(got, "old00004") {
				t.Errorf("AT_TIMESTAMP delivered a record from before the timestamp: %v", got)
			}
		})
	}
}

// failureRecordOf decodes a delivery's record.
func failureRecordOf(t *testing.T, d Delivery) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(d.Record, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func dig(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}

// TestRetryAttempts: MaximumRetryAttempts N gives N+1 invokes and an
// on-failure record with approximateInvokeCount N+1 and AWS's shape.
func TestRetryAttempts(t *testing.T) {
	for _, n := range []int{0, 1, 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			en := newEnv(t)
			arn := en.stream("s", 1)
			en.put("s/0", entries(5, constKey("k"), seqData("r"))...)
			var c calls
			en.f.add("f", recorder(&c, func(int, kinesisEvent) (*InvokeResult, error) { return fnError() }))
			in := mappingInput(arn, "f", types.EventSourcePositionTrimHorizon)
			in.MaximumRetryAttempts = aws.Int32(int32(n))
			in.DestinationConfig = &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")}}
			id := en.createMapping(in, 1)
			en.checkFor(10*time.Second, func() error {
				if len(en.d.deliveries()) != 1 {
					return fmt.Errorf("%d deliveries", len(en.d.deliveries()))
				}
				return nil
			})
			if c.n() != n+1 {
				t.Errorf("invokes = %d, want %d", c.n(), n+1)
			}
			d := en.d.deliveries()[0]
			r := failureRecordOf(t, d)
			checks := map[string]any{
				"requestContext.condition":              "RetryAttemptsExhausted",
				"requestContext.approximateInvokeCount": float64(n + 1),
				"requestContext.functionArn":            functionARN("f"),
				"responseContext.statusCode":            float64(200),
				"responseContext.executedVersion":       "$LATEST",
				"responseContext.functionError":         "Unhandled",
				"version":                               "1.0",
				"KinesisBatchInfo.shardId":              "shardId-000000000000",
				"KinesisBatchInfo.batchSize":            float64(5),
				"KinesisBatchInfo.streamArn":            arn,
				"KinesisBatchInfo.startSequenceNumber":  c.seqs[0][0],
				"KinesisBatchInfo.endSequenceNumber":    c.seqs[0][4],
			}
			for path, want := range checks {
				if got := dig(r, strings.Split(path, ".")...); got != want {
					t.Errorf("%s = %v, want %v", path, got, want)
				}
			}
			for _, p := range []string{"timestamp", "KinesisBatchInfo.approximateArrivalOfFirstRecord", "KinesisBatchInfo.approximateArrivalOfLastRecord"} {
				s, _ := dig(r, strings.Split(p, ".")...).(string)
				if _, err := time.Parse("2006-01-02T15:04:05.000Z", s); err != nil {
					t.Errorf("%s = %q: %v", p, s, err)
				}
			}
			if id, _ := dig(r, "requestContext", "requestId").(string); len(id) != 36 {
				t.Errorf("requestId = %q", id)
			}
			if d.MappingUUID != id || d.ShardID != "shardId-000000000000" || !strings.HasPrefix(string(d.Payload), `{"Records":[`) {
				t.Errorf("delivery meta = %s %s %.40s", d.MappingUUID, d.ShardID, d.Payload)
			}
			// The shard moved on: the checkpoint is past the given-up records.
			en.checkFor(5*time.Second, func() error {
				ck, _, _ := en.e.ckpts.get(en.ctx, id, "shardId-000000000000")
				if ck.Next != 6 {
					return fmt.Errorf("checkpoint %d", ck.Next)
				}
				return nil
			})
			met := en.e.Metrics(id).Snapshot() // counted before the checkpoint moved
			if met.Errors != int64(n+1) || met.OnFailureDestinationDeliveredEventCount != 5 || met.LastProcessingResult != "PROBLEM: Function call failed" {
				t.Errorf("metrics = %+v", met)
			}
		})
	}
}

// TestDroppedWithoutDestination: records given up without a destination
// are counted as dropped and the shard moves on.
func TestDroppedWithoutDestination(t *testing.T) {
	en := newEnv(t)
	arn := en.stream("s", 1)
	en.put("s/0", entries(3, constKey("k"), seqData("r"))...)
	en.f.add("f", func(context.Context, kinesisEvent) (*InvokeResult, error) { return fnError() })
	in := mappingInput(arn, "f", types.EventSourcePositionTrimHorizon)
	in.MaximumRetryAttempts = aws.Int32(0)
	id := en.createMapping(in, 1)
	en.checkFor(10*time.Second, func() error {
		ck, _, _ := en.e.ckpts.get(en.ctx, id, "shardId-000000000000")
		if ck.Next != 4 {
			return fmt.Errorf("checkpoint %d", ck.Next)
		}
		return nil
	})
	if met := en.e.Metrics(id).Snapshot(); met.DroppedEventCount != 3 || met.FailedInvokeEventCount != 3 || met.OnFailureDestinationDeliveredEventCount != 0 {
		t.Errorf("metrics = %+v", met)
	}
}

// TestDeliveryFailureBlocksShard: an undelivered on-failure record is retried
// and the checkpoint does not move past it.
func TestDeliveryFailureRetried(t *testing.T) {
	en := newEnv(t)
	en.d.fail = 3
	arn := en.stream("s", 1)
	en.put("s/0", entries(2, constKey("k"), seqData("r"))...)
	en.f.add("f", func(context.Context, kinesisEvent) (*InvokeResult, error) { return fnError() })
	in := mappingInput(arn, "f", types.EventSourcePositionTrimHorizon)
	in.MaximumRetryAttempts = aws.Int32(0)
	in.DestinationConfig = &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")}}
	id := en.createMapping(in, 1)
	en.checkFor(10*time.Second, func() error {
		if len(en.d.deliveries()) != 1 {
			return fmt.Errorf("%d deliveries", len(en.d.deliveries()))
		}
		return nil
	})
	if f := en.e.Metrics(id).DestinationDeliveryFailures.Load(); f != 3 {
		t.Errorf("DestinationDeliveryFailures = %d, want 3", f)
	}
}

// TestRecordAge: records older than MaximumRecordAgeInSeconds (on the
// injected clock) are given up before any invoke, without responseContext.
func TestRecordAge(t *testing.T) {
	clk := newManualClock(time.Now())
	en := newEnv(t, withClock(clk))
	arn := en.stream("s", 1)
	en.put("s/0", entries(4, constKey("k"), seqData("r"))...)
	clk.Advance(2 * time.Minute)
	var c calls
	en.f.add("f", recorder(&c, nil))
	in := mappingInput(arn, "f", types.EventSourcePositionTrimHorizon)
	in.MaximumRecordAgeInSeconds = aws.Int32(60)
	in.DestinationConfig = &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")}}
	id := en.createMapping(in, 1)
	en.checkFor(10*time.Second, func() error {
		if len(en.d.deliveries()) != 1 {
			return fmt.Errorf("%d deliveries", len(en.d.deliveries()))
		}
		return nil
	})
	r := failureRecordOf(t, en.d.deliveries()[0])
	if dig(r, "requestContext", "condition") != "RecordAgeExceeded" || dig(r, "requestContext", "approximateInvokeCount") != float64(1) ||
		r["responseContext"] != nil || dig(r, "KinesisBatchInfo", "batchSize") != float64(4) {
		t.Errorf("record = %v", r)
	}
	// Nothing was invoked and the shard moved past the given-up records
	// (the split of an expired head from a fresh tail: TestFateAgeSplitsHead).
	en.checkFor(5*time.Second, func() error {
		ck, _, _ := en.e.ckpts.get(en.ctx, id, "shardId-000000000000")
		if ck.Next != 5 {
			return fmt.Errorf("checkpoint %d", ck.Next)
		}
		return nil
	})
	if c.n() != 0 {
		t.Errorf("invokes = %v, want none", c.lens())
	}
}

// TestBisectPoison: one poison record in a batch of 1000 is isolated and
// given up alone; every other record is processed.
func TestBisectPoison(t *testing.T) {
	en := newEnv(t)
	arn := en.stream("s", 1)
	en.put("s/0", entries(1000, constKey("k"), seqData("r"))...)
	var good atomic.Int64
	var c calls
	en.f.add("f", recorder(&c, func(_ int, ev kinesisEvent) (*InvokeResult, error) {
		for _, r := range ev.Records {
			if string(r.Kinesis.Data) == "r00617" {
				return fnError()
			}
		}
		good.Add(int64(len(ev.Records)))
		return ok("")
	}))
	in := mappingInput(arn, "f", types.EventSourcePositionTrimHorizon)
	in.BatchSize = aws.Int32(1000)
	in.BisectBatchOnFunctionError = aws.Bool(true)
	in.MaximumRetryAttempts = aws.Int32(1)
	in.DestinationConfig = &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")}}
	en.createMapping(in, 1)
	en.checkFor(10*time.Second, func() error {
		if len(en.d.deliveries()) != 1 || good.Load() != 999 {
			return fmt.Errorf("%d deliveries, %d good", len(en.d.deliveries()), good.Load())
		}
		return nil
	})
	r := failureRecordOf(t, en.d.deliveries()[0])
	if dig(r, "KinesisBatchInfo", "batchSize") != float64(1) || dig(r, "requestContext", "approximateInvokeCount") != float64(2) {
		t.Errorf("record = %v", r)
	}
	var poisonSeq string
	for i, b := range c.batches {
		if len(b) == 1 && b[0] == "r00617" {
			poisonSeq = c.seqs[i][0]
		}
	}
	if dig(r, "KinesisBatchInfo", "startSequenceNumber") != poisonSeq {
		t.Errorf("record names %v, poison is %s", dig(r, "KinesisBatchInfo", "startSequenceNumber"), poisonSeq)
	}
	if c.batches[0] == nil || len(c.batches[0]) != 1000 {
		t.Errorf("first invoke had %d records, want the whole batch of 1000", len(c.batches[0]))
	}
}

var _ = base64.StdEncoding

// TestBacklogFullBatches: a backlog is sent in full batches even with
// window 0, although the shard is read 1,000 records at a time.
func TestBacklogFullBatches(t *testing.T) {
	en := newEnv(t)
	arn := en.stream("s", 1)
	en.put("s/0", entries(5000, constKey("k"), seqData("r"))...)
	var c calls
	en.f.add("f", recorder(&c, nil))
	in := mappingInput(arn, "f", types.EventSourcePositionTrimHorizon)
	in.BatchSize = aws.Int32(2000)
	en.createMapping(in, 1)
	c.waitRecords(en, 5000)
	if got := c.lens(); !slices.Equal(got, []int{2000, 2000, 1000}) {
		t.Errorf("batches = %v, want [2000 2000 1000]", got)
	}
}
