package kinesis_test

import (
	"fmt"
	"math/big"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

func byID(all []types.Shard) map[string]types.Shard {
	m := map[string]types.Shard{}
	for _, sh := range all {
		m[*sh.ShardId] = sh
	}
	return m
}

func open(all []types.Shard) []types.Shard {
	var out []types.Shard
	for _, sh := range all {
		if sh.SequenceNumberRange.EndingSequenceNumber == nil {
			out = append(out, sh)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := new(big.Int).SetString(*out[i].HashKeyRange.StartingHashKey, 10)
		b, _ := new(big.Int).SetString(*out[j].HashKeyRange.StartingHashKey, 10)
		return a.Cmp(b) < 0
	})
	return out
}

// checkLayout asserts the open shards tile [0, 2^128-1] without gaps and
// every shard's parents are closed.
func checkLayout(t *testing.T, all []types.Shard) {
	t.Helper()
	ids := byID(all)
	next := big.NewInt(0)
	for _, sh := range open(all) {
		start, _ := new(big.Int).SetString(*sh.HashKeyRange.StartingHashKey, 10)
		end, _ := new(big.Int).SetString(*sh.HashKeyRange.EndingHashKey, 10)
		if start.Cmp(next) != 0 {
			t.Fatalf("gap or overlap before %s: starts %s, want %s", *sh.ShardId, start, next)
		}
		next = new(big.Int).Add(end, big.NewInt(1))
	}
	if next.Cmp(new(big.Int).Lsh(big.NewInt(1), 128)) != 0 {
		t.Fatalf("open shards end at %s", next)
	}
	for _, sh := range all {
		for _, p := range []*string{sh.ParentShardId, sh.AdjacentParentShardId} {
			if p == nil {
				continue
			}
			parent, ok := ids[*p]
			if !ok || parent.SequenceNumberRange.EndingSequenceNumber == nil {
				t.Fatalf("%s has parent %s that is missing or open", *sh.ShardId, *p)
			}
		}
	}
}

func TestReshard_SplitMerge(t *testing.T) {
	t.Parallel()
	c, _ := start(t, nil)
	createStream(t, c, "x", 2)
	ctx := t.Context()
	name := aws.String("x")
	var last *kinesis.PutRecordOutput
	for i := range 3 {
		last = putHash(t, c, "x", "0", fmt.Sprint("before-", i))
	}
	s0 := shards(t, c, "x")[0]
	mid := new(big.Int).Rsh(bigOf(*s0.HashKeyRange.EndingHashKey), 1).String()
	if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: name, ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String(mid)}); err != nil {
		t.Fatal(err)
	}
	all := byID(shards(t, c, "x"))
	parent := all["shardId-000000000000"]
	if parent.SequenceNumberRange.EndingSequenceNumber == nil || *parent.SequenceNumberRange.EndingSequenceNumber < *last.SequenceNumber {
		t.Fatalf("closed parent's end %v below its last record %s", parent.SequenceNumberRange.EndingSequenceNumber, *last.SequenceNumber)
	}
	for _, id := range []string{"shardId-000000000002", "shardId-000000000003"} {
		if sh, ok := all[id]; !ok || *sh.ParentShardId != "shardId-000000000000" || sh.AdjacentParentShardId != nil {
			t.Fatalf("child %s: %+v", id, sh)
		}
	}
	if *all["shardId-000000000003"].HashKeyRange.StartingHashKey != mid {
		t.Fatalf("second child starts at %s, want %s", *all["shardId-000000000003"].HashKeyRange.StartingHashKey, mid)
	}
	// New writes go to the children; the parent ends with ChildShards and
	// no NextShardIterator.
	if out := putHash(t, c, "x", "0", "after"); *out.ShardId != "shardId-000000000002" {
		t.Fatalf("write after split went to %s", *out.ShardId)
	}
	recs, res := readAll(t, c, iter(t, c, "x", "shardId-000000000000", types.ShardIteratorTypeTrimHorizon, nil))
	for res.NextShardIterator != nil {
		more, r := readAll(t, c, *res.NextShardIterator)
		recs, res = append(recs, more...), r
	}
	if len(recs) != 3 || len(res.ChildShards) != 2 || *res.ChildShards[0].ShardId != "shardId-000000000002" ||
		res.ChildShards[0].ParentShards[0] != "shardId-000000000000" {
		t.Fatalf("closed parent: %d records, children %+v", len(recs), res.ChildShards)
	}
	// LATEST on a closed shard reaches the end at once.
	_, res = readAll(t, c, iter(t, c, "x", "shardId-000000000000", types.ShardIteratorTypeLatest, nil))
	if res.NextShardIterator != nil || len(res.ChildShards) != 2 {
		t.Fatalf("LATEST on closed shard: next=%v children=%d", res.NextShardIterator, len(res.ChildShards))
	}

	// Merge shard 3 ([mid, end0]) with shard 1 ([end0+1, max]).
	if _, err := c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: name, ShardToMerge: aws.String("shardId-000000000003"), AdjacentShardToMerge: aws.String("shardId-000000000001")}); err != nil {
		t.Fatal(err)
	}
	all = byID(shards(t, c, "x"))
	m := all["shardId-000000000004"]
	if *m.ParentShardId != "shardId-000000000003" || *m.AdjacentParentShardId != "shardId-000000000001" ||
		*m.HashKeyRange.StartingHashKey != mid || *m.HashKeyRange.EndingHashKey != "340282366920938463463374607431768211455" {
		t.Fatalf("merged shard: %+v", m)
	}
	checkLayout(t, shards(t, c, "x"))

	errCases := []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{"split at start+1", func() error {
			_, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: name, ShardToSplit: aws.String("shardId-000000000002"), NewStartingHashKey: aws.String("1")})
			return err
		}, "InvalidArgumentException", fmt.Sprintf("NewStartingHashKey 1 used in SplitShard() on shard shardId-000000000002 in stream x under account 000000000000 is not both greater than one plus the shard's StartingHashKey 0 and less than the shard's EndingHashKey %s.", new(big.Int).Sub(bigOf(mid), big.NewInt(1)))},
		{"split a closed shard", func() error {
			_, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: name, ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("5")})
			return err
		}, "InvalidArgumentException", ""},
		{"split a missing shard", func() error {
			_, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: name, ShardToSplit: aws.String("shardId-000000000099"), NewStartingHashKey: aws.String("5")})
			return err
		}, "ResourceNotFoundException", "Could not find shard shardId-000000000099 in stream x under account 000000000000."},
		{"merge non-adjacent", func() error {
			// 2 = [0, mid-1], and the only other open shard 4 starts at mid:
			// adjacent. Merge 2 with itself instead.
			_, err := c.MergeShards(ctx, &kinesis.MergeShardsInput{StreamName: name, ShardToMerge: aws.String("shardId-000000000002"), AdjacentShardToMerge: aws.String("shardId-000000000002")})
			return err
		}, "InvalidArgumentException", "Shards shardId-000000000002 and shardId-000000000002 in stream x under account 000000000000 are not an adjacent pair of shards eligible for merging"},
		{"scale over double", func() error {
			_, err := c.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: name, TargetShardCount: aws.Int32(5), ScalingType: types.ScalingTypeUniformScaling})
			return err
		}, "LimitExceededException", "UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: 2 Target shard count: 5"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) { apiError(t, tc.call(), tc.code, tc.msg) })
	}
}

