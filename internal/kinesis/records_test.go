package kinesis_test

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	pk "github.com/penstock/penstock/internal/kinesis"
	"github.com/penstock/penstock/internal/server"
)

// expectedShard computes the shard of a partition key independently: MD5 as
// a big-endian 128-bit integer against the stream's ranges.
func expectedShard(t *testing.T, shards []types.Shard, key string) string {
	sum := md5.Sum([]byte(key))
	h := new(big.Int).SetBytes(sum[:])
	for _, sh := range shards {
		start, _ := new(big.Int).SetString(*sh.HashKeyRange.StartingHashKey, 10)
		end, _ := new(big.Int).SetString(*sh.HashKeyRange.EndingHashKey, 10)
		if sh.SequenceNumberRange.EndingSequenceNumber == nil && start.Cmp(h) <= 0 && h.Cmp(end) <= 0 {
			return *sh.ShardId
		}
	}
	t.Fatalf("no shard for %q", key)
	return ""
}

func TestPutRecord_RoutingAndOrder(t *testing.T) {
	t.Parallel()
	c, _ := start(t, nil)
	createStream(t, c, "r", 4)
	all := shards(t, c, "r")
	last := map[string]string{}
	perShard := map[string][]string{}
	for i := range 60 {
		key := fmt.Sprintf("key-%d", i%12)
		data := fmt.Sprintf("rec-%02d", i)
		out := put(t, c, "r", key, data)
		if want := expectedShard(t, all, key); *out.ShardId != want {
			t.Fatalf("%s went to %s, want %s", key, *out.ShardId, want)
		}
		sn := *out.SequenceNumber
		if len(sn) != 56 {
			t.Fatalf("sequence number %q is not 56 digits", sn)
		}
		if prev := last[*out.ShardId]; prev != "" && sn <= prev {
			t.Fatalf("sequence numbers not increasing in %s: %s then %s", *out.ShardId, prev, sn)
		}
		last[*out.ShardId] = sn
		perShard[*out.ShardId] = append(perShard[*out.ShardId], data)
	}
	for _, sh := range all {
		recs, res := readAll(t, c, iter(t, c, "r", *sh.ShardId, types.ShardIteratorTypeTrimHorizon, nil))
		var got []string
		for _, r := range recs {
			got = append(got, string(r.Data))
			if *r.SequenceNumber <= *sh.SequenceNumberRange.StartingSequenceNumber {
				t.Errorf("record %s not above the shard's starting sequence number", *r.SequenceNumber)
			}
		}
		if strings.Join(got, ",") != strings.Join(perShard[*sh.ShardId], ",") {
			t.Errorf("%s: got %v, want %v", *sh.ShardId, got, perShard[*sh.ShardId])
		}
		if res.NextShardIterator == nil || *res.MillisBehindLatest != 0 {
			t.Errorf("open shard at tip: next=%v behind=%v", res.NextShardIterator, *res.MillisBehindLatest)
		}
	}
	// ExplicitHashKey overrides the partition key's hash.
	for i, sh := range all {
		out, err := c.PutRecord(t.Context(), &kinesis.PutRecordInput{
			StreamName: aws.String("r"), PartitionKey: aws.String("same"), Data: []byte("e"),
			ExplicitHashKey: sh.HashKeyRange.EndingHashKey,
		})
		if err != nil {
			t.Fatal(err)
		}
		if *out.ShardId != *all[i].ShardId {
			t.Errorf("explicit hash %s went to %s", *sh.HashKeyRange.EndingHashKey, *out.ShardId)
		}
	}
	// SequenceNumberForOrdering: the new number is above the given one.
	prev := put(t, c, "r", "o", "1")
	next, err := c.PutRecord(t.Context(), &kinesis.PutRecordInput{
		StreamName: aws.String("r"), PartitionKey: aws.String("o"), Data: []byte("2"), SequenceNumberForOrdering: prev.SequenceNumber,
	})
	if err != nil {
		t.Fatal(err)
	}
	if *next.SequenceNumber <= *prev.SequenceNumber {
		t.Fatalf("ordering: %s after %s", *next.SequenceNumber, *prev.SequenceNumber)
	}
}

