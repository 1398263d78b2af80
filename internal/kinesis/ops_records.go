package kinesis

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/penstock/penstock/internal/b64"
	"github.com/penstock/penstock/internal/storage"
)

const (
	defaultRecordKiB = 1024     // MaxRecordSizeInKiB of streams that never set it
	maxPutRecords    = 500      // records per PutRecords
	maxPutRecordsLen = 10 << 20 // bytes per PutRecords (AWS's current 10 MiB)
	maxGetRecords    = 10000
	maxGetBytes      = 10 << 20
)

// route picks the open shard whose hash range holds the record's hash key.
func route(m *streamMeta, partitionKey string, explicit *string) (*shardMeta, error) {
	return routeIn(m, m.openShards(), partitionKey, explicit)
}

// routeIn is route over the stream's open shards (computed once per request).
func routeIn(m *streamMeta, open []*shardMeta, partitionKey string, explicit *string) (*shardMeta, error) {
	var key [16]byte
	if explicit != nil {
		h, ok := parseHashKey(*explicit)
		if !ok {
			return nil, errInvalidArgument("Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was %s", *explicit)
		}
		h.FillBytes(key[:])
	} else {
		key = md5.Sum([]byte(partitionKey))
	}
	for _, sh := range open {
		if sh.containsKey(&key) {
			return sh, nil
		}
	}
	return nil, errInternal(fmt.Errorf("no open shard of stream %s holds hash key %s", m.Name, new(big.Int).SetBytes(key[:])))
}

// appendErr maps a storage failure on a write.
func (s *Service) appendErr(m *streamMeta, err error) error {
	if errors.Is(err, storage.ErrLogNotFound) {
		return errStreamNotFound(m.Name, s.o.AccountID)
	}
	return err
}

// putRecordReq is a PutRecord request as read (generic reader or the JSON
// fast path), before validation.
type putRecordReq struct {
	ref          streamRef
	data         []byte
	hasData      bool
	pk, ehk, sfo *string
}

// readPutRecord reads a PutRecord request; type errors are left in r.err.
func readPutRecord(r *reader) putRecordReq {
	req := putRecordReq{ref: readRef(r)}
	req.data, req.hasData = r.blob("Data")
	req.pk = r.str("PartitionKey")
	req.ehk = r.str("ExplicitHashKey")
	req.sfo = r.str("SequenceNumberForOrdering")
	return req
}

func (s *Service) putRecord(ctx context.Context, r *reader) (any, error) {
	req := readPutRecord(r)
	if r.err != nil {
		return nil, r.err
	}
	return s.putRecordTyped(ctx, &req)
}

// putRecordTyped validates and runs a PutRecord request.
func (s *Service) putRecordTyped(ctx context.Context, req *putRecordReq) (any, error) {
	var v validator
	ref := req.ref
	validateStreamRef(ref, &v)
	limit := s.recordLimit(ctx, ref)
	data, hasData := req.data, req.hasData
	if v.required("data", hasData) && len(data) > limit {
		v.add(blobValue(len(data)), "data", fmt.Sprintf("Member must have length less than or equal to %d", limit))
	}
	pk := req.pk
	v.str("partitionKey", pk, true, 1, 256, nil)
	ehk := req.ehk
	v.str("explicitHashKey", ehk, false, 0, 0, reHashKey)
	sfo := req.sfo
	v.str("sequenceNumberForOrdering", sfo, false, 0, 0, reSeqNumber)
	if e := v.err(); e != nil {
		return nil, e
	}
	name, aerr := s.resolve(ref)
	if aerr != nil {
		return nil, aerr
	}
	gate := s.reg.lock(name)
	gate.RLock()
	defer gate.RUnlock()
	m, err := s.readable(ctx, ref)
	if err != nil {
		return nil, err
	}
	if sfo != nil {
		if _, _, err := ParseSequenceNumber(*sfo); err != nil && *sfo != "0" {
			return nil, errInvalidArgument("ExclusiveMinimumSequenceNumber %s used in PutRecord on stream %s under account %s is invalid.", *sfo, m.Name, s.o.AccountID)
		}
	}
	sh, err := route(m, *pk, ehk)
	if err != nil {
		return nil, err
	}
	if !s.throttle.allow(sh.Log, len(data)+len(*pk), s.now()) {
		return nil, errThroughput(sh.id(), m.Name, s.o.AccountID)
	}
	seq, err := s.store.Append(ctx, sh.Log, []storage.Entry{{PartitionKey: *pk, Data: data}})
	if err != nil {
		return nil, s.appendErr(m, err)
	}
	// Storage seqs strictly increase within a shard, and a shard's index is
	// fixed, so the new number exceeds any earlier one of this shard,
	// SequenceNumberForOrdering included.
	return map[string]any{"ShardId": sh.id(), "SequenceNumber": SequenceNumber(sh.Index, seq)}, nil
}

