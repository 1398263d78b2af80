package kinesis

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/penstock/penstock/internal/storage"
)

// fastSeeds are request bodies for the differential fuzz test: the usual
// shapes and the unusual ones that must take the generic path.
var fastSeeds = []string{
	`{}`, `[]`, `null`, ``, ` `, `{"StreamName":"f"}`,
	`{"StreamName":"f","Records":[{"PartitionKey":"k","Data":"AAEC"}]}`,
	`{"StreamName":"f","Records":[{"PartitionKey":"k","Data":"AA=="},{"Data":5}]}`,
	`{"StreamName":"f","Records":[{"Data":"AA==","PartitionKey":"ké","ExplicitHashKey":"12"},{"PartitionKey":"","Data":""}]}`,
	`{"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/f","StreamId":"x","Records":[]}`,
	`{"StreamName":"f","Records":[{"PartitionKey":"k","Data":"AA\nA="}]}`,
	`{"StreamName":"f","Records":[{"PartitionKey":"k","Data":"AA\/A"}]}`,
	`{"StreamName":"f","Records":[{"PartitionKey":"k","Data":"AAA"}]}`,
	`{"StreamName":"f","Records":[{"PartitionKey":"k","Data":"A==="}]}`,
	`{"StreamName":"f","Records":[{"PartitionKey":"k","Data":"AB=="}]}`,
	`{"StreamName":"f","Records":[{"PartitionKey":"k","PartitionKey":"j","Data":"AAAA"}]}`,
	`{"StreamName":"f","Records":[null,{"PartitionKey":"k","Data":"AAAA"}]}`,
	`{"StreamName":"f","StreamName":"g","Records":[]}`,
	`{"StreamName":"f","Records":[{"PartitionKey":"k\u00e9","Data":"AAAA"}]} `,
	`{"StreamName":"f","Records":[]}}`, `{"StreamName":"f","Records":[]} x`,
	`{"StreamName":"f","Records":[{"PartitionKey":"k","Data":"AAAA","Extra":1}]}`,
	"{\"StreamName\":\"f\xff\",\"Records\":[]}",
	`{"StreamName":"f","PartitionKey":"k","Data":"AAEC"}`, `{"StreamName":"f","PartitionKey":"k","Data":"AAE"}`,
	`{"StreamARN":"a","StreamId":"i","PartitionKey":"","Data":"","ExplicitHashKey":"x","SequenceNumberForOrdering":"1"}`,
	`{"StreamName":"f","PartitionKey":"k","Data":"AA\nA"}`, `{"StreamName":"f","Data":"AAEC","Data":"AAEC"}`,
	`{"ShardIterator":"AAAA","Limit":10}`, `{"ShardIterator":"\"AAAA\"","Limit":10001}`,
	`{"ShardIterator":"AAAA","Limit":-0}`, `{"ShardIterator":"AAAA","Limit":1.0}`,
	`{"ShardIterator":"AAAA","Limit":1e3}`, `{"ShardIterator":"AAAA","Limit":012}`,
	`{"ShardIterator":"AAAA","Limit":9999999999}`, `{"ShardIterator":"AAAA","Limit":-123456789}`,
	`{"ShardIterator":"AAAA","StreamARN":"arn","StreamId":"s"}`, `{"ShardIterator":null}`,
	`{"ShardIterator":5}`, `{"Limit":"5"}`, ` { "ShardIterator" : "AAAA" , "Limit" : 7 } `,
}

func FuzzFastPath(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFastPut(t, body)
		checkFastPutRecord(t, body)
		checkFastGet(t, body)
		checkAppenders(t, body)
	})
}

