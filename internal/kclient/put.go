package kclient

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/penstock/penstock/internal/kclient/wire"
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
	var batch []types.PutRecordsRequestEntry
	err := putRounds(ctx, p.Stream, len(entries), p.retries(), &res, func(pending []int) (failed []int, last putFailure, err error) {
		batch = batch[:0]
		for _, idx := range pending {
			batch = append(batch, entries[idx])
		}
		out, err := p.Client.PutRecords(ctx, &kinesis.PutRecordsInput{
			StreamName: aws.String(p.Stream),
			Records:    batch,
		})
		if err != nil {
			return nil, last, fmt.Errorf("putting %d records to %s: %w", len(batch), p.Stream, err)
		}
		if len(out.Records) != len(batch) {
			return nil, last, fmt.Errorf("putting %d records to %s: reply has %d results", len(batch), p.Stream, len(out.Records))
		}
		for i, r := range out.Records {
			idx := pending[i]
			if r.ErrorCode != nil && *r.ErrorCode != "" {
				failed = append(failed, idx)
				last = putFailure{*r.ErrorCode, aws.ToString(r.ErrorMessage)}
				continue
			}
			res.SequenceNumbers[idx] = aws.ToString(r.SequenceNumber)
			res.ShardIDs[idx] = aws.ToString(r.ShardId)
		}
		return failed, last, nil
	})
	return res, err
}

func (p *Putter) retries() putRetries {
	return putRetries{max: p.MaxRetries, minBackoff: p.MinBackoff, maxBackoff: p.MaxBackoff}
}

// WirePutter is Putter on the lean client (package wire): the same
// per-record retries, entries as wire.Entry. It keeps the last reply's
// buffers for the next Put, so one WirePutter serves one goroutine.
type WirePutter struct {
	Client     *wire.Client
	Stream     string
	MaxRetries int           // rounds of per-record retries; 0 means 20
	MinBackoff time.Duration // 0 means 50ms
	MaxBackoff time.Duration // 0 means 5s
	// NoSequences leaves PutResult.SequenceNumbers and ShardIDs nil, which
	// saves two strings per record when nobody reads them.
	NoSequences bool

	out   wire.PutRecordsOutput
	batch []wire.Entry
}

// Put writes entries (at most MaxBatchRecords) as Putter.Put does.
func (p *WirePutter) Put(ctx context.Context, entries []wire.Entry) (PutResult, error) {
	var res PutResult
	if !p.NoSequences {
		res.SequenceNumbers = make([]string, len(entries))
		res.ShardIDs = make([]string, len(entries))
	}
	retries := putRetries{max: p.MaxRetries, minBackoff: p.MinBackoff, maxBackoff: p.MaxBackoff}
	err := putRounds(ctx, p.Stream, len(entries), retries, &res, func(pending []int) (failed []int, last putFailure, err error) {
		batch := entries
		if len(pending) != len(entries) { // a retry round: the failed ones only
			p.batch = p.batch[:0]
			for _, idx := range pending {
				p.batch = append(p.batch, entries[idx])
			}
			batch = p.batch
		}
		if err := p.Client.PutRecords(ctx, p.Stream, batch, &p.out); err != nil {
			return nil, last, err
		}
		for i := range p.out.Records {
			r := &p.out.Records[i]
			idx := pending[i]
			if len(r.ErrorCode) > 0 {
				failed = append(failed, idx)
				last = putFailure{string(r.ErrorCode), string(r.ErrorMessage)}
				continue
			}
			if !p.NoSequences {
				res.SequenceNumbers[idx] = string(r.SequenceNumber)
				res.ShardIDs[idx] = string(r.ShardID)
			}
		}
		return failed, last, nil
	})
	return res, err
}

// putRetries is the per-record retry schedule of Putter and WirePutter.
type putRetries struct {
	max                    int // rounds; 0 means 20
	minBackoff, maxBackoff time.Duration
}

// putFailure is a record's error code and message.
type putFailure struct{ code, msg string }

// putRounds sends all n entries, then again the ones a reply marked as
// failed, after a backoff with full jitter, until none fails. send writes
// the entries at the pending indexes and returns those that failed.
func putRounds(ctx context.Context, stream string, n int, o putRetries, res *PutResult,
	send func(pending []int) (failed []int, last putFailure, err error)) error {
	if o.max <= 0 {
		o.max = 20
	}
	backoff := o.minBackoff
	if backoff <= 0 {
		backoff = 50 * time.Millisecond
	}
	if o.maxBackoff <= 0 {
		o.maxBackoff = 5 * time.Second
	}
	pending := make([]int, n) // indexes of the entries still to write
	for i := range pending {
		pending[i] = i
	}
	for round := 0; ; round++ {
		start := time.Now()
		failed, last, err := send(pending)
		res.Requests++
		res.Latencies = append(res.Latencies, time.Since(start))
		if err != nil {
			return err
		}
		if len(failed) == 0 {
			return nil
		}
		if round >= o.max {
			return fmt.Errorf("putting to %s: %d records still failing after %d retries: %s: %s",
				stream, len(failed), o.max, last.code, last.msg)
		}
		res.Retried += len(failed)
		pending = failed
		// Full jitter: sleep a random time up to the current backoff.
		if err := sleep(ctx, time.Duration(rand.Int64N(int64(backoff))+1)); err != nil {
			return fmt.Errorf("putting to %s: %w", stream, err)
		}
		backoff = min(backoff*2, o.maxBackoff)
	}
}

// EntrySize is what an entry counts against the 5 MiB request limit.
func EntrySize(e types.PutRecordsRequestEntry) int {
	return len(e.Data) + len(aws.ToString(e.PartitionKey))
}
