package kclient_test

import (
	"bytes"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/penstock/penstock/internal/kclient"
	"github.com/penstock/penstock/internal/kclient/wire"
	"github.com/penstock/penstock/internal/penstocktest"
	"github.com/penstock/penstock/internal/server"
)

// clients runs penstock in process and returns the SDK client and the
// lean client for it.
func clients(t *testing.T, mutate func(*server.Config)) (*kinesis.Client, *wire.Client) {
	t.Helper()
	srv := penstocktest.Start(t, mutate)
	cfg := kclient.Config{Endpoint: srv.URL(), Region: srv.Config().Region, MaxConns: 4}
	w, err := kclient.NewWire(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.CloseIdleConnections)
	return kclient.New(cfg), w
}

func createStream(t *testing.T, c *kinesis.Client, name string, shards int32) {
	t.Helper()
	if err := kclient.CreateStream(t.Context(), c, name, shards, 30*time.Second); err != nil {
		t.Fatal(err)
	}
}

// The loads on either client: every record put is read back, across a
// split (the lean reader follows reshards as the SDK reader does).
func TestLoads(t *testing.T) {
	for _, lean := range []bool{false, true} {
		t.Run(fmt.Sprintf("lean=%v", lean), func(t *testing.T) {
			c, w := clients(t, nil)
			if !lean {
				w = nil
			}
			createStream(t, c, "load", 3)
			ctx := t.Context()
			put := kclient.PutLoad{Client: c, Wire: w, Stream: "load", Producers: 2, Records: 2000, RecordSize: 100, Batch: 250}
			res, err := put.Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.Records != 2000 || res.Bytes != 200000 || res.Requests < 8 || len(res.Latencies) != int(res.Requests) {
				t.Fatalf("put: %d records, %d bytes, %d requests, %d latencies", res.Records, res.Bytes, res.Requests, len(res.Latencies))
			}
			if res.CPU <= 0 {
				t.Errorf("put: client CPU %v", res.CPU)
			}
			hi, _ := new(big.Int).SetString("340282366920938463463374607431768211455", 10)
			mid := new(big.Int).Div(hi, big.NewInt(6)).String() // inside shard 0 of 3
			if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("load"),
				ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String(mid)}); err != nil {
				t.Fatal(err)
			}
			if err := kclient.WaitActive(ctx, c, "load", 30*time.Second); err != nil {
				t.Fatal(err)
			}
			put.Records = 500
			if _, err := put.Run(ctx); err != nil {
				t.Fatal(err)
			}
			get, err := kclient.GetLoad{Client: c, Wire: w, Stream: "load", Limit: 300}.Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if get.Records != 2500 || get.Bytes != 250000 || get.Requests < 9 || get.CPU <= 0 {
				t.Fatalf("get: %d records, %d bytes, %d requests, CPU %v; want 2500 records of 100 bytes", get.Records, get.Bytes, get.Requests, get.CPU)
			}
		})
	}
}

// Putter and WirePutter given the same entries: every entry lands on the
// same shard through either, and reads back with its key and data.
func TestWirePutterMatchesPutter(t *testing.T) {
	c, w := clients(t, nil)
	createStream(t, c, "both", 4)
	ctx := t.Context()
	var sdkEntries []types.PutRecordsRequestEntry
	var wireEntries []wire.Entry
	for i := range 300 {
		key := fmt.Sprintf("k%d\"\\é%d", i, i*i)
		data := bytes.Repeat([]byte{byte(i)}, i%50)
		sdkEntries = append(sdkEntries, types.PutRecordsRequestEntry{PartitionKey: aws.String(key), Data: data})
		wireEntries = append(wireEntries, wire.Entry{PartitionKey: key, Data: data})
	}
	sdkRes, err := (&kclient.Putter{Client: c, Stream: "both"}).Put(ctx, sdkEntries)
	if err != nil {
		t.Fatal(err)
	}
	wireRes, err := (&kclient.WirePutter{Client: w, Stream: "both"}).Put(ctx, wireEntries)
	if err != nil {
		t.Fatal(err)
	}
	type stored struct{ key, data string }
	want := map[string]stored{} // sequence number -> record
	for i, e := range wireEntries {
		if sdkRes.ShardIDs[i] != wireRes.ShardIDs[i] || wireRes.SequenceNumbers[i] == "" {
			t.Fatalf("entry %d: shard %s through the SDK, %s (sequence %q) through the lean client", i, sdkRes.ShardIDs[i], wireRes.ShardIDs[i], wireRes.SequenceNumbers[i])
		}
		want[sdkRes.SequenceNumbers[i]] = stored{e.PartitionKey, string(e.Data)}
		want[wireRes.SequenceNumbers[i]] = stored{e.PartitionKey, string(e.Data)}
	}
	got := map[string]stored{}
	r := &kclient.Reader{Client: c, Stream: "both", From: kclient.TrimHorizon}
	err = r.Run(ctx, func(b kclient.Batch) error {
		for _, rec := range b.Records {
			got[aws.ToString(rec.SequenceNumber)] = stored{aws.ToString(rec.PartitionKey), string(rec.Data)}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 600 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("read back %d records, want the 600 put", len(got))
	}
	if wireRes.Requests != 1 || len(wireRes.Latencies) != 1 || wireRes.Retried != 0 {
		t.Errorf("lean put: %+v", wireRes)
	}
}

// With penstock's per-shard write limits, records beyond 1000/s fail
// inside PutRecords replies; WirePutter sends only those again until all
// are stored.
func TestWirePutterRetriesThrottledRecords(t *testing.T) {
	c, w := clients(t, func(cfg *server.Config) { cfg.Throttle = true })
	createStream(t, c, "throttled", 1)
	ctx := t.Context()
	p := &kclient.WirePutter{Client: w, Stream: "throttled", MinBackoff: 20 * time.Millisecond}
	var retried int
	for batch := range 4 {
		entries := make([]wire.Entry, 400)
		for i := range entries {
			entries[i] = wire.Entry{PartitionKey: "p", Data: fmt.Appendf(nil, "%d-%d", batch, i)}
		}
		res, err := p.Put(ctx, entries)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range res.SequenceNumbers {
			if s == "" || res.ShardIDs[i] != "shardId-000000000000" {
				t.Fatalf("batch %d entry %d: sequence %q shard %q", batch, i, s, res.ShardIDs[i])
			}
		}
		retried += res.Retried
	}
	if retried == 0 {
		t.Errorf("no record retried: the shard limit did not bite")
	}
	get, err := kclient.GetLoad{Client: c, Wire: w, Stream: "throttled"}.Run(ctx)
	if err != nil || get.Records != 1600 {
		t.Fatalf("read back %d records (%v), want 1600", get.Records, err)
	}
}
