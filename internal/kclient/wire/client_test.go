package wire_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/penstock/penstock/internal/kclient/wire"
	"github.com/penstock/penstock/internal/penstocktest"
)

// startPenstock runs penstock in process and returns an SDK client and a
// lean client for it, with the same credentials and region.
func startPenstock(t *testing.T) (*kinesis.Client, *wire.Client) {
	t.Helper()
	srv := penstocktest.Start(t, nil)
	cfg := penstocktest.AWSConfig(srv)
	creds, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	w, err := wire.New(wire.Config{
		Endpoint: srv.URL(), Region: cfg.Region, AccessKey: creds.AccessKeyID, SecretKey: creds.SecretAccessKey, MaxConns: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.CloseIdleConnections)
	return kinesis.NewFromConfig(cfg), w
}

func createStream(t *testing.T, c *kinesis.Client, name string, shards int32) {
	t.Helper()
	ctx := t.Context()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatal(err)
	}
	penstocktest.CheckFor(t, 30*time.Second, 10*time.Millisecond, func() error {
		out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err != nil {
			return err
		}
		if s := out.StreamDescriptionSummary.StreamStatus; s != types.StreamStatusActive {
			return fmt.Errorf("stream %s is %s", name, s)
		}
		return nil
	})
}

// record is a record as both clients read it.
type record struct {
	seq, key, data string
	arrival        time.Time
}

func sdkRecords(out *kinesis.GetRecordsOutput) []record {
	var recs []record
	for _, r := range out.Records {
		recs = append(recs, record{aws.ToString(r.SequenceNumber), aws.ToString(r.PartitionKey), string(r.Data), aws.ToTime(r.ApproximateArrivalTimestamp)})
	}
	return recs
}

func wireRecords(out *wire.GetRecordsOutput) []record {
	var recs []record
	for i := range out.Records {
		r := &out.Records[i]
		ts, _ := r.ApproximateArrivalTimestamp()
		recs = append(recs, record{string(r.SequenceNumber), string(r.PartitionKey), string(r.Data), ts})
	}
	return recs
}

// page is one GetRecords reply as both clients read it.
type page struct {
	recs        []record
	behind      int64
	hasNext     bool
	childShards bool
}

// readBoth reads a shard from the same position with both clients, page
// by page with the same limit, until the shard is closed and read or a
// page is empty and caught up; it fails unless every page agrees.
func readBoth(t *testing.T, c *kinesis.Client, w *wire.Client, in wire.IteratorInput, limit int) []page {
	t.Helper()
	ctx := t.Context()
	sdkIn := &kinesis.GetShardIteratorInput{
		StreamName: aws.String(in.Stream), ShardId: aws.String(in.ShardID), ShardIteratorType: types.ShardIteratorType(in.Type),
	}
	if in.StartingSequenceNumber != "" {
		sdkIn.StartingSequenceNumber = aws.String(in.StartingSequenceNumber)
	}
	if !in.Timestamp.IsZero() {
		sdkIn.Timestamp = aws.Time(in.Timestamp)
	}
	sdkIt, err := c.GetShardIterator(ctx, sdkIn)
	if err != nil {
		t.Fatal(err)
	}
	wireIt, err := w.GetShardIterator(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	itS, itW := sdkIt.ShardIterator, wireIt
	var out wire.GetRecordsOutput // reused page after page, as the loads do
	var pages []page
	for range 100 {
		s, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: itS, Limit: aws.Int32(int32(limit))})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.GetRecords(ctx, itW, limit, &out); err != nil {
			t.Fatal(err)
		}
		ps := page{sdkRecords(s), aws.ToInt64(s.MillisBehindLatest), aws.ToString(s.NextShardIterator) != "", s.ChildShards != nil}
		pw := page{wireRecords(&out), out.MillisBehindLatest, out.NextShardIterator != "", out.ChildShards != nil}
		if s.MillisBehindLatest == nil || !out.HasMillisBehindLatest {
			t.Errorf("MillisBehindLatest missing: sdk %v, wire %v", s.MillisBehindLatest, out.HasMillisBehindLatest)
		}
		if fmt.Sprint(ps) != fmt.Sprint(pw) {
			t.Fatalf("page %d of %s from %s differs:\nsdk  %+v\nwire %+v", len(pages), in.ShardID, in.Type, ps, pw)
		}
		pages = append(pages, pw)
		if !pw.hasNext || (len(pw.recs) == 0 && pw.behind == 0) {
			return pages
		}
		itS, itW = s.NextShardIterator, out.NextShardIterator
	}
	t.Fatalf("%s not read after 100 pages", in.ShardID)
	return nil
}

