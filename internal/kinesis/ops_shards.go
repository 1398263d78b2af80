package kinesis

import (
	"context"
	"errors"
	"math/big"
	"sort"
	"time"
)

func (s *Service) listShards(ctx context.Context, r *reader) (any, error) {
	var v validator
	name := r.str("StreamName")
	v.str("streamName", name, false, 1, 128, reStreamName)
	next := r.str("NextToken")
	v.str("nextToken", next, false, 1, 1048576, nil)
	start := r.str("ExclusiveStartShardId")
	v.str("exclusiveStartShardId", start, false, 1, 128, reShardID)
	maxRes := r.integer("MaxResults")
	v.integer("maxResults", maxRes, false, i64(1), i64(10000))
	created := r.timestamp("StreamCreationTimestamp")
	var fType, fShard *string
	var fTime *time.Time
	if f := r.object("ShardFilter"); f != nil {
		fType = f.str("Type")
		v.enum("shardFilter.type", fType, true, "AFTER_SHARD_ID", "AT_TRIM_HORIZON", "FROM_TRIM_HORIZON", "AT_LATEST", "AT_TIMESTAMP", "FROM_TIMESTAMP")
		fShard = f.str("ShardId")
		v.str("shardFilter.shardId", fShard, false, 1, 128, reShardID)
		fTime = f.timestamp("Timestamp")
	}
	arn := r.str("StreamARN")
	v.str("streamARN", arn, false, 1, 2048, reStreamARN)
	_ = r.str("StreamId")
	if err := check(r, &v); err != nil {
		return nil, err
	}
	var tok listToken
	switch {
	case next != nil && (name != nil || arn != nil || start != nil || created != nil):
		return nil, errInvalidArgument("NextToken and StreamName cannot be provided together.")
	case next != nil:
		t, err := s.decodeToken(*next)
		if errors.Is(err, errBadToken) || (err == nil && t.Stream == "") {
			return nil, errInvalidArgument("Invalid ShardToken.")
		} else if err != nil {
			return nil, err
		}
		tok = t
	case name == nil && arn == nil:
		return nil, errInvalidArgument("Either NextToken or StreamName should be provided.")
	default:
		tok.Filter = "FROM_TRIM_HORIZON"
		if fType != nil {
			tok.Filter = *fType
		}
		switch tok.Filter {
		case "AFTER_SHARD_ID":
			if fShard == nil {
				return nil, errInvalidArgument("ShardId must be specified when ShardFilter Type is AFTER_SHARD_ID.")
			}
			tok.After = *fShard
		case "AT_TIMESTAMP", "FROM_TIMESTAMP":
			if fTime == nil {
				return nil, errInvalidArgument("Timestamp must be specified when ShardFilter Type is %s.", tok.Filter)
			}
			tok.At = fTime.UnixMilli()
		}
		if start != nil {
			tok.After = *start
		}
		if maxRes != nil {
			tok.Max = int(*maxRes)
		}
	}
	var m *streamMeta
	var err error
	if next != nil {
		m, _, err = s.reg.get(ctx, tok.Stream)
		if err == nil && (m == nil || m.Epoch != tok.Epoch) {
			err = errStreamNotFound(tok.Stream, s.o.AccountID)
		}
		if maxRes != nil {
			tok.Max = int(*maxRes)
		}
	} else {
		m, err = s.lookup(ctx, streamRef{name: name, arn: arn})
	}
	if err != nil {
		return nil, err
	}
	if created != nil && !created.Equal(m.Created) && created.UnixMilli()/1000 != m.Created.Unix() {
		return nil, errStreamNotFound(m.Name, s.o.AccountID)
	}
	limit := 1000
	if tok.Max > 0 && tok.Max < limit {
		limit = tok.Max
	}
	after := -1
	if tok.After != "" {
		if idx, err := ShardIndex(tok.After); err == nil {
			after = idx
		}
	}
	keep := s.shardFilter(m, tok)
	shards := []any{}
	last := -1
	more := false
	for i := range m.Shards {
		sh := &m.Shards[i]
		if sh.Index <= after || !keep(sh) {
			continue
		}
		if len(shards) == limit {
			more = true
			break
		}
		shards = append(shards, shardOut(sh))
		last = sh.Index
	}
	out := map[string]any{"Shards": shards}
	if more {
		tok.Stream, tok.Epoch, tok.After, tok.Issued = m.Name, m.Epoch, shardID(last), s.now().UnixMilli()
		out["NextToken"] = encodeToken(tok)
	}
	return out, nil
}