func TestReshard_UpdateShardCount(t *testing.T) {
	t.Parallel()
	c, _ := start(t, nil)
	createStream(t, c, "u", 2)
	ctx := t.Context()
	for _, target := range []int32{4, 3, 6, 3} {
		out, err := c.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String("u"), TargetShardCount: aws.Int32(target), ScalingType: types.ScalingTypeUniformScaling})
		if err != nil {
			t.Fatalf("scale to %d: %v", target, err)
		}
		if *out.TargetShardCount != target {
			t.Fatalf("TargetShardCount %d", *out.TargetShardCount)
		}
		all := shards(t, c, "u")
		checkLayout(t, all)
		o := open(all)
		if len(o) != int(target) {
			t.Fatalf("scale to %d: %d open shards", target, len(o))
		}
		step := new(big.Int).Div(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(int64(target)))
		for i, sh := range o {
			if want := new(big.Int).Mul(step, big.NewInt(int64(i))).String(); *sh.HashKeyRange.StartingHashKey != want {
				t.Fatalf("scale to %d: shard %d starts at %s, want %s", target, i, *sh.HashKeyRange.StartingHashKey, want)
			}
		}
		// Every key still routes to an open shard.
		for i := range 20 {
			out := put(t, c, "u", fmt.Sprint("k", i), "v")
			if byID(all)[*out.ShardId].SequenceNumberRange.EndingSequenceNumber != nil {
				t.Fatalf("write went to closed shard %s", *out.ShardId)
			}
		}
	}
}