// TestFastPathSeeds runs the differential checks on the seeds (and the
// fuzz corpus) without -fuzz.
func TestFastPathSeeds(t *testing.T) {
	for _, s := range fastSeeds {
		checkFastPut(t, []byte(s))
		checkFastPutRecord(t, []byte(s))
		checkFastGet(t, []byte(s))
		checkAppenders(t, []byte(s))
	}
	if _, ok := fastPutRecords([]byte(`{"StreamName":"f","Records":[{"PartitionKey":"k","Data":"AAEC"}]}`)); !ok {
		t.Fatal("the usual PutRecords body took the generic path")
	}
	if _, ok := fastPutRecord([]byte(`{"StreamName":"f","PartitionKey":"k","Data":"AAEC","ExplicitHashKey":"1","SequenceNumberForOrdering":"0"}`)); !ok {
		t.Fatal("the usual PutRecord body took the generic path")
	}
	if _, ok := fastGetRecords([]byte(`{"ShardIterator":"AAAA","Limit":10}`)); !ok {
		t.Fatal("the usual GetRecords body took the generic path")
	}
}

func checkFastPut(t *testing.T, body []byte) {
	fast, ok := fastPutRecords(body)
	if !ok {
		return
	}
	m, err := decodeBody(body, false)
	if err != nil {
		t.Fatalf("fast path accepted %q, generic: %v", body, err)
	}
	r := &reader{m: m}
	gen := readPutRecords(r)
	if r.err != nil {
		t.Fatalf("fast path accepted %q, generic: %v", body, r.err)
	}
	if a, b := describePut(&fast), describePut(&gen); a != b {
		t.Fatalf("%q:\nfast    %s\ngeneric %s", body, a, b)
	}
}

func checkFastPutRecord(t *testing.T, body []byte) {
	fast, ok := fastPutRecord(body)
	if !ok {
		return
	}
	m, err := decodeBody(body, false)
	if err != nil {
		t.Fatalf("fast path accepted %q, generic: %v", body, err)
	}
	r := &reader{m: m}
	gen := readPutRecord(r)
	if r.err != nil {
		t.Fatalf("fast path accepted %q, generic: %v", body, r.err)
	}
	describe := func(q *putRecordReq) string {
		return fmt.Sprintf("name=%s arn=%s data=%v %x pk=%s ehk=%s sfo=%s", ptr(q.ref.name), ptr(q.ref.arn), q.hasData, q.data, ptr(q.pk), ptr(q.ehk), ptr(q.sfo))
	}
	if a, b := describe(&fast), describe(&gen); a != b {
		t.Fatalf("%q:\nfast    %s\ngeneric %s", body, a, b)
	}
}

func describePut(req *putRecordsReq) string {
	s := fmt.Sprintf("name=%s arn=%s list=%v n=%d", ptr(req.ref.name), ptr(req.ref.arn), req.hasList, len(req.records))
	for _, r := range req.records {
		s += fmt.Sprintf(" [%v %x %v %q %s]", r.hasData, r.data, r.hasPK, r.pk, ptr(r.ehk))
	}
	return s
}

func ptr[T any](p *T) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprintf("%q", fmt.Sprint(*p))
}

func checkFastGet(t *testing.T, body []byte) {
	fast, ok := fastGetRecords(body)
	if !ok {
		return
	}
	m, err := decodeBody(body, false)
	if err != nil {
		t.Fatalf("fast path accepted %q, generic: %v", body, err)
	}
	r := &reader{m: m}
	gen := readGetRecords(r)
	if r.err != nil {
		t.Fatalf("fast path accepted %q, generic: %v", body, r.err)
	}
	a := fmt.Sprintf("%s %s %s", ptr(fast.it), ptr(fast.limit), ptr(fast.arn))
	b := fmt.Sprintf("%s %s %s", ptr(gen.it), ptr(gen.limit), ptr(gen.arn))
	if a != b {
		t.Fatalf("%q:\nfast    %s\ngeneric %s", body, a, b)
	}
}

