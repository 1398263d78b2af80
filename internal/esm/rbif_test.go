package esm

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// TestReportBatchItemFailures runs every recorded response case of
// spec/esm.md §5.4 through the engine: success cases invoke once; failure
// cases are retried as a whole (MaximumRetryAttempts 2 → 3 invokes) and end
// in an on-failure record whose responseContext.functionError is null.
func TestReportBatchItemFailures(t *testing.T) {
	tests := []struct {
		name, body string
		fail       bool
	}{
		{"null_success", `null`, false},
		{"empty_string_success", `""`, false},
		{"empty_list_success", `[]`, false},
		{"empty_dict_success", `{}`, false},
		{"empty_batch_item_failure_success", `{"batchItemFailures":[]}`, false},
		{"null_batch_item_failure_success", `{"batchItemFailures":null}`, false},
		{"empty_string_item_identifier_failure", `{"batchItemFailures":[{"itemIdentifier":""}]}`, true},
		{"null_item_identifier_failure", `{"batchItemFailures":[{"itemIdentifier":null}]}`, true},
		{"invalid_key_foo_failure", `{"batchItemFailures":[{"foo":123}]}`, true},
		{"invalid_key_foo_null_value_failure", `{"batchItemFailures":[{"foo":null}]}`, true},
		{"item_identifier_not_present_failure", `{"batchItemFailures":[{"itemIdentifier":"123"}]}`, true},
	}
	en := newEnv(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			arn := en.stream(tc.name, 1)
			en.put(tc.name+"/0", entries(3, constKey("k"), seqData("r"))...)
			var c calls
			en.f.add(tc.name, recorder(&c, func(int, kinesisEvent) (*InvokeResult, error) { return ok(tc.body) }))
			in := mappingInput(arn, tc.name, types.EventSourcePositionTrimHorizon)
			in.MaximumRetryAttempts = aws.Int32(2)
			in.FunctionResponseTypes = []types.FunctionResponseType{types.FunctionResponseTypeReportBatchItemFailures}
			in.DestinationConfig = &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String("arn:aws:sqs:us-east-1:000000000000:" + tc.name)}}
			id := en.createMapping(in, 1)
			en.checkFor(10*time.Second, func() error {
				ck, _, _ := en.e.ckpts.get(en.ctx, id, "shardId-000000000000")
				if ck.Next != 4 {
					return fmt.Errorf("checkpoint %d", ck.Next)
				}
				return nil
			})
			var mine []Delivery
			for _, d := range en.d.deliveries() {
				if d.MappingUUID == id {
					mine = append(mine, d)
				}
			}
			if !tc.fail {
				if c.n() != 1 || len(mine) != 0 {
					t.Errorf("invokes %d, deliveries %d; want 1 and 0", c.n(), len(mine))
				}
				return
			}
			if c.n() != 3 || len(mine) != 1 {
				t.Fatalf("invokes %d, deliveries %d; want 3 and 1", c.n(), len(mine))
			}
			r := failureRecordOf(t, mine[0])
			rc, _ := r["responseContext"].(map[string]any)
			if fe, present := rc["functionError"]; !present || fe != nil || dig(r, "KinesisBatchInfo", "batchSize") != float64(3) {
				t.Errorf("record = %v", r)
			}
		})
	}
}