// Golden data: AWS's test_record_lifecycle_data_integrity round-trips
// empty data, 1000 bytes, "test" and non-ASCII bytes, in order.
func TestRecords_DataIntegrity(t *testing.T) {
	t.Parallel()
	c, _ := start(t, nil)
	createStream(t, c, "d", 1)
	want := [][]byte{{}, bytes.Repeat([]byte("a"), 1000), []byte("test"), []byte("\xc3\xbcnicode\x00\xff")}
	for _, d := range want {
		if _, err := c.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("d"), PartitionKey: aws.String("1"), Data: d}); err != nil {
			t.Fatal(err)
		}
	}
	// Partition keys with characters JSON must escape round-trip too.
	odd := "ü \"q\" \\ <a&b> \x01 \u2028 😀"
	if _, err := c.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String("d"), PartitionKey: aws.String(odd), Data: []byte("odd"), ExplicitHashKey: aws.String("0")}); err != nil {
		t.Fatal(err)
	}
	recs, _ := readAll(t, c, iter(t, c, "d", "shardId-000000000000", types.ShardIteratorTypeTrimHorizon, nil))
	if len(recs) != len(want)+1 || *recs[len(want)].PartitionKey != odd {
		t.Fatalf("%d records, odd key %q", len(recs), *recs[len(recs)-1].PartitionKey)
	}
	recs = recs[:len(want)]
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for i, r := range recs {
		if !bytes.Equal(r.Data, want[i]) || *r.PartitionKey != "1" || r.ApproximateArrivalTimestamp == nil {
			t.Errorf("record %d: %q pk=%s", i, r.Data, *r.PartitionKey)
		}
	}
}

func TestPutRecords(t *testing.T) {
	t.Parallel()
	c, _ := start(t, nil)
	createStream(t, c, "p", 3)
	all := shards(t, c, "p")
	var entries []types.PutRecordsRequestEntry
	for i := range 500 {
		entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint(i % 50)), Data: []byte(fmt.Sprint(i))})
	}
	out, err := c.PutRecords(t.Context(), &kinesis.PutRecordsInput{StreamName: aws.String("p"), Records: entries})
	if err != nil {
		t.Fatal(err)
	}
	if *out.FailedRecordCount != 0 || len(out.Records) != 500 {
		t.Fatalf("failed=%d records=%d", *out.FailedRecordCount, len(out.Records))
	}
	seen := map[string]bool{}
	for i, r := range out.Records {
		if want := expectedShard(t, all, *entries[i].PartitionKey); *r.ShardId != want {
			t.Fatalf("record %d in %s, want %s", i, *r.ShardId, want)
		}
		if seen[*r.SequenceNumber] {
			t.Fatalf("duplicate sequence number %s", *r.SequenceNumber)
		}
		seen[*r.SequenceNumber] = true
	}
	total := 0
	for _, sh := range all {
		recs, _ := readAll(t, c, iter(t, c, "p", *sh.ShardId, types.ShardIteratorTypeTrimHorizon, nil))
		total += len(recs)
	}
	if total != 500 {
		t.Fatalf("read %d records, want 500", total)
	}
}

