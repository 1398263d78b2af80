package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"

	"github.com/penstock/penstock/internal/kclient"
	"github.com/penstock/penstock/internal/penstocktest"
	"github.com/penstock/penstock/internal/server"
)

// startKinesis runs penstock in process and returns its URL and a client;
// it skips the test while the Kinesis API is not mounted on the server.
func startKinesis(t *testing.T) (string, *kinesis.Client) {
	t.Helper()
	return startKinesisWith(t, nil)
}

func startKinesisWith(t *testing.T, mutate func(*server.Config)) (string, *kinesis.Client) {
	t.Helper()
	srv := penstocktest.Start(t, mutate)
	c := kinesis.NewFromConfig(penstocktest.AWSConfig(srv))
	_, err := c.ListStreams(t.Context(), &kinesis.ListStreamsInput{})
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "UnknownOperationException" && strings.Contains(api.ErrorMessage(), "does not serve") {
		t.Skip("the Kinesis API is not mounted on the server yet")
	}
	if err != nil {
		t.Fatalf("ListStreams: %v", err)
	}
	return srv.URL(), c
}

// runTool calls the CLI's run with PENSTOCK_ENDPOINT pointing at url.
func runTool(t *testing.T, url, stdin string, args ...string) (stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string {
		if k == "PENSTOCK_ENDPOINT" {
			return url
		}
		return ""
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := run(ctx, args, getenv, strings.NewReader(stdin), &out, &errOut); err != nil {
		t.Fatalf("penstock %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), errOut.String()
}

func createStream(t *testing.T, c *kinesis.Client, name string, shards int32) {
	t.Helper()
	if err := kclient.CreateStream(t.Context(), c, name, shards, 30*time.Second); err != nil {
		t.Fatal(err)
	}
}

func numberedLines(prefix string, from, n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("%s-%04d", prefix, from+i)
	}
	return lines
}

// textRecords parses tail's text format into (shard, seq, pk, data).
func textRecords(t *testing.T, out string) [][4]string {
	t.Helper()
	var recs [][4]string
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if l == "" {
			continue
		}
		f := strings.SplitN(l, " ", 4)
		if len(f) != 4 {
			t.Fatalf("tail line %q: want shard, sequence number, partition key, data", l)
		}
		recs = append(recs, [4]string{f[0], f[1], f[2], f[3]})
	}
	return recs
}

func TestPutThenTailInOrder(t *testing.T) {
	url, c := startKinesis(t)
	createStream(t, c, "lines", 3)

	lines := numberedLines("line", 0, 1234)
	_, stderr := runTool(t, url, strings.Join(lines, "\n")+"\n",
		"put", "--stream", "lines", "--partition-key", "k1", "--batch", "100")
	if !strings.Contains(stderr, "1234 records") {
		t.Errorf("put summary = %q, want 1234 records", stderr)
	}

	out, _ := runTool(t, url, "", "tail", "--stream", "lines")
	recs := textRecords(t, out)
	if len(recs) != len(lines) {
		t.Fatalf("tail printed %d records, want %d", len(recs), len(lines))
	}
	for i, r := range recs {
		if r[2] != "k1" || r[3] != lines[i] || r[0] != recs[0][0] {
			t.Fatalf("record %d = %v, want %q with key k1 on one shard", i, r, lines[i])
		}
	}

	// raw prints exactly what was put; at-sequence starts at that record.
	raw, _ := runTool(t, url, "", "tail", "--stream", "lines", "--format", "raw", "--from", "at-sequence="+recs[1000][1])
	if want := strings.Join(lines[1000:], "\n") + "\n"; raw != want {
		t.Errorf("tail --format raw --from at-sequence: got %d bytes, want lines 1000.. (%d bytes)", len(raw), len(want))
	}
}

func TestPutRandomKeysReachEveryShard(t *testing.T) {
	url, c := startKinesis(t)
	createStream(t, c, "spread", 4)

	lines := numberedLines("r", 0, 400)
	seqs, _ := runTool(t, url, strings.Join(lines, "\n"), "put", "--stream", "spread", "--random-key", "--print-seq")
	if got := strings.Count(seqs, "\n"); got != len(lines) {
		t.Fatalf("put --print-seq printed %d lines, want %d", got, len(lines))
	}

	out, _ := runTool(t, url, "", "tail", "--stream", "spread", "--format", "json")
	if got := strings.Count(out, "\n"); got != len(lines) {
		t.Fatalf("tail --format json printed %d records, want %d", got, len(lines))
	}
	for _, l := range lines {
		if !strings.Contains(out, `"Text":"`+l+`"`) {
			t.Fatalf("record %q missing from tail output", l)
		}
	}
	for i := range 4 {
		if id := fmt.Sprintf("shardId-%012d", i); !strings.Contains(out, id) {
			t.Errorf("no record on %s with 400 random keys", id)
		}
	}
}

func TestTailFollowsSplitChildren(t *testing.T) {
	url, c := startKinesis(t)
	createStream(t, c, "resharded", 1)
	ctx := t.Context()

	before := numberedLines("before", 0, 50)
	runTool(t, url, strings.Join(before, "\n"), "put", "--stream", "resharded", "--partition-key", "same")
	_, err := c.SplitShard(ctx, &kinesis.SplitShardInput{
		StreamName:         aws.String("resharded"),
		ShardToSplit:       aws.String("shardId-000000000000"),
		NewStartingHashKey: aws.String("170141183460469231731687303715884105728"), // 2^127
	})
	if err != nil {
		t.Fatalf("SplitShard: %v", err)
	}
	if err := kclient.WaitActive(ctx, c, "resharded", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	after := numberedLines("after", 0, 50)
	runTool(t, url, strings.Join(after, "\n"), "put", "--stream", "resharded", "--partition-key", "same")

	recs := textRecords(t, func() string { out, _ := runTool(t, url, "", "tail", "--stream", "resharded"); return out }())
	want := append(before, after...)
	if len(recs) != len(want) {
		t.Fatalf("tail printed %d records, want %d (parent and child shard)", len(recs), len(want))
	}
	for i, r := range recs {
		if r[3] != want[i] {
			t.Fatalf("record %d = %v, want %q: parent records must come before the child's", i, r, want[i])
		}
	}
	if recs[0][0] != "shardId-000000000000" || recs[len(recs)-1][0] == "shardId-000000000000" {
		t.Errorf("records came from %s .. %s, want the parent then a child", recs[0][0], recs[len(recs)-1][0])
	}
}

func TestBenchPutAndGet(t *testing.T) {
	url, _ := startKinesis(t)
	out, _ := runTool(t, url, "", "bench", "put", "--producers", "2", "--records", "2000", "--record-size", "100", "--batch", "250", "--shards", "2", "--runs", "2", "--json")
	if !strings.Contains(out, `"records": 2000`) || !strings.Contains(out, `"median"`) {
		t.Errorf("bench put --json:\n%s", out)
	}
	// get fills a fresh stream and fails unless it reads every record back.
	out, _ = runTool(t, url, "", "bench", "get", "--records", "3000", "--record-size", "100", "--shards", "3", "--limit", "500")
	if !strings.Contains(out, "GetRecords p50 ms") || !strings.Contains(out, " 3000 ") {
		t.Errorf("bench get:\n%s", out)
	}
}

// With per-shard write limits on, records beyond 1000/s on one shard fail
// inside PutRecords replies; put retries them until every one is stored.
func TestPutRetriesThrottledRecords(t *testing.T) {
	url, c := startKinesisWith(t, func(cfg *server.Config) { cfg.Throttle = true })
	createStream(t, c, "throttled", 1)

	lines := numberedLines("t", 0, 1600)
	_, stderr := runTool(t, url, strings.Join(lines, "\n"), "put", "--stream", "throttled", "--partition-key", "p")
	if !strings.Contains(stderr, "1600 records") || strings.Contains(stderr, " 0 records retried") {
		t.Errorf("put summary = %q, want 1600 records and some retried", stderr)
	}
	raw, _ := runTool(t, url, "", "tail", "--stream", "throttled", "--format", "raw")
	got := strings.Split(strings.TrimSuffix(raw, "\n"), "\n")
	slices.Sort(got)
	if !slices.Equal(got, lines) {
		t.Errorf("tail after throttled put: %d records, want the %d lines put", len(got), len(lines))
	}
}
