package kclient

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Reader reads every shard of a stream with GetShardIterator and
// GetRecords, one goroutine per shard, and follows reshards: a shard whose
// parents are being read starts once they are finished (closed and read to
// their end), so each partition key's records come out in order across
// splits and merges.
//
// Starting positions: trim-horizon and at-timestamp apply to every shard.
// latest applies to the shards open when Run starts (closed shards are
// skipped); shards created later are read from their trim horizon. A
// sequence-number position applies to the one shard that owns the number;
// Run then reads that shard and its descendants only.
type Reader struct {
	Client *kinesis.Client
	Stream string
	From   Position
	// Shard restricts reading to one shard and its descendants ("" = all).
	Shard string
	// Follow keeps reading until ctx ends. Without it each shard stops once
	// a GetRecords reply is empty and MillisBehindLatest is 0 (caught up),
	// or once a closed shard is read to its end.
	Follow bool
	// Limit is GetRecords' Limit (0 = 10000, the AWS maximum).
	Limit int32
	// PollInterval is the pause after an empty read when following (0 =
	// 200ms, which keeps under AWS's 5 GetRecords calls/s per shard).
	PollInterval time.Duration
}

// Batch is the result of one GetRecords call that returned records.
type Batch struct {
	ShardID            string
	Records            []types.Record
	MillisBehindLatest int64
	Latency            time.Duration // of the GetRecords call
}

type shardEnd struct {
	id     string
	closed bool
	err    error
}

// Run reads until caught up (or, with Follow, until ctx ends) and calls
// emit for each non-empty batch, from one goroutine. Records of one shard
// reach emit in shard order. An error from emit stops Run and is returned.
func (r *Reader) Run(ctx context.Context, emit func(Batch) error) error {
	return runShards(ctx, r, r.readShard, emit)
}

// shardFunc reads one shard from pos and hands its batches to out. It
// returns closed=true when the shard ended (split or merged away), false
// when caught up without Follow or when ctx ended while following.
type shardFunc[B any] func(ctx context.Context, id string, pos Position, out chan<- B) (closed bool, err error)

// runShards is Reader.Run for any way of reading a shard and any batch
// type: the lineage, positions and reshard handling are the same.
func runShards[B any](ctx context.Context, r *Reader, read shardFunc[B], emit func(B) error) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	shards, err := ListShards(ctx, r.Client, r.Stream)
	if err != nil {
		return err
	}
	l := newLineage(shards)
	root := r.Shard
	if root != "" && !l.has(root) {
		return fmt.Errorf("stream %s has no shard %s", r.Stream, root)
	}
	if r.From.bySequence() {
		root, err = r.owner(ctx, l, root)
		if err != nil {
			return err
		}
	}
	l.root = root
	initial := map[string]bool{}
	for _, s := range shards {
		initial[aws.ToString(s.ShardId)] = true
		if r.From.Type == types.ShardIteratorTypeLatest && s.SequenceNumberRange != nil &&
			s.SequenceNumberRange.EndingSequenceNumber != nil {
			l.done[aws.ToString(s.ShardId)] = true // closed before we started: nothing new can come
		}
	}
	position := func(id string) Position {
		switch {
		case r.From.bySequence() && id != root:
			return TrimHorizon
		case r.From.Type == types.ShardIteratorTypeLatest && !initial[id]:
			return TrimHorizon
		default:
			return r.From
		}
	}

	batches := make(chan B, 16)
	ends := make(chan shardEnd)
	running := 0
	start := func() {
		for _, id := range l.ready() {
			l.started[id] = true
			running++
			wg.Add(1)
			go func(id string, pos Position) {
				defer wg.Done()
				closed, err := read(ctx, id, pos, batches)
				select {
				case ends <- shardEnd{id, closed, err}:
				case <-ctx.Done():
				}
			}(id, position(id))
		}
	}
	start()
	relist := time.NewTicker(5 * time.Second)
	defer relist.Stop()
	for {
		if running == 0 && !r.Follow {
			return nil
		}
		select {
		case <-ctx.Done():
			if r.Follow {
				return nil // interrupted: the normal end of following
			}
			return ctx.Err()
		case b := <-batches:
			if err := emit(b); err != nil {
				return err
			}
		case e := <-ends:
			running--
			if e.err != nil {
				return e.err
			}
			l.done[e.id] = true
			if e.closed { // a reshard: its children are in the shard list now
				if err := r.refresh(ctx, l); err != nil {
					return err
				}
			}
			// Deliver what the shard sent before it ended ahead of its children.
			if err := drain(batches, emit); err != nil {
				return err
			}
			start()
		case <-relist.C:
			if running == 0 { // following a stream with nothing to read yet
				if err := r.refresh(ctx, l); err != nil {
					return err
				}
				start()
			}
		}
	}
}

func drain[B any](batches <-chan B, emit func(B) error) error {
	for {
		select {
		case b := <-batches:
			if err := emit(b); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

func (r *Reader) refresh(ctx context.Context, l *lineage) error {
	shards, err := ListShards(ctx, r.Client, r.Stream)
	if err != nil {
		return err
	}
	l.add(shards)
	return nil
}

// owner finds the shard that accepts the sequence-number position.
func (r *Reader) owner(ctx context.Context, l *lineage, only string) (string, error) {
	candidates := l.order
	if only != "" {
		candidates = []string{only}
	}
	var lastErr error
	for _, id := range candidates {
		_, err := r.Client.GetShardIterator(ctx, r.From.iteratorInput(r.Stream, id))
		if err == nil {
			return id, nil
		}
		var bad *types.InvalidArgumentException
		if !errors.As(err, &bad) {
			return "", fmt.Errorf("finding the shard of sequence number %s: %w", r.From.Sequence, err)
		}
		lastErr = err
	}
	return "", fmt.Errorf("no shard of %s accepts sequence number %s: %w", r.Stream, r.From.Sequence, lastErr)
}