// recordLimit is the largest record data the named stream accepts: its
// MaxRecordSizeInKiB (1 MiB unless set, at most 10 MiB). A stream that does
// not resolve gets the default; the request then fails on the stream.
func (s *Service) recordLimit(ctx context.Context, ref streamRef) int {
	if ref.name == nil && ref.arn == nil {
		return defaultRecordKiB << 10
	}
	if ref.name != nil && !reStreamName.MatchString(*ref.name) {
		return defaultRecordKiB << 10
	}
	if ref.arn != nil && !reStreamARN.MatchString(*ref.arn) {
		return defaultRecordKiB << 10
	}
	m, err := s.lookup(ctx, ref)
	if err != nil {
		return defaultRecordKiB << 10
	}
	return m.recordKiB() << 10
}

// putRecordsReq is a PutRecords request as read (generic reader or the
// JSON fast path), before validation.
type putRecordsReq struct {
	ref     streamRef
	hasList bool
	records []putRecordsItem
}

type putRecordsItem struct {
	data    []byte
	hasData bool
	pk      string
	hasPK   bool
	ehk     *string
}

// readPutRecords reads a PutRecords request; type errors are left in r.err.
func readPutRecords(r *reader) putRecordsReq {
	req := putRecordsReq{ref: readRef(r)}
	list, hasList := r.list("Records")
	req.hasList = hasList
	req.records = make([]putRecordsItem, 0, len(list))
	for _, e := range list {
		er := r.sub(e)
		var it putRecordsItem
		it.data, it.hasData = er.blob("Data")
		it.ehk = er.str("ExplicitHashKey")
		if pk := er.str("PartitionKey"); pk != nil {
			it.pk, it.hasPK = *pk, true
		}
		req.records = append(req.records, it)
	}
	return req
}

func (s *Service) putRecords(ctx context.Context, r *reader) (any, error) {
	req := readPutRecords(r)
	if r.err != nil {
		return nil, r.err
	}
	return s.putRecordsTyped(ctx, &req)
}