func TestRecordErrors(t *testing.T) {
	t.Parallel()
	c, _ := start(t, nil)
	createStream(t, c, "e", 1)
	ctx := t.Context()
	big := make([]byte, 1<<20+1)
	many := make([]types.PutRecordsRequestEntry, 501)
	for i := range many {
		many[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: []byte("x")}
	}
	heavy := make([]types.PutRecordsRequestEntry, 11)
	for i := range heavy {
		heavy[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: make([]byte, 1<<20)}
	}
	cases := []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{"data over 1 MiB", func() error {
			_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("e"), PartitionKey: aws.String("k"), Data: big})
			return err
		}, "ValidationException", "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 cap=1048577]' at 'data' failed to satisfy constraint: Member must have length less than or equal to 1048576"},
		{"partition key too long", func() error {
			_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("e"), PartitionKey: aws.String(strings.Repeat("k", 257)), Data: []byte("x")})
			return err
		}, "ValidationException", ""},
		{"empty partition key", func() error {
			_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("e"), PartitionKey: aws.String(""), Data: []byte("x")})
			return err
		}, "ValidationException", "1 validation error detected: Value '' at 'partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"explicit hash key out of range", func() error {
			_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("e"), PartitionKey: aws.String("k"), Data: []byte("x"), ExplicitHashKey: aws.String("340282366920938463463374607431768211456")})
			return err
		}, "InvalidArgumentException", "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was 340282366920938463463374607431768211456"},
		{"bad sequence number for ordering", func() error {
			_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("e"), PartitionKey: aws.String("k"), Data: []byte("x"), SequenceNumberForOrdering: aws.String("12345")})
			return err
		}, "InvalidArgumentException", "ExclusiveMinimumSequenceNumber 12345 used in PutRecord on stream e under account 000000000000 is invalid."},
		{"501 records", func() error {
			_, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("e"), Records: many})
			return err
		}, "ValidationException", ""},
		{"batch over 10 MiB", func() error {
			_, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("e"), Records: heavy})
			return err
		}, "InvalidArgumentException", ""},
		{"record in batch over 1 MiB", func() error {
			_, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("e"), Records: []types.PutRecordsRequestEntry{
				{PartitionKey: aws.String("k"), Data: []byte("x")}, {PartitionKey: aws.String("k"), Data: big}}})
			return err
		}, "ValidationException", "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 cap=1048577]' at 'records.2.member.data' failed to satisfy constraint: Member must have length less than or equal to 1048576"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { apiError(t, tc.call(), tc.code, tc.msg) })
	}
}

