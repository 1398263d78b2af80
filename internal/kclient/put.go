package kclient

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// PutRecords limits (AWS): 500 records and 5 MiB per request, 1 MiB per
// record including its partition key.
const (
	MaxBatchRecords = 500
	MaxBatchBytes   = 5 << 20
	MaxRecordBytes  = 1 << 20
)

// Putter writes batches with PutRecords and retries the records a reply
// marks as failed (ProvisionedThroughputExceededException,
// InternalFailure), with exponential backoff and jitter, until all are in,
// MaxRetries rounds have failed, or ctx ends.
type Putter struct {
	Client     *kinesis.Client
	Stream     string
	MaxRetries int           // rounds of per-record retries; 0 means 20
	MinBackoff time.Duration // 0 means 50ms
	MaxBackoff time.Duration // 0 means 5s
}

// PutResult tells what one Put did.
type PutResult struct {
	// Sequence numbers and shards of the entries, in the caller's order.
	SequenceNumbers []string
	ShardIDs        []string
	Requests        int // PutRecords calls made (1 + retry rounds)
	Retried         int // records sent again after a per-record failure
	Latencies       []time.Duration
}

// Put writes entries (at most MaxBatchRecords) and returns once every one
// is stored. A failed request (after the SDK's own retries) is an error;
// so is a record that still fails after MaxRetries rounds.
func (p *Putter) Put(ctx context.Context, entries []types.PutRecordsRequestEntry) (PutResult, error) {
	res := PutResult{
		SequenceNumbers: make([]string, len(entries)),
		ShardIDs:        make([]string, len(entries)),
	}
	maxRetries := p.MaxRetries
	if maxRetries <= 0 {
		maxRetries = 20
	}
	backoff := p.MinBackoff
	if backoff <= 0 {
		backoff = 50 * time.Millisecond
	}
	maxBackoff := p.MaxBackoff
	if maxBackoff <= 0 {
		maxBackoff = 5 * time.Second
	}
	pending := make([]int, len(entries)) // indexes into entries still to write
	for i := range pending {
		pending[i] = i
	}
	for round := 0; ; round++ {
		batch := make([]types.PutRecordsRequestEntry, len(pending))
		for i, idx := range pending {
			batch[i] = entries[idx]
		}
		start := time.Now()
		out, err := p.Client.PutRecords(ctx, &kinesis.PutRecordsInput{
			StreamName: aws.String(p.Stream),
			Records:    batch,
		})
		res.Requests++
		res.Latencies = append(res.Latencies, time.Since(start))
		if err != nil {
			return res, fmt.Errorf("putting %d records to %s: %w", len(batch), p.Stream, err)
		}
		if len(out.Records) != len(batch) {
			return res, fmt.Errorf("putting %d records to %s: reply has %d results", len(batch), p.Stream, len(out.Records))
		}
		var failed []int
		var lastCode, lastMsg string
		for i, r := range out.Records {
			idx := pending[i]
			if r.ErrorCode != nil && *r.ErrorCode != "" {
				failed = append(failed, idx)
				lastCode, lastMsg = *r.ErrorCode, aws.ToString(r.ErrorMessage)
				continue
			}
			res.SequenceNumbers[idx] = aws.ToString(r.SequenceNumber)
			res.ShardIDs[idx] = aws.ToString(r.ShardId)
		}
		if len(failed) == 0 {
			return res, nil
		}
		if round >= maxRetries {
			return res, fmt.Errorf("putting to %s: %d records still failing after %d retries: %s: %s",
				p.Stream, len(failed), maxRetries, lastCode, lastMsg)
		}
		res.Retried += len(failed)
		pending = failed
		// Full jitter: sleep a random time up to the current backoff.
		if err := sleep(ctx, time.Duration(rand.Int64N(int64(backoff))+1)); err != nil {
			return res, fmt.Errorf("putting to %s: %w", p.Stream, err)
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// EntrySize is what an entry counts against the 5 MiB request limit.
func EntrySize(e types.PutRecordsRequestEntry) int {
	return len(e.Data) + len(aws.ToString(e.PartitionKey))
}