func putHash(t *testing.T, c *kinesis.Client, name, hash, data string) *kinesis.PutRecordOutput {
	t.Helper()
	out, err := c.PutRecord(t.Context(), &kinesis.PutRecordInput{StreamName: aws.String(name), PartitionKey: aws.String("k"), Data: []byte(data), ExplicitHashKey: aws.String(hash)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func bigOf(s string) *big.Int {
	n, _ := new(big.Int).SetString(s, 10)
	return n
}

// Writers racing a split: every acknowledged record is in the shard its
// answer named, at or below a closed shard's EndingSequenceNumber, and
// readable there.
func TestReshard_WritesRacingSplit(t *testing.T) {
	t.Parallel()
	c, _ := start(t, nil)
	createStream(t, c, "race", 1)
	ctx := t.Context()
	type ack struct{ shard, seq, data string }
	acks := make(chan ack)
	stop := make(chan struct{})
	done := make(chan error, 4)
	for w := range 4 {
		go func() {
			for i := 0; ; i++ {
				data := fmt.Sprintf("w%d-%d", w, i)
				out, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("race"), PartitionKey: aws.String(data), Data: []byte(data)})
				if err != nil {
					done <- err
					return
				}
				select {
				case acks <- ack{*out.ShardId, *out.SequenceNumber, data}:
				case <-stop:
					done <- nil
					return
				}
			}
		}()
	}
	// Collect writes while they flow, split, collect more.
	var got []ack
	for len(got) < 50 {
		got = append(got, <-acks)
	}
	split := make(chan error, 1)
	go func() {
		_, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("race"), ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("170141183460469231731687303715884105728")})
		split <- err
	}()
	splitDone := false
	for !splitDone || len(got) < 150 {
		select {
		case a := <-acks:
			got = append(got, a)
		case err := <-split:
			if err != nil {
				t.Fatal(err)
			}
			splitDone = true
		}
	}
	close(stop)
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	all := byID(shards(t, c, "race"))
	stored := map[string]map[string]string{} // shard -> seq -> data
	for id := range all {
		recs, res := readAll(t, c, iter(t, c, "race", id, types.ShardIteratorTypeTrimHorizon, nil))
		for res.NextShardIterator != nil && len(res.Records) > 0 {
			more, r := readAll(t, c, *res.NextShardIterator)
			recs, res = append(recs, more...), r
		}
		stored[id] = map[string]string{}
		for _, r := range recs {
			stored[id][*r.SequenceNumber] = string(r.Data)
		}
	}
	end := *all["shardId-000000000000"].SequenceNumberRange.EndingSequenceNumber
	n := 0
	for _, a := range got {
		n++
		if got := stored[a.shard][a.seq]; got != a.data {
			t.Fatalf("acknowledged %s at %s/%s, stored %q", a.data, a.shard, a.seq, got)
		}
		if a.shard == "shardId-000000000000" && a.seq > end {
			t.Fatalf("record %s in the closed shard above its end %s", a.seq, end)
		}
	}
	if n < 150 || len(stored["shardId-000000000001"])+len(stored["shardId-000000000002"]) == 0 {
		t.Fatalf("%d acks; children hold %d+%d records", n, len(stored["shardId-000000000001"]), len(stored["shardId-000000000002"]))
	}
}
