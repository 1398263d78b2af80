package kinesis_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/fxamacker/cbor/v2"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/penstock/penstock/internal/server"
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
	t.Parallel()
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
	t.Parallel()
	c, srv := start(t, nil)
	createStream(t, c, "sub", 1)
	ctx := t.Context()
	cons := register(t, c, "sub", "efo")
	for i := range 3 {
		put(t, c, "sub", "k", fmt.Sprint("r", i))
	}
	// Read with plain HTTP and our own decoder, to see every message; the
	// Go SDK reads in TestSubscribeToShard_GoSDK.
	next := rawSubscribe(t, srv, *cons.ConsumerARN, "TRIM_HORIZON")
	type event struct {
		Records []struct {
			Data           []byte
			SequenceNumber string
		}
		ContinuationSequenceNumber string
		MillisBehindLatest         *int64
	}
	read := func() event {
		t.Helper()
		kind, payload := next()
		var ev event
		if err := json.Unmarshal(payload, &ev); err != nil || kind != "SubscribeToShardEvent" || ev.MillisBehindLatest == nil {
			t.Fatalf("got %s %s", kind, payload)
		}
		return ev
	}
	if kind, _ := next(); kind != "initial-response" {
		t.Fatalf("first message %s", kind)
	}
	ev := read()
	if len(ev.Records) != 3 || string(ev.Records[0].Data) != "r0" || string(ev.Records[2].Data) != "r2" {
		t.Fatalf("first event: %+v", ev)
	}
	if ev.ContinuationSequenceNumber != ev.Records[2].SequenceNumber {
		t.Fatalf("continuation %s, want %s", ev.ContinuationSequenceNumber, ev.Records[2].SequenceNumber)
	}
	// New records are pushed as they arrive.
	put(t, c, "sub", "k", "live")
	if ev = read(); len(ev.Records) != 1 || string(ev.Records[0].Data) != "live" {
		t.Fatalf("pushed: %+v", ev)
	}
	// A second subscription within 5 s is refused (through the SDK).
	_, err := c.SubscribeToShard(ctx, &kinesis.SubscribeToShardInput{
		ConsumerARN: cons.ConsumerARN, ShardId: aws.String("shardId-000000000000"),
		StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeLatest},
	})
	apiError(t, err, "ResourceInUseException", "")
	// Deregistering the consumer ends the subscription with an exception.
	if _, err := c.DeregisterStreamConsumer(ctx, &kinesis.DeregisterStreamConsumerInput{ConsumerARN: cons.ConsumerARN}); err != nil {
		t.Fatal(err)
	}
	if kind, payload := next(); kind != "exception:ResourceNotFoundException" {
		t.Fatalf("after deregistration: %s %s", kind, payload)
	}
}

// A live subscription through aws-sdk-go-v2: records already there, then
// records pushed as they arrive. (Before SubscribeToShard answered
// subscribeAnswerDelay late, this failed now and then: smithy-go closes the
// request body as soon as the response arrives, racing net/http's last read
// of it, and the transport then closed the connection under the stream.)
func TestSubscribeToShard_GoSDK(t *testing.T) {
	t.Parallel()
	c, srv := start(t, nil)
	createStream(t, c, "sdk", 1)
	cons := register(t, c, "sdk", "efo")
	put(t, c, "sdk", "k", "a")
	out, err := client(srv).SubscribeToShard(t.Context(), &kinesis.SubscribeToShardInput{
		ConsumerARN: cons.ConsumerARN, ShardId: aws.String("shardId-000000000000"),
		StartingPosition: &types.StartingPosition{Type: types.ShardIteratorTypeTrimHorizon},
	})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	defer stream.Close()
	if recs, _ := events(t, stream, 1); len(recs) != 1 || string(recs[0].Data) != "a" {
		t.Fatalf("first: %d records (stream error %v)", len(recs), stream.Err())
	}
	put(t, c, "sdk", "k", "b")
	recs, _ := events(t, stream, 1)
	if len(recs) != 1 || string(recs[0].Data) != "b" {
		t.Fatalf("pushed: %d records (stream error %v)", len(recs), stream.Err())
	}
}

func TestSubscribeToShard_ClosedShardEnds(t *testing.T) {
	t.Parallel()
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

// rawSubscribe opens a JSON SubscribeToShard with plain HTTP and returns
// a function that reads the next message (its :event-type or
// :exception-type, and payload).
func rawSubscribe(t *testing.T, srv *server.Server, consumerARN, typ string) func() (kind string, payload []byte) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"ConsumerARN": consumerARN, "ShardId": "shardId-000000000000", "StartingPosition": map[string]any{"Type": typ}})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL()+"/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "Kinesis_20131202.SubscribeToShard")
	req.Header.Set("Content-Type", ctJSON)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("SubscribeToShard: %d %s", resp.StatusCode, b)
	}
	dec := eventstream.NewDecoder()
	return func() (string, []byte) {
		t.Helper()
		msg, err := dec.Decode(resp.Body, nil)
		if err != nil {
			t.Fatalf("reading event stream: %v", err)
		}
		if h := msg.Headers.Get(":exception-type"); h != nil {
			return "exception:" + h.String(), msg.Payload
		}
		return msg.Headers.Get(":event-type").String(), msg.Payload
	}
}

