package kinesis_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// BenchmarkPutRecords: PutRecords of 500 × 100-byte records over 4 shards
// through the Go SDK and HTTP (records/s reported).
func BenchmarkPutRecords(b *testing.B) {
	_, c := standalone(b)
	ctx := b.Context()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("bench"), ShardCount: aws.Int32(4)}); err != nil {
		b.Fatal(err)
	}
	entries := make([]types.PutRecordsRequestEntry, 500)
	for i := range entries {
		entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint(i)), Data: make([]byte, 100)}
	}
	b.ResetTimer()
	for b.Loop() {
		out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("bench"), Records: entries})
		if err != nil || *out.FailedRecordCount != 0 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(entries))/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkPutRecord: one record per call (latency of an acknowledged,
// fsynced write through the SDK).
func BenchmarkPutRecord(b *testing.B) {
	_, c := standalone(b)
	ctx := b.Context()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("bench"), ShardCount: aws.Int32(1)}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("bench"), PartitionKey: aws.String("k"), Data: make([]byte, 100)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetRecords: reading 10000 × 100-byte records, 1000 per call.
func BenchmarkGetRecords(b *testing.B) {
	_, c := standalone(b)
	ctx := b.Context()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("bench"), ShardCount: aws.Int32(1)}); err != nil {
		b.Fatal(err)
	}
	entries := make([]types.PutRecordsRequestEntry, 500)
	for i := range entries {
		entries[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String("k"), Data: make([]byte, 100)}
	}
	for range 20 {
		if _, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("bench"), Records: entries}); err != nil {
			b.Fatal(err)
		}
	}
	read := 0
	for b.Loop() {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("bench"), ShardId: aws.String("shardId-000000000000"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			b.Fatal(err)
		}
		next := it.ShardIterator
		for n := 0; n < 10000; {
			out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: next, Limit: aws.Int32(1000)})
			if err != nil {
				b.Fatal(err)
			}
			n += len(out.Records)
			read += len(out.Records)
			next = out.NextShardIterator
		}
	}
	b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "records/s")
}