func TestShardIterators(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c, _ := start(t, func(cfg *server.Config) { cfg.Now = clk.Now })
	createStream(t, c, "i", 2)
	ctx := t.Context()
	const s0 = "shardId-000000000000"
	var sns []string
	for i := range 5 {
		out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("i"), PartitionKey: aws.String("k"), Data: []byte(fmt.Sprint(i)), ExplicitHashKey: aws.String("0")})
		if err != nil {
			t.Fatal(err)
		}
		sns = append(sns, *out.SequenceNumber)
	}
	before := clk.Now()
	clk.Advance(time.Second)
	data := func(recs []types.Record) string {
		var s []string
		for _, r := range recs {
			s = append(s, string(r.Data))
		}
		return strings.Join(s, "")
	}
	cases := []struct {
		typ  types.ShardIteratorType
		seq  *string
		want string
	}{
		{types.ShardIteratorTypeTrimHorizon, nil, "01234"},
		{types.ShardIteratorTypeLatest, nil, ""},
		{types.ShardIteratorTypeAtSequenceNumber, &sns[2], "234"},
		{types.ShardIteratorTypeAfterSequenceNumber, &sns[2], "34"},
	}
	for _, tc := range cases {
		recs, _ := readAll(t, c, iter(t, c, "i", s0, tc.typ, tc.seq))
		if got := data(recs); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.typ, got, tc.want)
		}
	}
	// AT_TIMESTAMP: before everything, and in the future (empty).
	for _, tc := range []struct {
		at   time.Time
		want string
	}{{before.Add(-time.Hour), "01234"}, {time.Now().Add(time.Hour), ""}} {
		out, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("i"), ShardId: aws.String(s0), ShardIteratorType: types.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(tc.at)})
		if err != nil {
			t.Fatal(err)
		}
		recs, _ := readAll(t, c, *out.ShardIterator)
		if got := data(recs); got != tc.want {
			t.Errorf("AT_TIMESTAMP %v: got %q want %q", tc.at, got, tc.want)
		}
	}
	// Limit, and a fresh iterator on every call.
	it := iter(t, c, "i", s0, types.ShardIteratorTypeTrimHorizon, nil)
	out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it), Limit: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if data(out.Records) != "01" || *out.MillisBehindLatest < 0 {
		t.Fatalf("limit 2: %q", data(out.Records))
	}
	// Lenient shard ids: "0" and "shardId-0" name shard 0.
	for _, id := range []string{"0", "shardId-0"} {
		recs, _ := readAll(t, c, iter(t, c, "i", id, types.ShardIteratorTypeTrimHorizon, nil))
		if data(recs) != "01234" {
			t.Errorf("shard id %q: %q", id, data(recs))
		}
	}
	// Surrounding quotes are stripped (validated on AWS by LocalStack).
	if _, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(`"` + it + `"`)}); err != nil {
		t.Fatalf("quoted iterator: %v", err)
	}
	tampered := []byte(it)
	tampered[10] ^= 1
	if tampered[10] == '+' || tampered[10] == '/' {
		tampered[10] = 'A'
	}
	errCases := []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{"tampered iterator", func() error {
			_, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(string(tampered))})
			return err
		}, "InvalidArgumentException", "Invalid ShardIterator."},
		{"garbage iterator", func() error {
			_, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String("not an iterator")})
			return err
		}, "InvalidArgumentException", "Invalid ShardIterator."},
		{"sequence number of another shard", func() error {
			_, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("i"), ShardId: aws.String("shardId-000000000001"), ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber, StartingSequenceNumber: &sns[0]})
			return err
		}, "InvalidArgumentException", "Invalid StartingSequenceNumber. It encodes shardId-000000000000, while it was used in a call to a shard with shardId-000000000001"},
		{"AT_SEQUENCE_NUMBER without one", func() error {
			_, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("i"), ShardId: aws.String(s0), ShardIteratorType: types.ShardIteratorTypeAtSequenceNumber})
			return err
		}, "InvalidArgumentException", "Request specified AT_SEQUENCE_NUMBER and no StartingSequenceNumber."},
		{"LATEST with one", func() error {
			_, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("i"), ShardId: aws.String(s0), ShardIteratorType: types.ShardIteratorTypeLatest, StartingSequenceNumber: &sns[0]})
			return err
		}, "InvalidArgumentException", "Request specified LATEST and also a StartingSequenceNumber."},
		{"AT_TIMESTAMP without one", func() error {
			_, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("i"), ShardId: aws.String(s0), ShardIteratorType: types.ShardIteratorTypeAtTimestamp})
			return err
		}, "InvalidArgumentException", "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter."},
		{"unknown shard", func() error {
			_, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("i"), ShardId: aws.String("shardId-000000000007"), ShardIteratorType: types.ShardIteratorTypeLatest})
			return err
		}, "ResourceNotFoundException", "Shard shardId-000000000007 in stream i under account 000000000000 does not exist"},
		{"bad iterator type", func() error {
			_, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("i"), ShardId: aws.String(s0), ShardIteratorType: "SOMEWHERE"})
			return err
		}, "ValidationException", "1 validation error detected: Value 'SOMEWHERE' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP]"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) { apiError(t, tc.call(), tc.code, tc.msg) })
	}
	// Iterators expire after 5 minutes (by the injected clock).
	clk.Advance(5*time.Minute + time.Millisecond)
	_, err = c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it)})
	apiError(t, err, "ExpiredIteratorException", "")
	if !strings.Contains(err.Error(), "further in the future than the tolerated delay of 300000 milliseconds") {
		t.Errorf("expired message: %v", err)
	}
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c, _ := start(t, func(cfg *server.Config) { cfg.Now = clk.Now; cfg.Throttle = true })
	createStream(t, c, "t", 1)
	ctx := t.Context()
	batch := func(n, size int) *kinesis.PutRecordsOutput {
		entries := make([]types.PutRecordsRequestEntry, n)
		for i := range entries {
			entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: make([]byte, size)}
		}
		out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("t"), Records: entries})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// 1000 records/s: two batches of 500 fit, the next record does not.
	if out := batch(500, 1); *out.FailedRecordCount != 0 {
		t.Fatalf("first 500 failed %d", *out.FailedRecordCount)
	}
	if out := batch(500, 1); *out.FailedRecordCount != 0 {
		t.Fatalf("second 500 failed %d", *out.FailedRecordCount)
	}
	out := batch(3, 1)
	if *out.FailedRecordCount != 3 || *out.Records[0].ErrorCode != "ProvisionedThroughputExceededException" ||
		*out.Records[0].ErrorMessage != "Rate exceeded for shard shardId-000000000000 in stream t under account 000000000000." {
		t.Fatalf("over the record limit: %+v", out.Records[0])
	}
	_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("t"), PartitionKey: aws.String("k"), Data: []byte("x")})
	apiError(t, err, "ProvisionedThroughputExceededException", "Rate exceeded for shard shardId-000000000000 in stream t under account 000000000000.")
	// A second later the shard has capacity again; 1 MiB/s caps bytes:
	// three records of 400 KiB, the third over the limit.
	clk.Advance(time.Second)
	out = batch(3, 400<<10)
	if *out.FailedRecordCount != 1 || out.Records[2].ErrorCode == nil || out.Records[0].ErrorCode != nil {
		t.Fatalf("byte limit: failed %d", *out.FailedRecordCount)
	}
}

