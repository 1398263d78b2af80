package kinesis_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/penstock/penstock/internal/penstocktest"
	"github.com/penstock/penstock/internal/server"
)

func TestRetention_DecreaseDropsOldRecords(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c, _ := start(t, func(cfg *server.Config) { cfg.Now = clk.Now })
	createStream(t, c, "ret", 1)
	ctx := t.Context()
	if _, err := c.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: aws.String("ret"), RetentionPeriodHours: aws.Int32(48)}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		put(t, c, "ret", "k", fmt.Sprint("old", i))
	}
	// Records carry JetStream's real arrival time; move the service clock
	// 30 hours past them (records written from now on would look 30 hours
	// old too, so the test writes none).
	clk.Advance(30 * time.Hour)
	oldIt := iter(t, c, "ret", "shardId-000000000000", types.ShardIteratorTypeTrimHorizon, nil)
	count := func() []string {
		recs, _ := readAll(t, c, iter(t, c, "ret", "shardId-000000000000", types.ShardIteratorTypeTrimHorizon, nil))
		var out []string
		for _, r := range recs {
			out = append(out, string(r.Data))
		}
		return out
	}
	if got := count(); len(got) != 3 {
		t.Fatalf("with 48 h retention: %v", got)
	}
	d, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("ret")})
	if err != nil || *d.StreamDescriptionSummary.RetentionPeriodHours != 48 {
		t.Fatalf("retention: %v %v", d, err)
	}
	if _, err := c.DecreaseStreamRetentionPeriod(ctx, &kinesis.DecreaseStreamRetentionPeriodInput{StreamName: aws.String("ret"), RetentionPeriodHours: aws.Int32(24)}); err != nil {
		t.Fatal(err)
	}
	// The records older than 24 h are gone, for new iterators and for an
	// iterator that pointed at them.
	if got := count(); len(got) != 0 {
		t.Fatalf("after decrease to 24 h: %v", got)
	}
	recs, _ := readAll(t, c, oldIt)
	if len(recs) != 0 {
		t.Fatalf("old iterator after decrease: %d records", len(recs))
	}
}

// runServer runs a server until stop is called.
func runServer(t *testing.T, cfg server.Config) (srv *server.Server, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	if err := penstocktest.WaitHealthy(ctx, srv.URL(), 30*time.Second); err != nil {
		cancel()
		t.Fatal(err)
	}
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server stopped with %v", err)
		}
	}
	t.Cleanup(stop)
	return srv, stop
}

func TestRestart_Durability(t *testing.T) {
	t.Parallel()
	cfg := server.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	srv, stop := runServer(t, cfg)
	c := client(srv)
	createStream(t, c, "keep", 2)
	createStream(t, c, "gone", 1)
	ctx := t.Context()
	var entries []types.PutRecordsRequestEntry
	for i := range 100 {
		entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint(i)), Data: []byte(fmt.Sprint(i))})
	}
	out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("keep"), Records: entries})
	if err != nil || *out.FailedRecordCount != 0 {
		t.Fatalf("PutRecords: %v", err)
	}
	if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("keep"), ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("1000")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}
	it := iter(t, c, "keep", "shardId-000000000001", types.ShardIteratorTypeTrimHorizon, nil)
	stop()

	srv2, _ := runServer(t, cfg)
	c2 := client(srv2)
	all := shards(t, c2, "keep")
	if len(all) != 4 || all[0].SequenceNumberRange.EndingSequenceNumber == nil {
		t.Fatalf("shards after restart: %v", ids(all))
	}
	total := 0
	for _, sh := range all {
		recs, _ := readAll(t, c2, iter(t, c2, "keep", *sh.ShardId, types.ShardIteratorTypeTrimHorizon, nil))
		total += len(recs)
	}
	if total != 100 {
		t.Fatalf("%d records after restart, want 100", total)
	}
	// Iterators issued before the restart stay valid (the key is in KV).
	if _, err := c2.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it)}); err != nil {
		t.Fatalf("old iterator after restart: %v", err)
	}
	names, err := c2.ListStreams(ctx, &kinesis.ListStreamsInput{})
	if err != nil || len(names.StreamNames) != 1 || names.StreamNames[0] != "keep" {
		t.Fatalf("streams after restart: %v %v", names.StreamNames, err)
	}
	// The shard counter continues: the next split makes shardId-000000000004.
	if _, err := c2.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("keep"), ShardToSplit: aws.String("shardId-000000000001"), NewStartingHashKey: aws.String(new(big.Int).Add(bigOf(*all[1].HashKeyRange.StartingHashKey), big.NewInt(1000)).String())}); err != nil {
		t.Fatal(err)
	}
	if got := ids(shards(t, c2, "keep")); got[len(got)-1] != "shardId-000000000005" {
		t.Fatalf("shards after second split: %v", got)
	}
}

// A stream still CREATING when the server stops becomes ACTIVE, with its
// shard logs, after a restart.
func TestRestart_FinishesCreating(t *testing.T) {
	t.Parallel()
	clk := newClock()
	cfg := server.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.StateDelay = time.Hour
	cfg.Now = clk.Now
	srv, stop := runServer(t, cfg)
	c := client(srv)
	if _, err := c.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String("pending"), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	stop()
	clk.Advance(2 * time.Hour)
	srv2, _ := runServer(t, cfg)
	c2 := client(srv2)
	waitActive(t, c2, "pending")
	put(t, c2, "pending", "k", "v")
	recs := 0
	for _, sh := range shards(t, c2, "pending") {
		got, _ := readAll(t, c2, iter(t, c2, "pending", *sh.ShardId, types.ShardIteratorTypeTrimHorizon, nil))
		recs += len(got)
	}
	if recs != 1 {
		t.Fatalf("%d records", recs)
	}
}
