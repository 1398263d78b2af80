package kclient

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// The lean shard reader's reactions to the errors a real endpoint gives
// rarely (an iterator expires after 5 minutes; throttling needs AWS's
// limits), against a scripted endpoint: an expired iterator is created
// again from where reading stood, throttling is waited out, records are
// counted with their decoded bytes, and a closed shard ends the read.
func TestWireShardRecoversFromExpiryAndThrottling(t *testing.T) {
	type step struct {
		op     string // the operation the reader must call
		expect string // a member the request must hold, as JSON text
		status int
		reply  string
	}
	expired := `{"__type":"ExpiredIteratorException","message":"Iterator expired."}`
	throttled := `{"__type":"ProvisionedThroughputExceededException","message":"Rate exceeded."}`
	script := []step{
		{"GetShardIterator", `"ShardIteratorType":"TRIM_HORIZON"`, 200, `{"ShardIterator":"it1"}`},
		{"GetRecords", `"ShardIterator":"it1"`, 400, expired},
		{"GetShardIterator", `"ShardIteratorType":"TRIM_HORIZON"`, 200, `{"ShardIterator":"it2"}`},
		{"GetRecords", `"ShardIterator":"it2"`, 200, `{"Records":[{"SequenceNumber":"10","PartitionKey":"a","Data":"aGVsbG8="},{"SequenceNumber":"11","PartitionKey":"b","Data":"d29ybGQh"}],"NextShardIterator":"it3","MillisBehindLatest":500}`},
		{"GetRecords", `"ShardIterator":"it3"`, 400, throttled},
		{"GetRecords", `"ShardIterator":"it3"`, 400, expired},
		{"GetShardIterator", `"StartingSequenceNumber":"11"`, 200, `{"ShardIterator":"it4"}`},
		{"GetRecords", `"ShardIterator":"it4"`, 200, `{"Records":[{"SequenceNumber":"12","PartitionKey":"c","Data":""}],"NextShardIterator":null,"MillisBehindLatest":0,"ChildShards":[]}`},
	}
	var mu sync.Mutex
	next := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "Kinesis_20131202.")
		if next >= len(script) {
			t.Errorf("request %d beyond the script: %s %s", next, op, body)
			w.WriteHeader(500)
			return
		}
		s := script[next]
		next++
		if op != s.op || !strings.Contains(string(body), s.expect) || !json.Valid(body) {
			t.Errorf("request %d: %s %s, want %s with %s", next-1, op, body, s.op, s.expect)
		}
		w.WriteHeader(s.status)
		_, _ = io.WriteString(w, s.reply)
	}))
	defer srv.Close()
	w, err := NewWire(Config{Endpoint: srv.URL, MaxAttempts: 1}) // the reader, not the retryer, handles the errors
	if err != nil {
		t.Fatal(err)
	}
	defer w.CloseIdleConnections()

	r := &Reader{Stream: "s", Limit: 100}
	out := make(chan wireBatch, 10)
	closed, err := r.wireShard(w)(t.Context(), "shardId-000000000000", TrimHorizon, out)
	close(out)
	if err != nil || !closed {
		t.Fatalf("read = %v, %v; want the shard read to its end", closed, err)
	}
	var got []string
	for b := range out {
		got = append(got, fmt.Sprintf("%d records %d bytes", b.records, b.bytes))
	}
	if want := []string{"2 records 11 bytes", "1 records 0 bytes"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("batches %q, want %q", got, want)
	}
	if next != len(script) {
		t.Errorf("%d of %d scripted requests made", next, len(script))
	}
}