// shardFilter implements ListShards' ShardFilter types.
func (s *Service) shardFilter(m *streamMeta, tok listToken) func(*shardMeta) bool {
	openAt := func(sh *shardMeta, t time.Time) bool {
		if t.Before(m.Created) {
			t = m.Created
		}
		born := sh.Parent == "" || !sh.Created.After(t)
		return born && (!sh.Closed || sh.ClosedAt.After(t))
	}
	switch tok.Filter {
	case "AT_LATEST":
		return func(sh *shardMeta) bool { return !sh.Closed }
	case "AT_TRIM_HORIZON":
		cut := s.now().Add(-m.retention())
		return func(sh *shardMeta) bool { return openAt(sh, cut) }
	case "AT_TIMESTAMP":
		at := time.UnixMilli(tok.At)
		return func(sh *shardMeta) bool { return openAt(sh, at) }
	case "FROM_TIMESTAMP":
		at := time.UnixMilli(tok.At)
		return func(sh *shardMeta) bool { return !sh.Closed || !sh.ClosedAt.Before(at) }
	default: // FROM_TRIM_HORIZON, AFTER_SHARD_ID: every retained shard
		return func(*shardMeta) bool { return true }
	}
}

// reshard is one resharding change, planned on a copy of the metadata.
type reshard func(m *streamMeta, now time.Time, endSeqs map[string]uint64) error

// applyReshard runs a resharding change under the stream's write gate, so
// no Append lands in a shard after its EndSeq is taken: it records each open
// shard's last seq, plans the change on a copy to learn which logs to
// create, creates them, then commits the change by compare-and-set.
func (s *Service) applyReshard(ctx context.Context, name string, plan reshard) error {
	gate := s.reg.lock(name)
	gate.Lock()
	defer gate.Unlock()
	m, _, err := s.reg.get(ctx, name)
	if err != nil {
		return err
	}
	if m == nil {
		return errStreamNotFound(name, s.o.AccountID)
	}
	if m.Status != statusActive {
		return errNotActive(m.Name, s.o.AccountID, m.Status)
	}
	endSeqs := map[string]uint64{}
	for _, sh := range m.openShards() {
		info, err := s.store.Info(ctx, sh.Log)
		if err != nil {
			return err
		}
		endSeqs[sh.Log] = info.LastSeq
	}
	now := s.now()
	trial := m.clone()
	if err := plan(trial, now, endSeqs); err != nil {
		return err
	}
	for _, sh := range trial.Shards[len(m.Shards):] {
		if err := s.store.CreateLog(ctx, sh.Log, m.retention()); err != nil {
			return err
		}
	}
	_, err = s.reg.update(ctx, name, func(cur *streamMeta) error {
		if cur.NextShard != m.NextShard || len(cur.Shards) != len(m.Shards) {
			return errorf(codeResourceInUse, "Stream %s under account %s is being resharded by another request.", name, s.o.AccountID)
		}
		if cur.Status != statusActive {
			return errNotActive(cur.Name, s.o.AccountID, cur.Status)
		}
		if err := plan(cur, now, endSeqs); err != nil {
			return err
		}
		s.enterUpdating(cur)
		return nil
	})
	s.wake()
	return err
}

func closeShard(sh *shardMeta, now time.Time, endSeqs map[string]uint64) {
	sh.Closed = true
	sh.EndSeq = endSeqs[sh.Log]
	sh.ClosedAt = now
}

func bigOf(s string) *big.Int {
	n, _ := new(big.Int).SetString(s, 10)
	return n
}

var one = big.NewInt(1)