// putRecordsTyped validates and runs a PutRecords request.
func (s *Service) putRecordsTyped(ctx context.Context, req *putRecordsReq) (any, error) {
	var v validator
	validateStreamRef(req.ref, &v)
	limit := s.recordLimit(ctx, req.ref)
	entries := req.records
	if v.required("records", req.hasList) {
		if len(entries) < 1 {
			v.add("'[]'", "records", "Member must have length greater than or equal to 1")
		}
		if len(entries) > maxPutRecords {
			v.add("'[...]'", "records", fmt.Sprintf("Member must have length less than or equal to %d", maxPutRecords))
		}
		for i := range entries {
			e := &entries[i]
			// The common case (all valid) builds no paths.
			if e.hasData && len(e.data) <= limit && e.ehk == nil && e.hasPK && len(e.pk) >= 1 && len(e.pk) <= 256 {
				continue
			}
			path := fmt.Sprintf("records.%d.member.", i+1)
			if v.required(path+"data", e.hasData) && len(e.data) > limit {
				v.add(blobValue(len(e.data)), path+"data", fmt.Sprintf("Member must have length less than or equal to %d", limit))
			}
			v.str(path+"explicitHashKey", e.ehk, false, 0, 0, reHashKey)
			var pk *string
			if e.hasPK {
				pk = &e.pk
			}
			v.str(path+"partitionKey", pk, true, 1, 256, nil)
		}
	}
	if e := v.err(); e != nil {
		return nil, e
	}
	// Validation passed, so every record has a partition key.
	ref := req.ref
	total := 0
	for i := range entries {
		total += len(entries[i].data) + len(entries[i].pk)
	}
	if total > maxPutRecordsLen {
		return nil, errInvalidArgument("Records size exceeds %d MB limit", maxPutRecordsLen>>20)
	}
	name, aerr := s.resolve(ref)
	if aerr != nil {
		return nil, aerr
	}
	gate := s.reg.lock(name)
	gate.RLock()
	defer gate.RUnlock()
	m, err := s.readable(ctx, ref)
	if err != nil {
		return nil, err
	}
	// Route every record first (a bad ExplicitHashKey fails the request),
	// then throttle record by record in request order.
	out := &putRecordsOut{recs: make([]putResult, len(entries))}
	results := out.recs
	groups := map[*shardMeta][]int{}
	var order []*shardMeta
	now := s.now()
	open := m.openShards()
	for i := range entries {
		e := &entries[i]
		sh, err := routeIn(m, open, e.pk, e.ehk)
		if err != nil {
			return nil, err
		}
		if !s.throttle.allow(sh.Log, len(e.data)+len(e.pk), now) {
			te := errThroughput(sh.id(), m.Name, s.o.AccountID)
			results[i] = putResult{errCode: te.Code, errMsg: te.Message}
			continue
		}
		if groups[sh] == nil {
			order = append(order, sh)
		}
		groups[sh] = append(groups[sh], i)
	}
	// One atomic Append per shard, shards in parallel. Each goroutine writes
	// only its own records' results.
	var wg sync.WaitGroup
	for _, sh := range order {
		idx := groups[sh]
		wg.Go(func() {
			batch := make([]storage.Entry, len(idx))
			for j, i := range idx {
				batch[j] = storage.Entry{PartitionKey: entries[i].pk, Data: entries[i].data}
			}
			first, err := s.store.Append(ctx, sh.Log, batch)
			for j, i := range idx {
				if err != nil {
					results[i] = putResult{errCode: codeInternalFailure, errMsg: msgInternalFailure}
					continue
				}
				results[i] = putResult{shard: sh.Index, seq: first + uint64(j)}
			}
			if err != nil {
				s.log.Error("PutRecords append failed", "stream", m.Name, "shard", sh.id(), "err", err)
			}
		})
	}
	wg.Wait()
	for i := range results {
		if results[i].errCode != "" {
			out.failed++
		}
	}
	return out, nil
}

// putRecordsOut is PutRecords' answer.
type putRecordsOut struct {
	failed int
	recs   []putResult
}

// putResult is one record's result: errCode set for a failed record.
type putResult struct {
	shard           int
	seq             uint64
	errCode, errMsg string
}

func (o *putRecordsOut) tree() any {
	list := make([]any, len(o.recs))
	for i, r := range o.recs {
		if r.errCode != "" {
			list[i] = map[string]any{"ErrorCode": r.errCode, "ErrorMessage": r.errMsg}
		} else {
			list[i] = map[string]any{"ShardId": shardID(r.shard), "SequenceNumber": SequenceNumber(r.shard, r.seq)}
		}
	}
	return map[string]any{"FailedRecordCount": o.failed, "Records": list}
}

func (o *putRecordsOut) appendJSON(b []byte) []byte {
	b = append(b, `{"FailedRecordCount":`...)
	b = strconv.AppendInt(b, int64(o.failed), 10)
	b = append(b, `,"Records":[`...)
	for i, r := range o.recs {
		if i > 0 {
			b = append(b, ',')
		}
		if r.errCode != "" {
			b = append(b, `{"ErrorCode":`...)
			b = appendJSONString(b, r.errCode)
			b = append(b, `,"ErrorMessage":`...)
			b = appendJSONString(b, r.errMsg)
			b = append(b, '}')
			continue
		}
		b = append(b, `{"SequenceNumber":"`...)
		b = appendSequenceNumber(b, r.shard, r.seq)
		b = append(b, `","ShardId":"`...)
		b = appendShardID(b, r.shard)
		b = append(b, `"}`...)
	}
	return append(b, "]}"...)
}

