package kinesis

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

const (
	defaultShardCount     = 4
	defaultRetentionHours = 24
	maxRetentionHours     = 8760
	shardLimit            = 500 // open shards per account (AWS's default quota in its largest regions), reported by DescribeLimits
	onDemandStreamLimit   = 50
	tokenLifetime         = 300 * time.Second
)

func (s *Service) createStream(ctx context.Context, r *reader) (any, error) {
	var v validator
	name := r.str("StreamName")
	v.str("streamName", name, true, 1, 128, reStreamName)
	count := r.integer("ShardCount")
	v.integer("shardCount", count, false, i64(1), nil)
	mode := "PROVISIONED"
	if md := r.object("StreamModeDetails"); md != nil {
		sm := md.str("StreamMode")
		v.enum("streamModeDetails.streamMode", sm, true, "PROVISIONED", "ON_DEMAND")
		if sm != nil {
			mode = *sm
		}
	}
	tags, hasTags := r.strMap("Tags")
	if hasTags {
		validateTagMap(&v, "tags", tags)
	}
	v.integer("warmThroughputMiBps", r.integer("WarmThroughputMiBps"), false, i64(0), nil)
	maxKiB := r.integer("MaxRecordSizeInKiB")
	v.integer("maxRecordSizeInKiB", maxKiB, false, i64(1024), i64(10240))
	if err := check(r, &v); err != nil {
		return nil, err
	}
	n := defaultShardCount
	if count != nil {
		n = int(*count)
	}
	if open := s.openShardCount(); open+n > shardLimit {
		return nil, errShardLimit(s.o.AccountID, s.o.Region, open, shardLimit, n)
	}
	now := s.now()
	m := &streamMeta{
		Name: *name, Status: statusCreating, Mode: mode, Created: now.Truncate(time.Millisecond),
		Epoch: time.Now().UnixNano(), RetentionHours: defaultRetentionHours, Tags: tags,
	}
	if maxKiB != nil {
		m.MaxRecordKiB = int(*maxKiB)
	}
	for _, rg := range uniformRanges(n) {
		m.addShard(rg[0], rg[1], "", "", now)
	}
	until, delayed := s.dwell()
	m.ReadyAt = until
	ok, err := s.reg.create(ctx, m)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errStreamExists(*name, s.o.AccountID)
	}
	// The shards' logs are created when CREATING ends: here at once, or by
	// Run after the dwell.
	if !delayed {
		if err := s.finishTransition(ctx, m.Name); err != nil {
			_ = s.destroy(context.WithoutCancel(ctx), m)
			return nil, err
		}
	}
	s.wake()
	return nil, nil
}

func (s *Service) openShardCount() int {
	n := 0
	for _, m := range s.reg.all() {
		n += len(m.openShards())
	}
	return n
}

func (s *Service) deleteStream(ctx context.Context, r *reader) (any, error) {
	var v validator
	ref := readStreamRef(r, &v)
	enforce := r.boolean("EnforceConsumerDeletion")
	if err := check(r, &v); err != nil {
		return nil, err
	}
	m, err := s.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	if len(m.Consumers) > 0 && (enforce == nil || !*enforce) {
		return nil, errorf(codeResourceInUse, "Stream %s under account %s has registered consumers.", m.Name, s.o.AccountID)
	}
	for i := range m.Consumers {
		s.subs.end(consumerKey(m.Name, &m.Consumers[i]), errStreamNotFound(m.Name, s.o.AccountID))
	}
	if m.Status == statusCreating || m.Status == statusDeleting {
		return nil, errNotActive(m.Name, s.o.AccountID, m.Status)
	}
	until, delayed := s.dwell()
	if delayed {
		_, err := s.reg.update(ctx, m.Name, func(m *streamMeta) error {
			m.Status = statusDeleting
			m.ReadyAt = until
			return nil
		})
		s.wake()
		return nil, err
	}
	gate := s.reg.lock(m.Name)
	gate.Lock()
	defer gate.Unlock()
	return nil, s.destroy(ctx, m)
}

func (s *Service) describeStream(ctx context.Context, r *reader) (any, error) {
	var v validator
	ref := readStreamRef(r, &v)
	limit := r.integer("Limit")
	v.integer("limit", limit, false, i64(1), i64(10000))
	start := r.str("ExclusiveStartShardId")
	v.str("exclusiveStartShardId", start, false, 1, 128, reShardID)
	if err := check(r, &v); err != nil {
		return nil, err
	}
	m, err := s.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	n := 100
	if limit != nil && *limit < 100 {
		n = int(*limit)
	}
	after := -1
	if start != nil {
		if idx, err := ShardIndex(*start); err == nil {
			after = idx
		}
	}
	var shards []any
	more := false
	for i := range m.Shards {
		sh := &m.Shards[i]
		if sh.Index <= after {
			continue
		}
		if len(shards) == n {
			more = true
			break
		}
		shards = append(shards, shardOut(sh))
	}
	if shards == nil {
		shards = []any{}
	}
	return map[string]any{"StreamDescription": map[string]any{
		"StreamName":              m.Name,
		"StreamARN":               s.arn(m.Name),
		"StreamStatus":            m.Status,
		"StreamModeDetails":       map[string]any{"StreamMode": m.Mode},
		"Shards":                  shards,
		"HasMoreShards":           more,
		"RetentionPeriodHours":    m.RetentionHours,
		"StreamCreationTimestamp": m.Created,
		"EnhancedMonitoring":      []any{map[string]any{"ShardLevelMetrics": []any{}}},
		"EncryptionType":          "NONE",
	}}, nil
}

