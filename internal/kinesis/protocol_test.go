package kinesis_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/penstock/penstock/internal/server"
)

// post sends one raw Kinesis call.
func post(t *testing.T, srv *server.Server, op, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL()+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

const (
	ctJSON = "application/x-amz-json-1.1"
	ctCBOR = "application/x-amz-cbor-1.1"
)

func cborBody(t *testing.T, v any) []byte {
	t.Helper()
	b, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The recorded AWS CBOR error (localstack test_cbor_exceptions): DescribeStream
// by the ARN of a missing stream.
func TestCBOR_RecordedError(t *testing.T) {
	t.Parallel()
	_, srv := start(t, func(cfg *server.Config) { cfg.AccountID = "111111111111" })
	var want map[string]string
	recording(t, "TestKinesis::test_cbor_exceptions", "cbor-error", &want)
	resp, body := post(t, srv, "DescribeStream", ctCBOR, cborBody(t, map[string]any{
		"StreamARN": "arn:aws:kinesis:us-east-1:111111111111:stream/wrong-stream-name",
	}))
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != ctCBOR {
		t.Fatalf("status %d content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var got map[string]string
	if err := cbor.Unmarshal(body, &got); err != nil {
		t.Fatalf("error body is not CBOR: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("CBOR error body differs from AWS's (-aws +got):\n%s", diff)
	}
}

// recording decodes one recorded AWS value from testdata (a copy of
// shared/spec/aws-recordings/localstack-kinesis-api.snapshot.json).
func recording(t *testing.T, test, key string, v any) {
	t.Helper()
	raw, err := os.ReadFile("testdata/aws-recordings-kinesis-api.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]struct {
		Content map[string]json.RawMessage `json:"recorded-content"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	b, ok := rec[test].Content[key]
	if !ok {
		t.Fatalf("no recording %s/%s", test, key)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func TestCBOR_RoundTrip(t *testing.T) {
	t.Parallel()
	_, srv := start(t, nil)
	call := func(op string, in map[string]any) map[string]cbor.RawMessage {
		t.Helper()
		resp, body := post(t, srv, op, ctCBOR, cborBody(t, in))
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %x", op, resp.StatusCode, body)
		}
		if resp.Header.Get("Content-Type") != ctCBOR {
			t.Fatalf("%s: content type %q", op, resp.Header.Get("Content-Type"))
		}
		out := map[string]cbor.RawMessage{}
		if len(body) > 0 {
			if err := cbor.Unmarshal(body, &out); err != nil {
				t.Fatalf("%s: %v", op, err)
			}
		}
		return out
	}
	call("CreateStream", map[string]any{"StreamName": "cb", "ShardCount": 1})
	before := time.Now().Add(-time.Second)
	put := call("PutRecord", map[string]any{"StreamName": "cb", "PartitionKey": "k", "Data": []byte{0, 1, 2, 0xff}})
	var sn string
	if err := cbor.Unmarshal(put["SequenceNumber"], &sn); err != nil || len(sn) != 56 {
		t.Fatalf("SequenceNumber %q %v", sn, err)
	}
	// Timestamps in: tag 1 + integer millis (Java SDK), and untagged millis.
	for _, ts := range []any{cbor.Tag{Number: 1, Content: before.UnixMilli()}, before.UnixMilli(), float64(before.UnixMilli())} {
		it := call("GetShardIterator", map[string]any{"StreamName": "cb", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": ts})
		var iterator string
		if err := cbor.Unmarshal(it["ShardIterator"], &iterator); err != nil {
			t.Fatal(err)
		}
		got := call("GetRecords", map[string]any{"ShardIterator": iterator})
		var recs []map[string]cbor.RawMessage
		if err := cbor.Unmarshal(got["Records"], &recs); err != nil || len(recs) != 1 {
			t.Fatalf("timestamp %v: records %d %v", ts, len(recs), err)
		}
		var data []byte
		if err := cbor.Unmarshal(recs[0]["Data"], &data); err != nil || !bytes.Equal(data, []byte{0, 1, 2, 0xff}) {
			t.Fatalf("Data is not the byte string: %x %v", recs[0]["Data"], err)
		}
		// Timestamps out: tag 1 + integer millis.
		var tag cbor.Tag
		if err := cbor.Unmarshal(recs[0]["ApproximateArrivalTimestamp"], &tag); err != nil {
			t.Fatal(err)
		}
		ms, isInt := tag.Content.(uint64)
		if tag.Number != 1 || !isInt || time.UnixMilli(int64(ms)).Before(before) || time.UnixMilli(int64(ms)).After(time.Now()) {
			t.Fatalf("ApproximateArrivalTimestamp = tag %d %T %v", tag.Number, tag.Content, tag.Content)
		}
	}
	// Bad CBOR → SerializationException, in CBOR.
	resp, body := post(t, srv, "PutRecord", ctCBOR, []byte{0xbf, 0x61})
	var e map[string]string
	if err := cbor.Unmarshal(body, &e); resp.StatusCode != 400 || err != nil || e["__type"] != "SerializationException" {
		t.Fatalf("bad CBOR: %d %v %v", resp.StatusCode, e, err)
	}
}

func TestProtocol(t *testing.T) {
	t.Parallel()
	_, srv := start(t, nil)
	cases := []struct {
		name        string
		op, ct      string
		body        string
		status      int
		wantType    string
		wantMessage string
	}{
		{"empty body", "ListStreams", ctJSON, "", 400, "SerializationException", ""},
		{"empty body, unknown op", "Nope", ctJSON, "", 400, "UnknownOperationException", ""},
		{"not an object", "ListStreams", ctJSON, "[1]", 400, "SerializationException", ""},
		{"bad json", "ListStreams", ctJSON, "{", 400, "SerializationException", ""},
		{"unknown op", "Nope", ctJSON, "{}", 400, "UnknownOperationException", ""},
		{"string for integer", "ListStreams", ctJSON, `{"Limit":"5"}`, 400, "SerializationException", "class java.lang.String can not be converted to an Integer"},
		{"bad base64", "PutRecord", ctJSON, `{"StreamName":"s","PartitionKey":"k","Data":"23456"}`, 400, "SerializationException", "'23456' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 5"},
		{"string timestamp", "GetShardIterator", ctJSON, `{"StreamName":"s","ShardId":"0","ShardIteratorType":"AT_TIMESTAMP","Timestamp":"2020"}`, 400, "SerializationException", "class java.lang.String can not be converted to milliseconds since epoch"},
		{"missing members", "PutRecord", ctJSON, `{}`, 400, "ValidationException", "3 validation errors detected: Value null at 'streamName' failed to satisfy constraint: Member must not be null; Value null at 'data' failed to satisfy constraint: Member must not be null; Value null at 'partitionKey' failed to satisfy constraint: Member must not be null"},
		{"ok with empty output", "CreateStream", ctJSON, `{"StreamName":"p","ShardCount":1}`, 200, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, srv, tc.op, tc.ct, []byte(tc.body))
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if resp.Header.Get("x-amzn-RequestId") == "" {
				t.Error("no x-amzn-RequestId")
			}
			if id2, err := base64.StdEncoding.DecodeString(resp.Header.Get("x-amz-id-2")); err != nil || len(id2) < 64 {
				t.Errorf("x-amz-id-2 %q", resp.Header.Get("x-amz-id-2"))
			}
			if tc.status == 200 {
				if len(body) != 0 || resp.Header.Get("Content-Length") != "0" {
					t.Fatalf("operation without output answered %q", body)
				}
				return
			}
			var e map[string]string
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("error body %q: %v", body, err)
			}
			if e["__type"] != tc.wantType || (tc.wantMessage != "" && e["message"] != tc.wantMessage) {
				t.Fatalf("got %v, want %s %q", e, tc.wantType, tc.wantMessage)
			}
		})
	}
	t.Run("GET", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL()+"/", nil)
		req.Header.Set("X-Amz-Target", "Kinesis_20131202.ListStreams")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Fatalf("GET: %d", resp.StatusCode)
		}
	})
}