func (s *Service) getShardIterator(ctx context.Context, r *reader) (any, error) {
	var v validator
	ref := readStreamRef(r, &v)
	shardArg := r.str("ShardId")
	v.str("shardId", shardArg, true, 1, 128, reShardID)
	typ := r.str("ShardIteratorType")
	v.enum("shardIteratorType", typ, true, "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")
	startSeq := r.str("StartingSequenceNumber")
	v.str("startingSequenceNumber", startSeq, false, 0, 0, reSeqNumber)
	ts := r.timestamp("Timestamp")
	if err := check(r, &v); err != nil {
		return nil, err
	}
	m, err := s.readable(ctx, ref)
	if err != nil {
		return nil, err
	}
	idx, err := ShardIndex(*shardArg)
	if err != nil {
		return nil, errShardNotFound(*shardArg, m.Name, s.o.AccountID)
	}
	sh := m.shard(idx)
	if sh == nil {
		return nil, errShardNotFound(shardID(idx), m.Name, s.o.AccountID)
	}
	pos, err := s.startPosition(ctx, m, sh, *typ, startSeq, ts)
	if err != nil {
		return nil, err
	}
	it := iterator{stream: m.Name, epoch: m.Epoch, shard: sh.Index, pos: pos, issued: s.now()}
	return map[string]any{"ShardIterator": s.encodeIterator(it)}, nil
}

// startPosition is the storage seq an iterator of this type starts at
// (0 = the trim horizon).
func (s *Service) startPosition(ctx context.Context, m *streamMeta, sh *shardMeta, typ string, startSeq *string, ts *time.Time) (uint64, error) {
	var pos uint64
	switch typ {
	case "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER":
		if startSeq == nil {
			return 0, errInvalidArgument("Request specified %s and no StartingSequenceNumber.", typ)
		}
		snIdx, seq, err := ParseSequenceNumber(*startSeq)
		if err != nil {
			return 0, errInvalidArgument("StartingSequenceNumber %s used in GetShardIterator on shard %s in stream %s under account %s is invalid.", *startSeq, sh.id(), m.Name, s.o.AccountID)
		}
		if snIdx != sh.Index {
			return 0, errInvalidArgument("Invalid StartingSequenceNumber. It encodes %s, while it was used in a call to a shard with %s", shardID(snIdx), sh.id())
		}
		pos = seq
		if typ == "AFTER_SEQUENCE_NUMBER" && seq < math.MaxUint64 {
			pos = seq + 1
		}
	case "TRIM_HORIZON", "LATEST":
		if startSeq != nil {
			return 0, errInvalidArgument("Request specified %s and also a StartingSequenceNumber.", typ)
		}
		if typ == "LATEST" {
			if sh.Closed {
				pos = sh.EndSeq + 1
			} else {
				info, err := s.store.Info(ctx, sh.Log)
				if err != nil {
					return 0, err
				}
				pos = info.LastSeq + 1
			}
		}
	case "AT_TIMESTAMP":
		if ts == nil {
			return 0, errInvalidArgument("Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.")
		}
		var err error
		if pos, err = s.store.SeqAtTime(ctx, sh.Log, *ts); err != nil {
			return 0, err
		}
	}
	return pos, nil
}

// awsTime formats a time as AWS's iterator messages do.
func awsTime(t time.Time) string { return t.UTC().Format("Mon Jan 02 15:04:05 UTC 2006") }

// getRecordsReq is a GetRecords request as read, before validation.
type getRecordsReq struct {
	it    *string
	limit *int64
	arn   *string
}

// readGetRecords reads a GetRecords request; type errors are left in r.err.
func readGetRecords(r *reader) getRecordsReq {
	req := getRecordsReq{it: r.str("ShardIterator"), limit: r.integer("Limit"), arn: r.str("StreamARN")}
	_ = r.str("StreamId")
	return req
}

func (s *Service) getRecords(ctx context.Context, r *reader) (any, error) {
	req := readGetRecords(r)
	if r.err != nil {
		return nil, r.err
	}
	return s.getRecordsTyped(ctx, &req)
}

