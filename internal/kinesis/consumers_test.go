package kinesis_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

const streamPrefix = "arn:aws:kinesis:us-east-1:000000000000:stream/"

func register(t *testing.T, c *kinesis.Client, stream, name string) *types.Consumer {
	t.Helper()
	out, err := c.RegisterStreamConsumer(t.Context(), &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(streamPrefix + stream), ConsumerName: aws.String(name)})
	if err != nil {
		t.Fatalf("RegisterStreamConsumer: %v", err)
	}
	return out.Consumer
}

func TestConsumers(t *testing.T) {
	c, _ := start(t, nil)
	createStream(t, c, "fan", 1)
	ctx := t.Context()
	cons := register(t, c, "fan", "app")
	if !strings.HasPrefix(*cons.ConsumerARN, streamPrefix+"fan/consumer/app:") || cons.ConsumerStatus != types.ConsumerStatusActive {
		t.Fatalf("consumer: %+v", cons)
	}
	register(t, c, "fan", "other")
	_, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(streamPrefix + "fan"), ConsumerName: aws.String("app")})
	apiError(t, err, "ResourceInUseException", "")
	d, err := c.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: cons.ConsumerARN})
	if err != nil || *d.ConsumerDescription.ConsumerName != "app" || *d.ConsumerDescription.StreamARN != streamPrefix+"fan" {
		t.Fatalf("describe by ARN: %v", err)
	}
	if _, err := c.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{StreamARN: aws.String(streamPrefix + "fan"), ConsumerName: aws.String("other")}); err != nil {
		t.Fatalf("describe by name: %v", err)
	}
	l, err := c.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(streamPrefix + "fan"), MaxResults: aws.Int32(1)})
	if err != nil || len(l.Consumers) != 1 || l.NextToken == nil {
		t.Fatalf("list page 1: %v", err)
	}
	l, err = c.ListStreamConsumers(ctx, &kinesis.ListStreamConsumersInput{StreamARN: aws.String(streamPrefix + "fan"), NextToken: l.NextToken})
	if err != nil || len(l.Consumers) != 1 || *l.Consumers[0].ConsumerName != "other" || l.NextToken != nil {
		t.Fatalf("list page 2: %v", err)
	}
	sum, _ := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("fan")})
	if *sum.StreamDescriptionSummary.ConsumerCount != 2 {
		t.Fatalf("ConsumerCount %d", *sum.StreamDescriptionSummary.ConsumerCount)
	}
	_, err = c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("fan")})
	apiError(t, err, "ResourceInUseException", "Stream fan under account 000000000000 has registered consumers.")
	if _, err := c.DeregisterStreamConsumer(ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: cons.ConsumerARN}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeStreamConsumer(ctx, &kinesis.DescribeStreamConsumerInput{ConsumerARN: cons.ConsumerARN})
	apiError(t, err, "ResourceNotFoundException", "")
	if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("fan"), EnforceConsumerDeletion: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
}

// events collects SubscribeToShard events until the stream ends or n
// records arrived.
func events(t *testing.T, stream *kinesis.SubscribeToShardEventStream, wantRecords int) (recs []types.Record, evs []types.SubscribeToShardEvent) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-stream.Events():
			if !ok {
				return recs, evs
			}
			e, isEvent := ev.(*types.SubscribeToShardEventStreamMemberSubscribeToShardEvent)
			if !isEvent {
				t.Fatalf("unexpected event %T", ev)
			}
			evs = append(evs, e.Value)
			recs = append(recs, e.Value.Records...)
			if wantRecords > 0 && len(recs) >= wantRecords {
				return recs, evs
			}
		case <-timeout:
			t.Fatalf("timed out with %d records", len(recs))
		}
	}
}

func TestSubscribeToShard(t *testing.T) {
	c, _ := start(t, nil)
	createStream(t, c, "sub", 1)
	ctx := t.Context()
	cons := register(t, c, "sub", "efo")
	for i := range 3 {
		put(t, c, "sub", "k", fmt.Sprint("r", i))
	}
	out, err := c.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{
		ConsumerARN: cons.ConsumerARN, ShardId: aws.String("shardId-000000000000"),
		StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon},
	})
	if err != nil {
		t.Fatalf("SubscribeToShard: %v", err)
	}
	stream := out.GetStream()
	defer stream.Close()
	recs, evs := events(t, stream, 3)
	if len(recs) != 3 || string(recs[0].Data) != "r0" || string(recs[2].Data) != "r2" {
		t.Fatalf("first records: %d", len(recs))
	}
	if last := evs[len(evs)-1]; *last.ContinuationSequenceNumber != *recs[2].SequenceNumber {
		t.Fatalf("continuation %s, want %s", *last.ContinuationSequenceNumber, *recs[2].SequenceNumber)
	}
	// New records are pushed as they arrive.
	put(t, c, "sub", "k", "live")
	recs, _ = events(t, stream, 1)
	if string(recs[0].Data) != "live" {
		t.Fatalf("pushed record %q", recs[0].Data)
	}
	// A second subscription within 5 s is refused.
	_, err = c.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{
		ConsumerARN: cons.ConsumerARN, ShardId: aws.String("shardId-000000000000"),
		StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest},
	})
	apiError(t, err, "ResourceInUseException", "")
	// Deregistering the consumer ends the subscription with an exception.
	if _, err := c.DeregisterStreamConsumer(ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: cons.ConsumerARN}); err != nil {
		t.Fatal(err)
	}
	events(t, stream, 0)
	if stream.Err() == nil {
		t.Fatal("stream ended without the exception")
	}
}

func TestSubscribeToShard_ClosedShardEnds(t *testing.T) {
	c, _ := start(t, nil)
	createStream(t, c, "cs", 1)
	ctx := t.Context()
	cons := register(t, c, "cs", "efo")
	put(t, c, "cs", "k", "before")
	if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("cs"), ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("1000")}); err != nil {
		t.Fatal(err)
	}
	out, err := c.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{
		ConsumerARN: cons.ConsumerARN, ShardId: aws.String("shardId-000000000000"),
		StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon},
	})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	defer stream.Close()
	recs, evs := events(t, stream, 0)
	if stream.Err() != nil {
		t.Fatalf("stream error: %v", stream.Err())
	}
	last := evs[len(evs)-1]
	if len(recs) != 1 || len(last.ChildShards) != 2 || *last.ChildShards[0].ShardId != "shardId-000000000001" {
		t.Fatalf("closed shard: %d records, last event %+v", len(recs), last)
	}
}
