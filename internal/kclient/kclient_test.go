package kclient

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

func TestParsePosition(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	good := map[string]Position{
		"trim-horizon":                      TrimHorizon,
		"latest":                            {Type: types.ShardIteratorTypeLatest},
		"at-timestamp=2026-01-02T03:04:05Z": {Type: types.ShardIteratorTypeAtTimestamp, Timestamp: ts},
		"at-sequence=4968":                  {Type: types.ShardIteratorTypeAtSequenceNumber, Sequence: "4968"},
		"after-sequence=4968":               {Type: types.ShardIteratorTypeAfterSequenceNumber, Sequence: "4968"},
	}
	for in, want := range good {
		got, err := ParsePosition(in)
		if err != nil || got.Type != want.Type || got.Sequence != want.Sequence || !got.Timestamp.Equal(want.Timestamp) {
			t.Errorf("ParsePosition(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if got.String() != in {
			t.Errorf("ParsePosition(%q).String() = %q", in, got.String())
		}
	}
	for _, in := range []string{"", "oldest", "at-timestamp=yesterday", "at-sequence=", "latest=1"} {
		if _, err := ParsePosition(in); err == nil {
			t.Errorf("ParsePosition(%q) accepted", in)
		}
	}
}

func shard(id, parent, adjacent string) types.Shard {
	s := types.Shard{ShardId: aws.String(id)}
	if parent != "" {
		s.ParentShardId = aws.String(parent)
	}
	if adjacent != "" {
		s.AdjacentParentShardId = aws.String(adjacent)
	}
	return s
}

func TestLineageStartsChildrenAfterParents(t *testing.T) {
	// 0 and 1 are roots; 0 split into 2 and 3; 3 and 1 merged into 4.
	l := newLineage([]types.Shard{
		shard("0", "", ""), shard("1", "", ""), shard("2", "0", ""),
		shard("3", "0", ""), shard("4", "3", "1"),
	})
	step := func(want ...string) {
		t.Helper()
		got := l.ready()
		if !slices.Equal(got, want) {
			t.Fatalf("ready() = %v, want %v", got, want)
		}
		for _, id := range got {
			l.started[id] = true
		}
	}
	step("0", "1")
	step()
	l.done["0"] = true
	step("2", "3")
	l.done["3"] = true
	step() // 4 still waits for its adjacent parent 1
	l.done["1"] = true
	step("4")

	l = newLineage(l.order2shards())
	l.root = "3"
	step("3")
	l.done["3"] = true
	step("4") // 1 is outside the subtree: 4 does not wait for it
}

func (l *lineage) order2shards() []types.Shard {
	var s []types.Shard
	for _, id := range l.order {
		s = append(s, l.shards[id])
	}
	return s
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for q, want := range map[float64]time.Duration{0.5: 50 * time.Millisecond, 0.99: 99 * time.Millisecond, 1: 100 * time.Millisecond} {
		if got := Percentile(d, q); got != want {
			t.Errorf("Percentile(%v) = %v, want %v", q, got, want)
		}
	}
	if got := Percentile(nil, 0.5); got != 0 {
		t.Errorf("Percentile(nil) = %v", got)
	}
}