// getRecordsTyped validates and runs a GetRecords request.
func (s *Service) getRecordsTyped(ctx context.Context, req *getRecordsReq) (any, error) {
	var v validator
	itStr := req.it
	if itStr != nil && len(*itStr) >= 2 && strings.HasPrefix(*itStr, `"`) && strings.HasSuffix(*itStr, `"`) {
		unq := (*itStr)[1 : len(*itStr)-1]
		itStr = &unq
	}
	v.str("shardIterator", itStr, true, 1, 512, nil)
	limit := req.limit
	v.integer("limit", limit, false, i64(1), i64(maxGetRecords))
	arn := req.arn
	v.str("streamARN", arn, false, 1, 2048, reStreamARN)
	if e := v.err(); e != nil {
		return nil, e
	}
	it, err := s.decodeIterator(*itStr)
	if err != nil {
		return nil, errInvalidArgument("Invalid ShardIterator.")
	}
	now := s.now()
	if now.Sub(it.issued) > iteratorLifetime {
		return nil, errorf(codeExpiredIterator, "Iterator expired. The iterator was created at time %s while right now it is %s which is further in the future than the tolerated delay of %d milliseconds.", awsTime(it.issued), awsTime(now), iteratorLifetime.Milliseconds())
	}
	if arn != nil {
		if _, _, name, err := ParseStreamARN(*arn); err != nil || name != it.stream {
			return nil, errInvalidArgument("Invalid ShardIterator.")
		}
	}
	m, _, err := s.reg.get(ctx, it.stream)
	if err != nil {
		return nil, err
	}
	if m == nil || m.Epoch != it.epoch {
		return nil, errShardNotFound(shardID(it.shard), it.stream, s.o.AccountID)
	}
	sh := m.shard(it.shard)
	if sh == nil {
		return nil, errShardNotFound(shardID(it.shard), it.stream, s.o.AccountID)
	}
	n := maxGetRecords
	if limit != nil {
		n = int(*limit)
	}
	recs, next, pending, err := s.read(ctx, m, sh, it.pos, n, maxGetBytes, now)
	if err != nil {
		return nil, err
	}
	behind, err := s.behind(ctx, sh, recs, pending)
	if err != nil {
		return nil, err
	}
	out := &getRecordsOut{shard: sh.Index, recs: recs, behind: behind}
	if sh.Closed && (next > sh.EndSeq || (len(recs) == 0 && pending == 0)) {
		out.children = childShards(m, sh)
		return out, nil
	}
	out.next = s.encodeIterator(iterator{stream: m.Name, epoch: m.Epoch, shard: sh.Index, pos: next, issued: now})
	out.hasNext = true
	return out, nil
}

// getRecordsOut is GetRecords' answer: ChildShards (children non-nil) or
// NextShardIterator (hasNext).
type getRecordsOut struct {
	shard    int
	recs     []storage.Record
	behind   int64
	children []any
	next     string
	hasNext  bool
}

func (o *getRecordsOut) tree() any {
	out := map[string]any{"Records": recordsOut(o.shard, o.recs), "MillisBehindLatest": o.behind}
	if o.children != nil {
		out["ChildShards"] = o.children
	}
	if o.hasNext {
		out["NextShardIterator"] = o.next
	}
	return out
}

func (o *getRecordsOut) appendJSON(b []byte) []byte {
	size := len(b) + 128
	for i := range o.recs {
		size += base64.StdEncoding.EncodedLen(len(o.recs[i].Data)) + len(o.recs[i].PartitionKey) + 160
	}
	if cap(b) < size {
		b = append(make([]byte, 0, size), b...)
	}
	b, _ = o.appendParts(b, nil, true)
	return b
}

// appendParts appends the answer's JSON. With data false each record's
// Data is left out and the offset where its base64 belongs is appended to
// holes instead: the skeleton that writeHTTP fills in while writing.
func (o *getRecordsOut) appendParts(b []byte, holes []int, data bool) ([]byte, []int) {
	b = append(b, '{')
	if o.children != nil {
		var buf bytes.Buffer
		writeJSON(&buf, o.children)
		b = append(b, `"ChildShards":`...)
		b = append(b, buf.Bytes()...)
		b = append(b, ',')
	}
	b = append(b, `"MillisBehindLatest":`...)
	b = strconv.AppendInt(b, o.behind, 10)
	if o.hasNext {
		b = append(b, `,"NextShardIterator":`...)
		b = appendJSONString(b, o.next)
	}
	b = append(b, `,"Records":[`...)
	for i := range o.recs {
		rec := &o.recs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"ApproximateArrivalTimestamp":`...)
		b = appendJSONTime(b, rec.Time)
		b = append(b, `,"Data":"`...)
		if data {
			b = b64.AppendEncode(b, rec.Data)
		} else {
			holes = append(holes, len(b))
		}
		b = append(b, `","PartitionKey":`...)
		b = appendJSONString(b, rec.PartitionKey)
		b = append(b, `,"SequenceNumber":"`...)
		b = appendSequenceNumber(b, o.shard, rec.Seq)
		b = append(b, `"}`...)
	}
	return append(b, "]}"...), holes
}