// checkAppenders builds answers from the fuzz bytes and checks that the
// appenders write exactly what the generic tree encoder writes.
func checkAppenders(t *testing.T, in []byte) {
	var recs []storage.Record
	var puts []putResult
	for p := in; len(p) > 0; {
		n := int(p[0]) % (len(p) + 1)
		chunk := p[:n]
		p = p[n:]
		if len(p) > 0 {
			p = p[1:]
		}
		var seq uint64
		var ms int64
		if len(chunk) >= 8 {
			seq = binary.LittleEndian.Uint64(chunk)
			ms = int64(seq>>20) % 253402300799000
		}
		recs = append(recs, storage.Record{Seq: seq, Time: time.UnixMilli(ms), PartitionKey: string(chunk), Data: chunk})
		if n%3 == 0 {
			puts = append(puts, putResult{errCode: string(chunk), errMsg: "Rate exceeded <&> " + string(chunk)})
		} else {
			puts = append(puts, putResult{shard: n * 1000003, seq: seq})
		}
	}
	shard := len(in) * 7919
	outs := []jsonAppender{
		&putRecordsOut{failed: len(in), recs: puts},
		&getRecordsOut{shard: shard, recs: recs, behind: int64(len(in)), next: string(in), hasNext: true},
		&getRecordsOut{shard: shard, recs: recs, children: []any{map[string]any{"ShardId": "shardId-000000000001", "ParentShards": []any{"a"}}}},
		&getRecordsOut{recs: []storage.Record{}, children: []any{}},
	}
	for _, o := range outs {
		want, _ := encodeBody(o.tree(), false)
		if got := o.appendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("appender:\n%s\ntree:\n%s", got, want)
		}
		if g, ok := o.(*getRecordsOut); ok {
			checkStream(t, g, want)
		}
	}
	for _, sh := range []int{0, 1, shard, 1<<31 - 1} {
		for _, seq := range []uint64{0, 1, uint64(len(in)), 1<<64 - 1} {
			if got, want := SequenceNumber(sh, seq), fmt.Sprintf("%s%010d%020d%s", seqPrefix, sh, seq, seqPadding); got != want {
				t.Fatalf("SequenceNumber(%d, %d) = %s, want %s", sh, seq, got, want)
			}
		}
		if got, want := shardID(sh), fmt.Sprintf("shardId-%012d", sh); got != want {
			t.Fatalf("shardID(%d) = %s, want %s", sh, got, want)
		}
	}
}

// checkStream checks that a GetRecords answer written in chunks (of several
// sizes, down to the smallest the writer allows) and through writeHTTP is
// want, with a matching Content-Length.
func checkStream(t *testing.T, o *getRecordsOut, want []byte) {
	t.Helper()
	for _, size := range []int{4, 5, 6, 7, 13, 64, 1000, streamChunk} {
		var buf bytes.Buffer
		aw := &answerWriter{chunk: make([]byte, 0, size), w: &buf}
		aw.skel, aw.holes = o.appendParts(nil, nil, false)
		o.stream(aw)
		if !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("streamed in chunks of %d:\n%s\nwant:\n%s", size, buf.Bytes(), want)
		}
	}
	rec := httptest.NewRecorder()
	o.writeHTTP(rec)
	if got := rec.Body.Bytes(); !bytes.Equal(got, want) || rec.Header().Get("Content-Length") != strconv.Itoa(len(want)) {
		t.Fatalf("writeHTTP: Content-Length %s, body:\n%s\nwant %d bytes:\n%s", rec.Header().Get("Content-Length"), got, len(want), want)
	}
}

func TestGetRecordsStream(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_123)
	var recs []storage.Record
	for i := range 50 {
		recs = append(recs, storage.Record{Seq: uint64(i + 1), Time: now, PartitionKey: "k<" + strconv.Itoa(i) + ">", Data: bytes.Repeat([]byte{byte(i)}, i*i)})
	}
	recs = append(recs, storage.Record{Seq: 99, Time: now, PartitionKey: "big", Data: bytes.Repeat([]byte("xyz"), streamChunk)})
	for _, o := range []*getRecordsOut{
		{shard: 3, recs: recs, behind: 5, next: "AAAA", hasNext: true},
		{shard: 3, recs: recs[:1], children: []any{}},
		{recs: nil, hasNext: true, next: "it"},
	} {
		want, _ := encodeBody(o.tree(), false)
		checkStream(t, o, want)
	}
}
