package esm

import (
	"context"
	"errors"
	"fmt"

	"github.com/penstock/penstock/internal/kinesis"
)

// KinesisStreams adapts the Kinesis service's Go API to Streams.
func KinesisStreams(s *kinesis.Service) Streams { return kinesisStreams{s} }

type kinesisStreams struct{ s *kinesis.Service }

func (k kinesisStreams) Shards(ctx context.Context, arn string) (Stream, error) {
	st, err := k.s.Shards(ctx, arn)
	if errors.Is(err, kinesis.ErrStreamNotFound) {
		return Stream{}, fmt.Errorf("%w: %w", ErrStreamNotFound, err)
	}
	if err != nil {
		return Stream{}, err
	}
	out := Stream{Name: st.Name, ARN: st.ARN, Shards: make([]Shard, len(st.Shards))}
	for i, sh := range st.Shards {
		out.Shards[i] = Shard{ID: sh.ID, LogID: sh.LogID, ParentShardID: sh.ParentShardID,
			AdjacentParentShardID: sh.AdjacentParentShardID, Closed: sh.Closed, EndSeq: sh.EndSeq}
	}
	return out, nil
}

func (k kinesisStreams) WatchShards(arn string) (<-chan struct{}, func()) {
	return k.s.WatchShards(arn)
}

func (k kinesisStreams) SequenceNumber(shardID string, seq uint64) string {
	idx, err := kinesis.ShardIndex(shardID)
	if err != nil {
		return fmt.Sprint(seq)
	}
	return kinesis.SequenceNumber(idx, seq)
}