func shardOut(sh *shardMeta) map[string]any {
	seqRange := map[string]any{"StartingSequenceNumber": SequenceNumber(sh.Index, 0)}
	if sh.Closed {
		seqRange["EndingSequenceNumber"] = SequenceNumber(sh.Index, sh.EndSeq)
	}
	out := map[string]any{
		"ShardId":             sh.id(),
		"HashKeyRange":        map[string]any{"StartingHashKey": sh.StartHash, "EndingHashKey": sh.EndHash},
		"SequenceNumberRange": seqRange,
	}
	if sh.Parent != "" {
		out["ParentShardId"] = sh.Parent
	}
	if sh.Adjacent != "" {
		out["AdjacentParentShardId"] = sh.Adjacent
	}
	return out
}

func (s *Service) describeStreamSummary(ctx context.Context, r *reader) (any, error) {
	var v validator
	ref := readStreamRef(r, &v)
	if err := check(r, &v); err != nil {
		return nil, err
	}
	m, err := s.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	maxKiB := m.recordKiB()
	return map[string]any{"StreamDescriptionSummary": map[string]any{
		"StreamName":              m.Name,
		"StreamARN":               s.arn(m.Name),
		"StreamStatus":            m.Status,
		"StreamModeDetails":       map[string]any{"StreamMode": m.Mode},
		"RetentionPeriodHours":    m.RetentionHours,
		"StreamCreationTimestamp": m.Created,
		"EnhancedMonitoring":      []any{map[string]any{"ShardLevelMetrics": []any{}}},
		"EncryptionType":          "NONE",
		"OpenShardCount":          len(m.openShards()),
		"ConsumerCount":           len(m.Consumers),
		"MaxRecordSizeInKiB":      maxKiB,
	}}, nil
}

// listToken is the decoded NextToken of ListStreams and ListShards.
type listToken struct {
	Stream string `json:"s,omitempty"`
	Epoch  int64  `json:"e,omitempty"`
	After  string `json:"a"`
	Filter string `json:"f,omitempty"`
	At     int64  `json:"ts,omitempty"` // filter timestamp, ms
	Max    int    `json:"m,omitempty"`
	Issued int64  `json:"t"`
}

func encodeToken(t listToken) string {
	b, _ := json.Marshal(t)
	return base64.StdEncoding.EncodeToString(b)
}

var errBadToken = errors.New("bad token")

func (s *Service) decodeToken(tok string) (listToken, error) {
	var t listToken
	b, err := base64.StdEncoding.DecodeString(tok)
	if err != nil || json.Unmarshal(b, &t) != nil || t.Issued == 0 {
		return t, errBadToken
	}
	if s.now().Sub(time.UnixMilli(t.Issued)) > tokenLifetime {
		return t, errorf(codeExpiredNextToken, "The timestamp sent in the NextToken has expired.")
	}
	return t, nil
}

func (s *Service) listStreams(ctx context.Context, r *reader) (any, error) {
	var v validator
	limit := r.integer("Limit")
	v.integer("limit", limit, false, i64(1), i64(10000))
	start := r.str("ExclusiveStartStreamName")
	v.str("exclusiveStartStreamName", start, false, 1, 128, reStreamName)
	next := r.str("NextToken")
	v.str("nextToken", next, false, 1, 1048576, nil)
	if err := check(r, &v); err != nil {
		return nil, err
	}
	n := 100
	if limit != nil && *limit < 100 {
		n = int(*limit)
	}
	after := ""
	if start != nil {
		after = *start
	}
	if next != nil {
		t, err := s.decodeToken(*next)
		if errors.Is(err, errBadToken) {
			return nil, errInvalidArgument("Invalid NextToken.")
		} else if err != nil {
			return nil, err
		}
		after = t.After
	}
	names, summaries := []any{}, []any{}
	more := false
	last := ""
	for _, m := range s.reg.all() {
		if m.Name <= after {
			continue
		}
		if len(names) == n {
			more = true
			break
		}
		names = append(names, m.Name)
		summaries = append(summaries, map[string]any{
			"StreamName": m.Name, "StreamARN": s.arn(m.Name), "StreamStatus": m.Status,
			"StreamModeDetails":       map[string]any{"StreamMode": m.Mode},
			"StreamCreationTimestamp": m.Created,
		})
		last = m.Name
	}
	out := map[string]any{"StreamNames": names, "HasMoreStreams": more, "StreamSummaries": summaries}
	if more {
		out["NextToken"] = encodeToken(listToken{After: last, Issued: s.now().UnixMilli()})
	}
	return out, nil
}

