package kinesis_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/penstock/penstock/internal/penstocktest"
	"github.com/penstock/penstock/internal/server"
	"github.com/penstock/penstock/internal/storage"
)

// clock is an injectable test clock; it starts at the real time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// start runs a server and returns a Kinesis client for it.
// Storage runs with fast durability (no fsync per append) except where a
// test restarts the server: durability is tested there, and the rest of
// the suite stays quick on a shared machine.
func start(t *testing.T, mutate func(*server.Config)) (*kinesis.Client, *server.Server) {
	t.Helper()
	srv := penstocktest.Start(t, func(cfg *server.Config) {
		cfg.Durability = storage.DurabilityFast
		if mutate != nil {
			mutate(cfg)
		}
	})
	return client(srv), srv
}

func client(srv *server.Server) *kinesis.Client {
	return kinesis.NewFromConfig(penstocktest.AWSConfig(srv), func(o *kinesis.Options) {
		o.RetryMaxAttempts = 1
	})
}

// createStream creates a stream with n shards (0 = AWS's default).
func createStream(t *testing.T, c *kinesis.Client, name string, n int32) {
	t.Helper()
	in := &kinesis.CreateStreamInput{StreamName: aws.String(name)}
	if n > 0 {
		in.ShardCount = aws.Int32(n)
	}
	if _, err := c.CreateStream(t.Context(), in); err != nil {
		t.Fatalf("CreateStream %s: %v", name, err)
	}
	waitActive(t, c, name)
}

func waitActive(t *testing.T, c *kinesis.Client, name string) {
	t.Helper()
	penstocktest.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		out, err := c.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err != nil {
			return err
		}
		if out.StreamDescriptionSummary.StreamStatus != types.StreamStatusActive {
			return errors.New("status " + string(out.StreamDescriptionSummary.StreamStatus))
		}
		return nil
	})
}

// apiError asserts err is an AWS error with this code and, if msg is not
// empty, this message.
func apiError(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s error, got %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("want %s, got %s: %s", code, ae.ErrorCode(), ae.ErrorMessage())
	}
	if msg != "" && ae.ErrorMessage() != msg {
		t.Fatalf("message:\n got %q\nwant %q", ae.ErrorMessage(), msg)
	}
}

func shards(t *testing.T, c *kinesis.Client, name string) []types.Shard {
	t.Helper()
	var out []types.Shard
	in := &kinesis.ListShardsInput{StreamName: aws.String(name)}
	for {
		page, err := c.ListShards(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Shards...)
		if page.NextToken == nil {
			break
		}
		in = &kinesis.ListShardsInput{NextToken: page.NextToken}
	}
	return out
}

func iter(t *testing.T, c *kinesis.Client, name, shard string, typ types.ShardIteratorType, seq *string) string {
	t.Helper()
	out, err := c.GetShardIterator(t.Context(), &kinesis.GetShardIteratorInput{
		StreamName: aws.String(name), ShardId: aws.String(shard), ShardIteratorType: typ, StartingSequenceNumber: seq,
	})
	if err != nil {
		t.Fatalf("GetShardIterator: %v", err)
	}
	return *out.ShardIterator
}

// readAll follows a shard from an iterator until it returns no records (or
// the shard ends), collecting data as strings.
func readAll(t *testing.T, c *kinesis.Client, it string) (recs []types.Record, last *kinesis.GetRecordsOutput) {
	t.Helper()
	for range 100 {
		out, err := c.GetRecords(t.Context(), &kinesis.GetRecordsInput{ShardIterator: aws.String(it)})
		if err != nil {
			t.Fatalf("GetRecords: %v", err)
		}
		recs = append(recs, out.Records...)
		last = out
		if out.NextShardIterator == nil || len(out.Records) == 0 {
			return recs, last
		}
		it = *out.NextShardIterator
	}
	t.Fatal("readAll: too many pages")
	return nil, nil
}

func put(t *testing.T, c *kinesis.Client, name, pk, data string) *kinesis.PutRecordOutput {
	t.Helper()
	out, err := c.PutRecord(t.Context(), &kinesis.PutRecordInput{
		StreamName: aws.String(name), PartitionKey: aws.String(pk), Data: []byte(data),
	})
	if err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
	return out
}

var _ = context.Background

var errStillThere = errors.New("still there")

func penstocktestCheck(t *testing.T, f func() error) {
	t.Helper()
	penstocktest.CheckFor(t, 10*time.Second, 5*time.Millisecond, f)
}