// split closes sh and adds two children split at at.
func split(m *streamMeta, index int, at *big.Int, now time.Time, endSeqs map[string]uint64) {
	sh := m.shard(index)
	closeShard(sh, now, endSeqs)
	parent, start, end := sh.id(), bigOf(sh.StartHash), bigOf(sh.EndHash)
	m.addShard(start, new(big.Int).Sub(at, one), parent, "", now)
	m.addShard(at, end, parent, "", now)
}

// merge closes a and b and adds their union.
func merge(m *streamMeta, a, b int, now time.Time, endSeqs map[string]uint64) {
	sa, sb := m.shard(a), m.shard(b)
	closeShard(sa, now, endSeqs)
	closeShard(sb, now, endSeqs)
	start, end := bigOf(sa.StartHash), bigOf(sb.EndHash)
	if bigOf(sb.StartHash).Cmp(start) < 0 {
		start, end = bigOf(sb.StartHash), bigOf(sa.EndHash)
	}
	m.addShard(start, end, sa.id(), sb.id(), now)
}

func (s *Service) splitShard(ctx context.Context, r *reader) (any, error) {
	var v validator
	ref := readStreamRef(r, &v)
	shardArg := r.str("ShardToSplit")
	v.str("shardToSplit", shardArg, true, 1, 128, reShardID)
	newStart := r.str("NewStartingHashKey")
	v.str("newStartingHashKey", newStart, true, 0, 0, reHashKey)
	if err := check(r, &v); err != nil {
		return nil, err
	}
	name, aerr := s.resolve(ref)
	if aerr != nil {
		return nil, aerr
	}
	at, ok := parseHashKey(*newStart)
	if !ok {
		return nil, errInvalidArgument("NewStartingHashKey %s used in SplitShard() on shard %s in stream %s under account %s is not a valid hash key.", *newStart, *shardArg, name, s.o.AccountID)
	}
	return nil, s.applyReshard(ctx, name, func(m *streamMeta, now time.Time, endSeqs map[string]uint64) error {
		idx, err := ShardIndex(*shardArg)
		sh := m.shard(idx)
		if err != nil || sh == nil {
			return errCouldNotFindShard(*shardArg, m.Name, s.o.AccountID)
		}
		if sh.Closed {
			return errInvalidArgument("Shard %s in stream %s under account %s has already been merged or split, and thus is not eligible for merging or splitting.", sh.id(), m.Name, s.o.AccountID)
		}
		start, end := bigOf(sh.StartHash), bigOf(sh.EndHash)
		if new(big.Int).Add(start, one).Cmp(at) >= 0 || at.Cmp(end) >= 0 {
			return errInvalidArgument("NewStartingHashKey %s used in SplitShard() on shard %s in stream %s under account %s is not both greater than one plus the shard's StartingHashKey %s and less than the shard's EndingHashKey %s.", *newStart, sh.id(), m.Name, s.o.AccountID, sh.StartHash, sh.EndHash)
		}
		if open := s.openShardCount(); open+1 > shardLimit {
			return errShardLimit(s.o.AccountID, s.o.Region, open, shardLimit, 1)
		}
		split(m, idx, at, now, endSeqs)
		return nil
	})
}

func (s *Service) mergeShards(ctx context.Context, r *reader) (any, error) {
	var v validator
	ref := readStreamRef(r, &v)
	first := r.str("ShardToMerge")
	v.str("shardToMerge", first, true, 1, 128, reShardID)
	second := r.str("AdjacentShardToMerge")
	v.str("adjacentShardToMerge", second, true, 1, 128, reShardID)
	if err := check(r, &v); err != nil {
		return nil, err
	}
	name, aerr := s.resolve(ref)
	if aerr != nil {
		return nil, aerr
	}
	return nil, s.applyReshard(ctx, name, func(m *streamMeta, now time.Time, endSeqs map[string]uint64) error {
		ia, errA := ShardIndex(*first)
		ib, errB := ShardIndex(*second)
		a, b := m.shard(ia), m.shard(ib)
		if errA != nil || a == nil {
			return errCouldNotFindShard(*first, m.Name, s.o.AccountID)
		}
		if errB != nil || b == nil {
			return errCouldNotFindShard(*second, m.Name, s.o.AccountID)
		}
		for _, sh := range []*shardMeta{a, b} {
			if sh.Closed {
				return errInvalidArgument("Shard %s in stream %s under account %s has already been merged or split, and thus is not eligible for merging or splitting.", sh.id(), m.Name, s.o.AccountID)
			}
		}
		adjacent := new(big.Int).Add(bigOf(a.EndHash), one).Cmp(bigOf(b.StartHash)) == 0 ||
			new(big.Int).Add(bigOf(b.EndHash), one).Cmp(bigOf(a.StartHash)) == 0
		if ia == ib || !adjacent {
			return errInvalidArgument("Shards %s and %s in stream %s under account %s are not an adjacent pair of shards eligible for merging", a.id(), b.id(), m.Name, s.o.AccountID)
		}
		merge(m, ia, ib, now, endSeqs)
		return nil
	})
}