// A GetRecords answer runs to 14 MB (10,000 records of 1 KiB in base64).
// Rather than building it whole in memory and then copying it to the
// connection, writeHTTP appends everything but the records' data once (the
// skeleton, about 150 bytes a record), which gives the exact
// Content-Length, then fills a chunk buffer with the skeleton and each
// record's data encoded in place, writing the chunk out whenever it is
// full. The bytes are those appendJSON produces (TestGetRecordsStream).

// streamChunk is the size of the writes of a streamed answer (at least 4:
// one base64 group).
const streamChunk = 256 << 10

// answerWriter holds the buffers of one streamed answer; they are pooled.
type answerWriter struct {
	skel  []byte
	holes []int
	chunk []byte
	w     io.Writer
	err   error
}

var answerWriters = sync.Pool{New: func() any { return &answerWriter{chunk: make([]byte, 0, streamChunk)} }}

// writeHTTP writes the answer as a JSON response with its Content-Length.
func (o *getRecordsOut) writeHTTP(w http.ResponseWriter) {
	aw := answerWriters.Get().(*answerWriter)
	defer func() {
		if cap(aw.skel) > 8<<20 {
			aw.skel = nil // an unusually large answer: do not keep its buffer
		}
		aw.skel, aw.holes, aw.chunk, aw.w, aw.err = aw.skel[:0], aw.holes[:0], aw.chunk[:0], nil, nil
		answerWriters.Put(aw)
	}()
	aw.skel, aw.holes = o.appendParts(aw.skel, aw.holes, false)
	n := len(aw.skel)
	for i := range o.recs {
		n += base64.StdEncoding.EncodedLen(len(o.recs[i].Data))
	}
	w.Header().Set("Content-Length", strconv.Itoa(n))
	w.WriteHeader(http.StatusOK)
	aw.w = w
	o.stream(aw)
}

// stream writes the skeleton with the records' data filled in, through the
// chunk buffer.
func (o *getRecordsOut) stream(aw *answerWriter) {
	pos := 0
	for i, hole := range aw.holes {
		aw.put(aw.skel[pos:hole])
		pos = hole
		data := o.recs[i].Data
		for len(data) > 0 && aw.err == nil {
			room := cap(aw.chunk) - len(aw.chunk)
			if room < 4 {
				aw.flush()
				continue
			}
			n := len(data)
			if base64.StdEncoding.EncodedLen(n) > room {
				n = room / 4 * 3 // whole groups of 3 bytes: no padding inside
			}
			aw.chunk = b64.AppendEncode(aw.chunk, data[:n])
			data = data[n:]
		}
	}
	aw.put(aw.skel[pos:])
	aw.flush()
}

// put copies p into the chunk buffer, writing out the full chunks.
func (aw *answerWriter) put(p []byte) {
	for len(p) > 0 && aw.err == nil {
		if len(aw.chunk) == cap(aw.chunk) {
			aw.flush()
			continue
		}
		n := copy(aw.chunk[len(aw.chunk):cap(aw.chunk)], p)
		aw.chunk = aw.chunk[:len(aw.chunk)+n]
		p = p[n:]
	}
}

// flush writes the chunk buffer out. After a failed write (the client went
// away) the rest is dropped.
func (aw *answerWriter) flush() {
	if len(aw.chunk) > 0 && aw.err == nil {
		_, aw.err = aw.w.Write(aw.chunk)
	}
	aw.chunk = aw.chunk[:0]
}