func TestDifferentialReadsAgainstPenstock(t *testing.T) {
	c, w := startPenstock(t)
	ctx := t.Context()
	createStream(t, c, "diff", 2)

	// Half the records through each client; keys and data that need escapes.
	keys := []string{"a", `quo"te`, `back\slash`, "tab\tnew\nline", "é😀", "\u2028sep", "k/+="}
	var wireEntries []wire.Entry
	var sdkEntries []types.PutRecordsRequestEntry
	for i := range 120 {
		key := keys[i%len(keys)] + fmt.Sprint(i%5)
		data := bytes.Repeat([]byte{byte(i), 0xff, '"', '\\'}, i%9)
		if i%2 == 0 {
			wireEntries = append(wireEntries, wire.Entry{PartitionKey: key, Data: data})
		} else {
			sdkEntries = append(sdkEntries, types.PutRecordsRequestEntry{PartitionKey: aws.String(key), Data: data})
		}
	}
	var put wire.PutRecordsOutput
	if err := w.PutRecords(ctx, "diff", wireEntries, &put); err != nil {
		t.Fatal(err)
	}
	if put.FailedRecordCount != 0 || len(put.Records) != len(wireEntries) {
		t.Fatalf("PutRecords: %d failed, %d results", put.FailedRecordCount, len(put.Records))
	}
	for i, r := range put.Records {
		if len(r.SequenceNumber) == 0 || !bytes.HasPrefix(r.ShardID, []byte("shardId-")) || len(r.ErrorCode) != 0 {
			t.Fatalf("result %d: %q %q %q", i, r.SequenceNumber, r.ShardID, r.ErrorCode)
		}
	}
	firstSeq, firstShard := string(put.Records[0].SequenceNumber), string(put.Records[0].ShardID)
	if _, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("diff"), Records: sdkEntries}); err != nil {
		t.Fatal(err)
	}

	total := 0
	for _, shard := range []string{"shardId-000000000000", "shardId-000000000001"} {
		for _, limit := range []int{7, 1000} {
			pages := readBoth(t, c, w, wire.IteratorInput{Stream: "diff", ShardID: shard, Type: "TRIM_HORIZON"}, limit)
			n := 0
			for _, p := range pages {
				n += len(p.recs)
			}
			if limit == 1000 {
				total += n
			}
		}
	}
	if total != 120 {
		t.Fatalf("read %d records back, wrote 120", total)
	}
	for _, in := range []wire.IteratorInput{
		{Type: "AT_SEQUENCE_NUMBER", StartingSequenceNumber: firstSeq},
		{Type: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: firstSeq},
		{Type: "AT_TIMESTAMP", Timestamp: time.Now().Add(-time.Hour)},
		{Type: "LATEST"},
	} {
		in.Stream, in.ShardID = "diff", firstShard
		pages := readBoth(t, c, w, in, 10)
		if in.Type == "AT_SEQUENCE_NUMBER" && (len(pages[0].recs) == 0 || pages[0].recs[0].seq != firstSeq) {
			t.Errorf("%s %s: first page %+v", in.Type, firstSeq, pages[0])
		}
	}

	// A split closes shard 0: read to its end, both see no next iterator
	// and the child shards.
	hi, _ := new(big.Int).SetString("340282366920938463463374607431768211455", 10)
	mid := new(big.Int).Rsh(hi, 2).String()
	if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("diff"), ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String(mid)}); err != nil {
		t.Fatal(err)
	}
	pages := readBoth(t, c, w, wire.IteratorInput{Stream: "diff", ShardID: "shardId-000000000000", Type: "TRIM_HORIZON"}, 1000)
	if last := pages[len(pages)-1]; last.hasNext || !last.childShards {
		t.Errorf("closed shard's last page: %+v, want no next iterator and child shards", last)
	}
}

