package kclient

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/penstock/penstock/internal/kclient/wire"
)

// wireBatch is what a lean shard read hands on for a GetRecords call that
// returned records: their count and decoded data bytes (the records stay in
// the shard reader's reused output).
type wireBatch struct {
	records int
	bytes   int64
	latency time.Duration
}

// wireShard returns a shardFunc that reads with the lean client, as
// readShard does with the SDK's.
func (r *Reader) wireShard(c *wire.Client) shardFunc[wireBatch] {
	return func(ctx context.Context, id string, pos Position, out chan<- wireBatch) (bool, error) {
		limit := int(r.Limit)
		if limit <= 0 {
			limit = 10000
		}
		poll := r.PollInterval
		if poll <= 0 {
			poll = 200 * time.Millisecond
		}
		it, err := c.GetShardIterator(ctx, pos.wireInput(r.Stream, id))
		if err != nil {
			return false, err
		}
		var resp wire.GetRecordsOutput
		backoff := 100 * time.Millisecond
		for {
			start := time.Now()
			err := c.GetRecords(ctx, it, limit, &resp)
			latency := time.Since(start)
			if err != nil {
				if ctx.Err() != nil {
					return false, nil
				}
				switch {
				case wire.IsCode(err, wire.CodeExpiredIterator):
					// Resume where we were: pos has moved past what we sent.
					if it, err = c.GetShardIterator(ctx, pos.wireInput(r.Stream, id)); err != nil {
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
			if n := len(resp.Records); n > 0 {
				pos = Position{Type: types.ShardIteratorTypeAfterSequenceNumber, Sequence: string(resp.Records[n-1].SequenceNumber)}
				select {
				case out <- wireBatch{records: n, bytes: resp.DataBytes(), latency: latency}:
				case <-ctx.Done():
					return false, nil
				}
			}
			if resp.NextShardIterator == "" {
				return true, nil
			}
			it = resp.NextShardIterator
			if len(resp.Records) == 0 {
				if !r.Follow && resp.MillisBehindLatest == 0 {
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
}
