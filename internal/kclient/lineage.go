package kclient

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// lineage is the reader's view of a stream's shard tree. It is owned by
// Reader.Run's goroutine.
type lineage struct {
	shards  map[string]types.Shard
	order   []string // as listed (AWS lists parents before children)
	root    string   // read only this shard and its descendants ("" = all)
	started map[string]bool
	done    map[string]bool
}

func newLineage(shards []types.Shard) *lineage {
	l := &lineage{shards: map[string]types.Shard{}, started: map[string]bool{}, done: map[string]bool{}}
	l.add(shards)
	return l
}

func (l *lineage) add(shards []types.Shard) {
	for _, s := range shards {
		id := aws.ToString(s.ShardId)
		if _, ok := l.shards[id]; !ok {
			l.order = append(l.order, id)
		}
		l.shards[id] = s
	}
}

func (l *lineage) has(id string) bool { _, ok := l.shards[id]; return ok }

func (l *lineage) parents(id string) []string {
	s := l.shards[id]
	var ps []string
	for _, p := range []*string{s.ParentShardId, s.AdjacentParentShardId} {
		if p != nil && *p != "" && l.has(*p) {
			ps = append(ps, *p)
		}
	}
	return ps
}

// included reports whether id is the root or descends from it.
func (l *lineage) included(id string) bool {
	return l.includedDepth(id, 0)
}

func (l *lineage) includedDepth(id string, depth int) bool {
	if l.root == "" || id == l.root {
		return true
	}
	if depth > len(l.shards) { // a cycle in bad server data
		return false
	}
	for _, p := range l.parents(id) {
		if l.includedDepth(p, depth+1) {
			return true
		}
	}
	return false
}

// ready returns the shards to start now: included, not started or done,
// and every included parent finished. Parents that expired out of the
// shard list do not hold their children back.
func (l *lineage) ready() []string {
	var ids []string
	for _, id := range l.order {
		if l.started[id] || l.done[id] || !l.included(id) {
			continue
		}
		ok := true
		for _, p := range l.parents(id) {
			if l.included(p) && !l.done[p] {
				ok = false
				break
			}
		}
		if ok {
			ids = append(ids, id)
		}
	}
	return ids
}