func (s *Service) updateShardCount(ctx context.Context, r *reader) (any, error) {
	var v validator
	ref := readStreamRef(r, &v)
	target := r.integer("TargetShardCount")
	v.integer("targetShardCount", target, true, i64(1), nil)
	scaling := r.str("ScalingType")
	v.enum("scalingType", scaling, true, "UNIFORM_SCALING")
	if err := check(r, &v); err != nil {
		return nil, err
	}
	name, aerr := s.resolve(ref)
	if aerr != nil {
		return nil, aerr
	}
	n := int(*target)
	var current int
	err := s.applyReshard(ctx, name, func(m *streamMeta, now time.Time, endSeqs map[string]uint64) error {
		current = len(m.openShards())
		if n > 2*current {
			return errorf(codeLimitExceeded, "UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: %d Target shard count: %d", current, n)
		}
		if 2*n < current {
			return errorf(codeLimitExceeded, "UpdateShardCount cannot scale down below half your current open shard count. Current open shard count: %d Target shard count: %d", current, n)
		}
		if open := s.openShardCount(); open-current+n > shardLimit {
			return errShardLimit(s.o.AccountID, s.o.Region, open, shardLimit, n-current)
		}
		uniformScale(m, n, now, endSeqs)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"StreamName": name, "StreamARN": s.arn(name), "CurrentShardCount": current, "TargetShardCount": n}, nil
}

// uniformScale reshapes the open shards into n equal hash ranges with
// ordinary splits and merges, so every new shard has at most two parents
// and lineage stays exact: first split every open shard at each target
// boundary inside it, then merge the pieces of each target range left to
// right.
func uniformScale(m *streamMeta, n int, now time.Time, endSeqs map[string]uint64) {
	targets := uniformRanges(n)
	sorted := func() []*shardMeta {
		open := m.openShards()
		sort.Slice(open, func(i, j int) bool { return bigOf(open[i].StartHash).Cmp(bigOf(open[j].StartHash)) < 0 })
		return open
	}
	if layoutIs(sorted(), targets) {
		return
	}
	for _, t := range targets[1:] {
		b := t[0]
		for _, sh := range sorted() {
			if bigOf(sh.StartHash).Cmp(b) < 0 && b.Cmp(bigOf(sh.EndHash)) <= 0 {
				split(m, sh.Index, b, now, endSeqs)
				break
			}
		}
	}
	for _, t := range targets {
		for {
			var in []*shardMeta
			for _, sh := range sorted() {
				if bigOf(sh.StartHash).Cmp(t[0]) >= 0 && bigOf(sh.EndHash).Cmp(t[1]) <= 0 {
					in = append(in, sh)
				}
			}
			if len(in) < 2 {
				break
			}
			merge(m, in[0].Index, in[1].Index, now, endSeqs)
		}
	}
}

func layoutIs(open []*shardMeta, targets [][2]*big.Int) bool {
	if len(open) != len(targets) {
		return false
	}
	for i, sh := range open {
		if bigOf(sh.StartHash).Cmp(targets[i][0]) != 0 || bigOf(sh.EndHash).Cmp(targets[i][1]) != 0 {
			return false
		}
	}
	return true
}