// After 5 s a new subscription takes over; the old one ends with a
// ResourceInUseException event (service clock injected). Plain HTTP: the
// Go SDK shares one event-stream decoder per client, so two live streams
// in one test process are not safe through it.
func TestSubscribeToShard_Takeover(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c, srv := start(t, func(cfg *server.Config) { cfg.Now = clk.Now })
	createStream(t, c, "to", 1)
	cons := register(t, c, "to", "efo")
	first := rawSubscribe(t, srv, *cons.ConsumerARN, "LATEST")
	for _, want := range []string{"initial-response", "SubscribeToShardEvent"} {
		if kind, _ := first(); kind != want {
			t.Fatalf("first: %s, want %s", kind, want)
		}
	}
	clk.Advance(6 * time.Second)
	second := rawSubscribe(t, srv, *cons.ConsumerARN, "LATEST")
	if kind, payload := first(); kind != "exception:ResourceInUseException" {
		t.Fatalf("first ended with %s %s", kind, payload)
	}
	for _, want := range []string{"initial-response", "SubscribeToShardEvent"} {
		if kind, _ := second(); kind != want {
			t.Fatalf("second: %s, want %s", kind, want)
		}
	}
	put(t, c, "to", "k", "x")
	kind, payload := second()
	var ev struct{ Records []struct{ Data []byte } }
	if err := json.Unmarshal(payload, &ev); err != nil || kind != "SubscribeToShardEvent" || len(ev.Records) != 1 || string(ev.Records[0].Data) != "x" {
		t.Fatalf("second got %s %s", kind, payload)
	}
}

// SubscribeToShard in CBOR over HTTP/2 (Java SDK / KCL): event payloads
// are CBOR.
func TestSubscribeToShard_CBOR(t *testing.T) {
	t.Parallel()
	c, srv := start(t, nil)
	createStream(t, c, "cb", 1)
	cons := register(t, c, "cb", "efo")
	put(t, c, "cb", "k", "cbor-data")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	body, _ := cbor.Marshal(map[string]any{"ConsumerARN": *cons.ConsumerARN, "ShardId": "shardId-000000000000", "StartingPosition": map[string]any{"Type": "TRIM_HORIZON"}})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL()+"/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "Kinesis_20131202.SubscribeToShard")
	req.Header.Set("Content-Type", ctCBOR)
	// Over h2c with prior knowledge, as the JS SDK v3 (and Java's async
	// client) talk HTTP/2.
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: &http.Transport{Protocols: &protocols}}
	defer h2c.CloseIdleConnections()
	resp, err := h2c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("protocol %s, want HTTP/2", resp.Proto)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.amazon.eventstream" {
		t.Fatalf("status %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	dec := eventstream.NewDecoder()
	var kinds []string
	for len(kinds) < 2 {
		msg, err := dec.Decode(resp.Body, nil)
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, msg.Headers.Get(":event-type").String())
		if len(kinds) == 2 {
			var ev struct {
				Records []struct {
					Data         []byte
					PartitionKey string
				}
				ContinuationSequenceNumber string
			}
			if err := cbor.Unmarshal(msg.Payload, &ev); err != nil {
				t.Fatalf("event payload is not CBOR: %v", err)
			}
			if len(ev.Records) != 1 || string(ev.Records[0].Data) != "cbor-data" || len(ev.ContinuationSequenceNumber) != 56 {
				t.Fatalf("event: %+v", ev)
			}
		}
	}
	if kinds[0] != "initial-response" || kinds[1] != "SubscribeToShardEvent" {
		t.Fatalf("event types %v", kinds)
	}
}

func TestConsumerTags(t *testing.T) {
	t.Parallel()
	c, _ := start(t, nil)
	createStream(t, c, "ct", 1)
	ctx := t.Context()
	out, err := c.RegisterStreamConsumer(ctx, &kinesis.RegisterStreamConsumerInput{StreamARN: aws.String(streamPrefix + "ct"), ConsumerName: aws.String("tagged"), Tags: map[string]string{"a": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	arn := out.Consumer.ConsumerARN
	if _, err := c.TagResource(ctx, &kinesis.TagResourceInput{ResourceARN: arn, Tags: map[string]string{"b": "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &kinesis.UntagResourceInput{ResourceARN: arn, TagKeys: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	l, err := c.ListTagsForResource(ctx, &kinesis.ListTagsForResourceInput{ResourceARN: arn})
	if err != nil || len(l.Tags) != 1 || *l.Tags[0].Key != "b" {
		t.Fatalf("consumer tags: %+v %v", l, err)
	}
	// The stream's own tags are separate.
	l, err = c.ListTagsForResource(ctx, &kinesis.ListTagsForResourceInput{ResourceARN: aws.String(streamPrefix + "ct")})
	if err != nil || len(l.Tags) != 0 {
		t.Fatalf("stream tags: %+v %v", l, err)
	}
}