func TestSequenceNumbers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		idx int
		seq uint64
	}{{0, 0}, {0, 1}, {7, 12345}, {1<<31 - 1, 1<<64 - 1}}
	prev := ""
	for _, tc := range cases {
		sn := pk.SequenceNumber(tc.idx, tc.seq)
		if len(sn) != 56 {
			t.Fatalf("%q has %d digits", sn, len(sn))
		}
		idx, seq, err := pk.ParseSequenceNumber(sn)
		if err != nil || idx != tc.idx || seq != tc.seq {
			t.Fatalf("round trip %v: %d %d %v", tc, idx, seq, err)
		}
		if sn <= prev {
			t.Fatalf("not increasing: %s after %s", sn, prev)
		}
		prev = sn
	}
	for _, bad := range []string{"", "0", "12345", strings.Repeat("9", 56)} {
		if _, _, err := pk.ParseSequenceNumber(bad); err == nil {
			t.Errorf("ParseSequenceNumber(%q) accepted", bad)
		}
	}
	for id, want := range map[string]int{"shardId-000000000001": 1, "shardId-1": 1, "1": 1, "x-00000000000000000001": 1, "0": 0} {
		if got, err := pk.ShardIndex(id); err != nil || got != want {
			t.Errorf("ShardIndex(%q) = %d, %v", id, got, err)
		}
	}
	for _, bad := range []string{"shardId-abc", "shardId-2147483648", ""} {
		if _, err := pk.ShardIndex(bad); err == nil {
			t.Errorf("ShardIndex(%q) accepted", bad)
		}
	}
	r, a, n, err := pk.ParseStreamARN(pk.StreamARN("eu-west-1", "123456789012", "my.stream"))
	if err != nil || r != "eu-west-1" || a != "123456789012" || n != "my.stream" {
		t.Fatalf("ParseStreamARN: %s %s %s %v", r, a, n, err)
	}
}