// appendJSONTime appends a timestamp as writeJSON writes it.
func appendJSONTime(b []byte, t time.Time) []byte {
	ms := t.UnixMilli()
	if ms < 0 {
		var buf bytes.Buffer
		writeJSON(&buf, t)
		return append(b, buf.Bytes()...)
	}
	b = strconv.AppendInt(b, ms/1000, 10)
	b = append(b, '.')
	return appendPadded(b, uint64(ms%1000), 3)
}

func recordsOut(shard int, recs []storage.Record) []any {
	list := make([]any, len(recs))
	for i, rec := range recs {
		list[i] = map[string]any{
			"SequenceNumber":              SequenceNumber(shard, rec.Seq),
			"ApproximateArrivalTimestamp": rec.Time,
			"Data":                        rec.Data,
			"PartitionKey":                rec.PartitionKey,
		}
	}
	return list
}

// behind is MillisBehindLatest: how far the last returned record is behind
// the shard's newest, 0 once the read reached the tip.
func (s *Service) behind(ctx context.Context, sh *shardMeta, recs []storage.Record, pending uint64) (int64, error) {
	if pending == 0 || len(recs) == 0 {
		return 0, nil
	}
	info, err := s.store.Info(ctx, sh.Log)
	if err != nil {
		return 0, err
	}
	return max64(0, info.LastTime.Sub(recs[len(recs)-1].Time).Milliseconds()), nil
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// read returns up to max records from pos, skipping records older than the
// stream's retention (by the service clock: JetStream's MaxAge removes them
// physically, this makes the cut exact and testable), and the position to
// read next.
func (s *Service) read(ctx context.Context, m *streamMeta, sh *shardMeta, pos uint64, limit, maxBytes int, now time.Time) ([]storage.Record, uint64, uint64, error) {
	if pos == 0 {
		pos = 1
	}
	cutoff := now.Add(-m.retention())
	res, err := s.store.Read(ctx, sh.Log, pos, limit, maxBytes)
	if err != nil {
		return nil, 0, 0, s.readErr(m, sh, err)
	}
	recs := res.Records
	drop := 0
	for drop < len(recs) && recs[drop].Time.Before(cutoff) {
		drop++
	}
	if drop > 0 && drop == len(recs) && res.Pending > 0 {
		at, err := s.store.SeqAtTime(ctx, sh.Log, cutoff)
		if err != nil {
			return nil, 0, 0, s.readErr(m, sh, err)
		}
		pos = max(at, pos)
		if res, err = s.store.Read(ctx, sh.Log, pos, limit, maxBytes); err != nil {
			return nil, 0, 0, s.readErr(m, sh, err)
		}
		recs, drop = res.Records, 0
		for drop < len(recs) && recs[drop].Time.Before(cutoff) {
			drop++
		}
	}
	if drop > 0 {
		pos = recs[drop-1].Seq + 1
		recs = recs[drop:]
	}
	if sh.Closed {
		for i, rec := range recs {
			if rec.Seq > sh.EndSeq {
				recs = recs[:i]
				res.Pending = 0
				break
			}
		}
	}
	next := pos
	if len(recs) > 0 {
		next = recs[len(recs)-1].Seq + 1
	} else if res.Pending == 0 && len(res.Records) == 0 {
		// Nothing at or after pos: if pos was trimmed, stay put; storage
		// skips forward on the next read.
		next = pos
	}
	return recs, next, res.Pending, nil
}

func (s *Service) readErr(m *streamMeta, sh *shardMeta, err error) error {
	if errors.Is(err, storage.ErrLogNotFound) {
		return errShardNotFound(sh.id(), m.Name, s.o.AccountID)
	}
	return err
}

func childShards(m *streamMeta, sh *shardMeta) []any {
	out := []any{}
	id := sh.id()
	for i := range m.Shards {
		c := &m.Shards[i]
		if c.Parent != id && c.Adjacent != id {
			continue
		}
		parents := []any{c.Parent}
		if c.Adjacent != "" {
			parents = append(parents, c.Adjacent)
		}
		out = append(out, map[string]any{
			"ShardId":      c.id(),
			"ParentShards": parents,
			"HashKeyRange": map[string]any{"StartingHashKey": c.StartHash, "EndingHashKey": c.EndHash},
		})
	}
	return out
}