// TestPartialFailureRecorded is the recorded partial-failure run: BatchSize
// 3, six records, only the 6th reported, MaximumRetryAttempts 3: records
// 1–5 once, the 6th five times (once in its batch, then four times alone),
// an on-failure record with batchSize 1 and approximateInvokeCount 4.
func TestPartialFailureRecorded(t *testing.T) {
	en := newEnv(t)
	arn := en.stream("s", 1)
	en.put("s/0", entries(6, constKey("k"), seqData("r"))...)
	var c calls
	en.f.add("f", recorder(&c, func(_ int, ev kinesisEvent) (*InvokeResult, error) {
		for _, r := range ev.Records {
			if string(r.Kinesis.Data) == "r00005" {
				return ok(`{"batchItemFailures":[{"itemIdentifier":"` + r.Kinesis.SequenceNumber + `"}]}`)
			}
		}
		return ok(`{"batchItemFailures":[]}`)
	}))
	in := mappingInput(arn, "f", types.EventSourcePositionTrimHorizon)
	in.BatchSize = aws.Int32(3)
	in.MaximumRetryAttempts = aws.Int32(3)
	in.FunctionResponseTypes = []types.FunctionResponseType{types.FunctionResponseTypeReportBatchItemFailures}
	in.DestinationConfig = &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")}}
	en.createMapping(in, 1)
	en.checkFor(10*time.Second, func() error {
		if len(en.d.deliveries()) != 1 {
			return fmt.Errorf("%d deliveries", len(en.d.deliveries()))
		}
		return nil
	})
	count := map[string]int{}
	for _, b := range c.batches {
		for _, d := range b {
			count[d]++
		}
	}
	for i := range 5 {
		if n := count[seqData("r")(i)]; n != 1 {
			t.Errorf("record %d delivered %d times, want 1", i+1, n)
		}
	}
	if n := count["r00005"]; n != 5 {
		t.Errorf("6th record delivered %d times, want 5", n)
	}
	r := failureRecordOf(t, en.d.deliveries()[0])
	if dig(r, "KinesisBatchInfo", "batchSize") != float64(1) || dig(r, "requestContext", "approximateInvokeCount") != float64(4) {
		t.Errorf("record = %v", r)
	}
}

// TestThrottlesSpendNoAttempts: throttled invokes are retried without
// spending MaximumRetryAttempts.
func TestThrottlesSpendNoAttempts(t *testing.T) {
	en := newEnv(t)
	arn := en.stream("s", 1)
	en.put("s/0", entries(2, constKey("k"), seqData("r"))...)
	var c calls
	throttled := 0
	en.f.add("f", func(ctx context.Context, ev kinesisEvent) (*InvokeResult, error) {
		if throttled < 4 {
			throttled++
			return nil, ErrThrottled
		}
		c.add(ev)
		return fnError()
	})
	in := mappingInput(arn, "f", types.EventSourcePositionTrimHorizon)
	in.MaximumRetryAttempts = aws.Int32(1)
	in.DestinationConfig = &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")}}
	id := en.createMapping(in, 1)
	en.checkFor(10*time.Second, func() error {
		if len(en.d.deliveries()) != 1 {
			return fmt.Errorf("%d deliveries", len(en.d.deliveries()))
		}
		return nil
	})
	met := en.e.Metrics(id).Snapshot()
	if c.n() != 2 || met.Throttles != 4 || met.Invocations != 2 {
		t.Errorf("function ran %d times, metrics %+v; want 2 runs after 4 throttles", c.n(), met)
	}
}

// TestUpdateAndDisable: an update reaches the running pollers at once;
// disabling keeps the checkpoint and re-enabling resumes from it.
func TestUpdateAndDisable(t *testing.T) {
	en := newEnv(t)
	arn := en.stream("s", 1)
	var c calls
	en.f.add("f", recorder(&c, nil))
	in := mappingInput(arn, "f", types.EventSourcePositionTrimHorizon)
	in.BatchSize = aws.Int32(100)
	id := en.createMapping(in, 1)
	en.put("s/0", entries(10, constKey("k"), seqData("a"))...)
	c.waitRecords(en, 10)
	if _, err := en.api.UpdateEventSourceMapping(en.ctx, &lambda.UpdateEventSourceMappingInput{UUID: &id, Enabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	en.checkFor(5*time.Second, func() error {
		g, _ := en.api.GetEventSourceMapping(en.ctx, &lambda.GetEventSourceMappingInput{UUID: &id})
		if *g.State != "Disabled" {
			return fmt.Errorf("state %s", *g.State)
		}
		return nil
	})
	en.put("s/0", entries(20, constKey("k"), seqData("b"))...)
	if _, err := en.api.UpdateEventSourceMapping(en.ctx, &lambda.UpdateEventSourceMappingInput{UUID: &id, Enabled: aws.Bool(true), BatchSize: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	c.waitRecords(en, 30)
	lens := c.lens()
	if got := lens[len(lens)-3:]; !slices.Equal(got, []int{7, 7, 6}) {
		t.Errorf("batches after re-enable with BatchSize 7 = %v, want [7 7 6]", lens)
	}
	if c.records() != 30 {
		t.Errorf("%d records delivered, want 30 (none repeated, none lost)", c.records())
	}
}