func TestMaxRecordSize(t *testing.T) {
	t.Parallel()
	c, _ := start(t, nil)
	ctx := t.Context()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("large"), ShardCount: aws.Int32(1), MaxRecordSizeInKiB: aws.Int32(2048)}); err != nil {
		t.Fatal(err)
	}
	createStream(t, c, "small", 1)
	rec := make([]byte, 1536<<10)
	rec[len(rec)-1] = 7
	if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("large"), PartitionKey: aws.String("k"), Data: rec}); err != nil {
		t.Fatalf("1.5 MiB into a 2 MiB stream: %v", err)
	}
	recs, _ := readAll(t, c, iter(t, c, "large", "shardId-000000000000", types.ShardIteratorTypeTrimHorizon, nil))
	if len(recs) != 1 || !bytes.Equal(recs[0].Data, rec) {
		t.Fatalf("large record round trip: %d records", len(recs))
	}
	sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("large")})
	if err != nil || *sum.StreamDescriptionSummary.MaxRecordSizeInKiB != 2048 {
		t.Fatalf("summary: %v", err)
	}
	_, err = c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("small"), PartitionKey: aws.String("k"), Data: rec})
	apiError(t, err, "ValidationException", "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1572864 cap=1572864]' at 'data' failed to satisfy constraint: Member must have length less than or equal to 1048576")
	if _, err := c.UpdateMaxRecordSize(ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/large"), MaxRecordSizeInKiB: aws.Int32(1024)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("large"), PartitionKey: aws.String("k"), Data: rec})
	apiError(t, err, "ValidationException", "")
	_, err = c.UpdateMaxRecordSize(ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/large"), MaxRecordSizeInKiB: aws.Int32(10241)})
	apiError(t, err, "ValidationException", "1 validation error detected: Value '10241' at 'maxRecordSizeInKiB' failed to satisfy constraint: Member must have value less than or equal to 10240")
	// A PutRecords of nearly 10 MiB (nine 1 MiB records) is one request.
	nine := make([]types.PutRecordsRequestEntry, 9)
	for i := range nine {
		nine[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint(i)), Data: make([]byte, 1<<20)}
	}
	out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("small"), Records: nine})
	if err != nil || *out.FailedRecordCount != 0 {
		t.Fatalf("nine 1 MiB records: %v", err)
	}
}

func TestGetRecords_MillisBehindLatestAndPaging(t *testing.T) {
	t.Parallel()
	c, _ := start(t, nil)
	createStream(t, c, "m", 1)
	ctx := t.Context()
	put(t, c, "m", "k", "first")
	// Records a measurable time apart: wait until the clock moved on.
	start := time.Now()
	for time.Since(start) < 20*time.Millisecond {
		put(t, c, "m", "k", "filler")
	}
	put(t, c, "m", "k", "last")
	out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(iter(t, c, "m", "shardId-000000000000", types.ShardIteratorTypeTrimHorizon, nil)), Limit: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Records) != 1 || *out.MillisBehindLatest < 15 {
		t.Fatalf("behind the tip: %d records, MillisBehindLatest %d", len(out.Records), *out.MillisBehindLatest)
	}
	// DescribeStream pages shards with Limit / ExclusiveStartShardId.
	createStream(t, c, "many", 5)
	d, err := c.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("many"), Limit: aws.Int32(2)})
	if err != nil || len(d.StreamDescription.Shards) != 2 || !*d.StreamDescription.HasMoreShards {
		t.Fatalf("page 1: %v", err)
	}
	d, err = c.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("many"), ExclusiveStartShardId: aws.String("shardId-000000000002")})
	if err != nil || len(d.StreamDescription.Shards) != 2 || *d.StreamDescription.Shards[0].ShardId != "shardId-000000000003" || *d.StreamDescription.HasMoreShards {
		t.Fatalf("after shard 2: %v", err)
	}
	// ON_DEMAND streams start with 4 shards.
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("od"), StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand}}); err != nil {
		t.Fatal(err)
	}
	if n := len(shards(t, c, "od")); n != 4 {
		t.Fatalf("on-demand stream has %d shards", n)
	}
}
