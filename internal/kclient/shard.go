package kclient

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/penstock/penstock/internal/kclient/wire"
)

// readShard reads one shard from pos with the SDK client (a shardFunc).
func (r *Reader) readShard(ctx context.Context, id string, pos Position, out chan<- Batch) (closed bool, err error) {
	limit := r.Limit
	if limit <= 0 {
		limit = 10000
	}
	poll := r.PollInterval
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	it, err := r.iterator(ctx, id, pos)
	if err != nil {
		return false, err
	}
	backoff := 100 * time.Millisecond
	for {
		start := time.Now()
		resp, err := r.Client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it), Limit: aws.Int32(limit)})
		latency := time.Since(start)
		if err != nil {
			if ctx.Err() != nil {
				return false, nil
			}
			switch {
			case wire.IsCode(err, wire.CodeExpiredIterator):
				// Resume where we were: pos has moved past what we sent.
				if it, err = r.iterator(ctx, id, pos); err != nil {
					return false, err
				}
				continue
			case wire.IsThrottled(err):
				if err := sleep(ctx, backoff); err != nil {
					return false, nil
				}
				backoff = min(backoff*2, 5*time.Second)
				continue
			}
			return false, fmt.Errorf("reading %s of %s: %w", id, r.Stream, err)
		}
		backoff = 100 * time.Millisecond
		behind := aws.ToInt64(resp.MillisBehindLatest)
		if n := len(resp.Records); n > 0 {
			pos = Position{Type: types.ShardIteratorTypeAfterSequenceNumber, Sequence: aws.ToString(resp.Records[n-1].SequenceNumber)}
			select {
			case out <- Batch{ShardID: id, Records: resp.Records, MillisBehindLatest: behind, Latency: latency}:
			case <-ctx.Done():
				return false, nil
			}
		}
		if resp.NextShardIterator == nil || *resp.NextShardIterator == "" {
			return true, nil
		}
		it = *resp.NextShardIterator
		if len(resp.Records) == 0 {
			if !r.Follow && behind == 0 {
				return false, nil
			}
			if r.Follow {
				if err := sleep(ctx, poll); err != nil {
					return false, nil
				}
			}
		}
	}
}

func (r *Reader) iterator(ctx context.Context, id string, pos Position) (string, error) {
	out, err := r.Client.GetShardIterator(ctx, pos.iteratorInput(r.Stream, id))
	if err != nil {
		return "", fmt.Errorf("getting a %s iterator for %s of %s: %w", pos, id, r.Stream, err)
	}
	return aws.ToString(out.ShardIterator), nil
}