func (s *Service) describeLimits(ctx context.Context, r *reader) (any, error) {
	if r.err != nil {
		return nil, r.err
	}
	onDemand := 0
	for _, m := range s.reg.all() {
		if m.Mode == "ON_DEMAND" {
			onDemand++
		}
	}
	return map[string]any{
		"ShardLimit": shardLimit, "OpenShardCount": s.openShardCount(),
		"OnDemandStreamCount": onDemand, "OnDemandStreamCountLimit": onDemandStreamLimit,
	}, nil
}

func (s *Service) updateStreamMode(ctx context.Context, r *reader) (any, error) {
	var v validator
	arn := r.str("StreamARN")
	v.str("streamARN", arn, true, 1, 2048, reStreamARN)
	var mode *string
	md := r.object("StreamModeDetails")
	if v.required("streamModeDetails", md != nil) {
		mode = md.str("StreamMode")
		v.enum("streamModeDetails.streamMode", mode, true, "PROVISIONED", "ON_DEMAND")
	}
	v.integer("warmThroughputMiBps", r.integer("WarmThroughputMiBps"), false, i64(0), nil)
	if err := check(r, &v); err != nil {
		return nil, err
	}
	m, err := s.lookup(ctx, streamRef{arn: arn})
	if err != nil {
		return nil, err
	}
	if m.Status != statusActive {
		return nil, errNotActive(m.Name, s.o.AccountID, m.Status)
	}
	if _, err := s.reg.update(ctx, m.Name, func(m *streamMeta) error {
		if m.Status != statusActive {
			return errNotActive(m.Name, s.o.AccountID, m.Status)
		}
		m.Mode = *mode
		s.enterUpdating(m)
		return nil
	}); err != nil {
		return nil, err
	}
	return nil, nil
}

// enterUpdating starts an UPDATING dwell when StateDelay is set.
func (s *Service) enterUpdating(m *streamMeta) {
	if until, delayed := s.dwell(); delayed {
		m.Status = statusUpdating
		m.ReadyAt = until
		s.wake()
	}
}

func (s *Service) increaseRetention(ctx context.Context, r *reader) (any, error) {
	return s.changeRetention(ctx, r, true)
}

func (s *Service) decreaseRetention(ctx context.Context, r *reader) (any, error) {
	return s.changeRetention(ctx, r, false)
}

func (s *Service) changeRetention(ctx context.Context, r *reader, increase bool) (any, error) {
	var v validator
	ref := readStreamRef(r, &v)
	hours := r.integer("RetentionPeriodHours")
	v.integer("retentionPeriodHours", hours, true, nil, nil)
	if err := check(r, &v); err != nil {
		return nil, err
	}
	h := int(*hours)
	if h < defaultRetentionHours {
		return nil, errInvalidArgument("Minimum allowed retention period is 24 hours. Requested retention period (%d hours) is too short.", h)
	}
	if h > maxRetentionHours {
		return nil, errInvalidArgument("Maximum allowed retention period is %d hours. Requested retention period (%d hours) is too long.", maxRetentionHours, h)
	}
	m, err := s.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	m, err = s.reg.update(ctx, m.Name, func(m *streamMeta) error {
		if m.Status != statusActive && m.Status != statusUpdating {
			return errNotActive(m.Name, s.o.AccountID, m.Status)
		}
		if increase && h < m.RetentionHours {
			return errInvalidArgument("Requested retention period (%d hours) for stream %s can not be shorter than existing retention period (%d hours). Use DecreaseRetentionPeriod API.", h, m.Name, m.RetentionHours)
		}
		if !increase && h > m.RetentionHours {
			return errInvalidArgument("Requested retention period (%d hours) for stream %s can not be longer than existing retention period (%d hours). Use IncreaseRetentionPeriod API.", h, m.Name, m.RetentionHours)
		}
		m.RetentionHours = h
		return nil
	})
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errStreamNotFound(*ref.nameOr(), s.o.AccountID)
	}
	for _, sh := range m.Shards {
		if err := s.store.SetLogMaxAge(ctx, sh.Log, m.retention()); err != nil {
			return nil, fmt.Errorf("setting retention of %s: %w", sh.id(), err)
		}
	}
	s.wake()
	return nil, nil
}

func (ref streamRef) nameOr() *string {
	if ref.name != nil {
		return ref.name
	}
	return ref.arn
}

func (s *Service) updateMaxRecordSize(ctx context.Context, r *reader) (any, error) {
	var v validator
	ref := readStreamRef(r, &v)
	kib := r.integer("MaxRecordSizeInKiB")
	v.integer("maxRecordSizeInKiB", kib, true, i64(1024), i64(10240))
	if err := check(r, &v); err != nil {
		return nil, err
	}
	m, err := s.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	_, err = s.reg.update(ctx, m.Name, func(m *streamMeta) error {
		if m.Status != statusActive {
			return errNotActive(m.Name, s.o.AccountID, m.Status)
		}
		m.MaxRecordKiB = int(*kib)
		s.enterUpdating(m)
		return nil
	})
	return nil, err
}
