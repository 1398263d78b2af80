package kinesis_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	pk "github.com/penstock/penstock/internal/kinesis"
	"github.com/penstock/penstock/internal/storage"
)

// standalone runs a Service on its own store behind httptest, for the Go
// API and the fuzz targets.
func standalone(t testing.TB) (*pk.Service, *kinesis.Client) {
	t.Helper()
	svc, c, _ := standaloneWith(t, nil)
	return svc, c
}

func standaloneWith(t testing.TB, now func() time.Time) (*pk.Service, *kinesis.Client, *storage.Store) {
	t.Helper()
	st, err := storage.Open(context.Background(), storage.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := pk.New(context.Background(), pk.Options{Store: st, Region: "us-east-1", AccountID: "000000000000", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	hs := httptest.NewServer(svc)
	t.Cleanup(func() {
		hs.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		st.Close()
	})
	c := kinesis.NewFromConfig(aws.Config{
		Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
	}, func(o *kinesis.Options) { o.RetryMaxAttempts = 1 })
	return svc, c, st
}

func TestGoAPI_ShardsAndWatch(t *testing.T) {
	t.Parallel()
	svc, c := standalone(t)
	ctx := t.Context()
	arn := pk.StreamARN("us-east-1", "000000000000", "g")
	if _, err := svc.Shards(ctx, arn); !errors.Is(err, pk.ErrStreamNotFound) {
		t.Fatalf("missing stream: %v", err)
	}
	changes, stop := svc.WatchShards(arn)
	defer stop()
	createStream(t, c, "g", 1)
	waitSignal(t, changes)
	put(t, c, "g", "k", "a")
	last := put(t, c, "g", "k", "b")
	_, lastSeq, err := pk.ParseSequenceNumber(*last.SequenceNumber)
	if err != nil {
		t.Fatal(err)
	}
	drain(changes)
	if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("g"), ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("1000")}); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, changes)
	st, err := svc.Shards(ctx, arn)
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "g" || st.ARN != arn || st.Status != "ACTIVE" || len(st.Shards) != 3 {
		t.Fatalf("stream: %+v", st)
	}
	p := st.Shards[0]
	if p.ID != "shardId-000000000000" || !p.Closed || p.EndSeq != lastSeq || p.LogID == "" {
		t.Fatalf("closed parent: %+v (last seq %d)", p, lastSeq)
	}
	for _, ch := range st.Shards[1:] {
		if ch.Closed || ch.ParentShardID != p.ID || ch.LogID == p.LogID {
			t.Fatalf("child: %+v", ch)
		}
	}
	if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	waitSignal(t, changes)
	if _, err := svc.Shards(ctx, arn); !errors.Is(err, pk.ErrStreamNotFound) {
		t.Fatalf("deleted stream: %v", err)
	}
}

func waitSignal(t *testing.T, c <-chan struct{}) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		t.Fatal("no WatchShards signal")
	}
}

func drain(c <-chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// A closed shard's log is deleted, and the shard leaves the listing, once
// every record in it has expired (closedAt + retention).
func TestClosedShardCleanup(t *testing.T) {
	t.Parallel()
	clk := newClock()
	svc, c, st := standaloneWith(t, clk.Now)
	ctx := t.Context()
	createStream(t, c, "cl", 1)
	put(t, c, "cl", "k", "v")
	if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("cl"), ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("1000")}); err != nil {
		t.Fatal(err)
	}
	arn := pk.StreamARN("us-east-1", "000000000000", "cl")
	before, err := svc.Shards(ctx, arn)
	if err != nil || len(before.Shards) != 3 {
		t.Fatalf("shards: %+v %v", before, err)
	}
	parentLog := before.Shards[0].LogID
	if _, err := st.Info(ctx, parentLog); err != nil {
		t.Fatalf("parent log: %v", err)
	}
	clk.Advance(25 * time.Hour)
	// Any metadata change wakes Run; changing retention is one.
	if _, err := c.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: aws.String("cl"), RetentionPeriodHours: aws.Int32(24)}); err != nil {
		t.Fatal(err)
	}
	penstocktestCheck(t, func() error {
		got := shards(t, c, "cl")
		if len(got) != 2 {
			return fmt.Errorf("%d shards listed", len(got))
		}
		if _, err := st.Info(ctx, parentLog); !errors.Is(err, storage.ErrLogNotFound) {
			return fmt.Errorf("parent log still there: %v", err)
		}
		return nil
	})
}