// apiError is what both clients' errors say.
func apiError(t *testing.T, err error) string {
	t.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) {
		t.Fatalf("%v: not an API error", err)
	}
	status := 0
	var withStatus interface{ HTTPStatusCode() int }
	if errors.As(err, &withStatus) {
		status = withStatus.HTTPStatusCode()
	}
	return fmt.Sprintf("%d %s: %s", status, api.ErrorCode(), api.ErrorMessage())
}

func TestDifferentialErrorsAgainstPenstock(t *testing.T) {
	c, w := startPenstock(t)
	ctx := t.Context()
	createStream(t, c, "errs", 1)
	it, err := w.GetShardIterator(ctx, wire.IteratorInput{Stream: "errs", ShardID: "shardId-000000000000", Type: "TRIM_HORIZON"})
	if err != nil {
		t.Fatal(err)
	}
	var put wire.PutRecordsOutput
	var get wire.GetRecordsOutput
	cases := []struct {
		name     string
		sdk      func() error
		wire     func() error
		wantCode string
	}{{
		name: "PutRecords to a missing stream",
		sdk: func() error {
			_, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("nope"),
				Records: []types.PutRecordsRequestEntry{{PartitionKey: aws.String("k"), Data: []byte("x")}}})
			return err
		},
		wire: func() error {
			return w.PutRecords(ctx, "nope", []wire.Entry{{PartitionKey: "k", Data: []byte("x")}}, &put)
		},
		wantCode: wire.CodeResourceNotFound,
	}, {
		name: "GetShardIterator of a missing stream",
		sdk: func() error {
			_, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("nope"),
				ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
			return err
		},
		wire: func() error {
			_, err := w.GetShardIterator(ctx, wire.IteratorInput{Stream: "nope", ShardID: "shardId-000000000000", Type: "TRIM_HORIZON"})
			return err
		},
		wantCode: wire.CodeResourceNotFound,
	}, {
		name: "GetShardIterator of a missing shard",
		sdk: func() error {
			_, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("errs"),
				ShardId: aws.String("shardId-000000000009"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
			return err
		},
		wire: func() error {
			_, err := w.GetShardIterator(ctx, wire.IteratorInput{Stream: "errs", ShardID: "shardId-000000000009", Type: "TRIM_HORIZON"})
			return err
		},
		wantCode: wire.CodeResourceNotFound,
	}, {
		name: "GetRecords with a bad iterator",
		sdk: func() error {
			_, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String("bm90IGFuIGl0ZXJhdG9y")})
			return err
		},
		wire:     func() error { return w.GetRecords(ctx, "bm90IGFuIGl0ZXJhdG9y", 0, &get) },
		wantCode: wire.CodeInvalidArgument,
	}, {
		name: "GetRecords with a bad limit",
		sdk: func() error {
			_, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it), Limit: aws.Int32(10001)})
			return err
		},
		wire:     func() error { return w.GetRecords(ctx, it, 10001, &get) },
		wantCode: "ValidationException",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			werr := tc.wire()
			got, want := apiError(t, werr), apiError(t, tc.sdk())
			if got != want {
				t.Errorf("lean client: %s\nSDK:         %s", got, want)
			}
			if !wire.IsCode(werr, tc.wantCode) {
				t.Errorf("error code %s, want %s", got, tc.wantCode)
			}
			var api *wire.APIError
			if !errors.As(werr, &api) || api.StatusCode != 400 {
				t.Errorf("%v: want a *wire.APIError with HTTP 400", werr)
			}
		})
	}
}

// The status of the SDK's errors is on its response error.
var _ interface{ HTTPStatusCode() int } = (*awshttp.ResponseError)(nil)
