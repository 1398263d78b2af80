package kinesis_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/fxamacker/cbor/v2"

	pk "github.com/penstock/penstock/internal/kinesis"
)

// fuzzOps are the operations fuzzed. CreateStream and UpdateShardCount are
// left out: a valid input may legitimately create hundreds of shard logs,
// which stalls the fuzzer without testing the decoders any further (they
// share every member reader with the operations below).
var fuzzOps = []string{"PutRecord", "PutRecords", "GetShardIterator", "GetRecords", "ListShards", "DescribeStream", "ListStreams", "SplitShard", "AddTagsToStream", "MergeShards", "DescribeStreamSummary", "IncreaseStreamRetentionPeriod"}

// fuzzService is a service with stream "f" (2 shards) for the fuzz seeds.
func fuzzService(f *testing.F) *pk.Service {
	svc, c := standalone(f)
	if _, err := c.CreateStream(f.Context(), &kinesis.CreateStreamInput{StreamName: aws.String("f"), ShardCount: aws.Int32(2)}); err != nil {
		f.Fatal(err)
	}
	return svc
}

// fuzzCall sends one body to the service and checks the answer: never a
// 5xx, always a well-formed body in the request's format, errors with a
// __type.
func fuzzCall(t *testing.T, svc *pk.Service, op byte, contentType string, body []byte) {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+fuzzOps[int(op)%len(fuzzOps)])
	req.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	svc.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.Bytes())
	}
	if rec.Code == 200 {
		return
	}
	var e map[string]any
	var err error
	if contentType == ctCBOR {
		err = cbor.Unmarshal(rec.Body.Bytes(), &e)
	} else {
		err = json.Unmarshal(rec.Body.Bytes(), &e)
	}
	if err != nil || e["__type"] == nil {
		t.Fatalf("error body %q: %v", rec.Body.Bytes(), err)
	}
}

var jsonSeeds = []string{
	`{}`, `[]`, `null`, `{"StreamName":"f","ShardCount":1}`,
	`{"StreamName":"f","PartitionKey":"k","Data":"AAEC"}`,
	`{"StreamName":"f","Records":[{"PartitionKey":"k","Data":"AA=="},{"Data":5}]}`,
	`{"StreamName":"f","ShardId":"shardId-0","ShardIteratorType":"AT_TIMESTAMP","Timestamp":1.5e9}`,
	`{"ShardIterator":"\"AAAA\"","Limit":10001}`,
	`{"StreamName":"f","ShardFilter":{"Type":"AT_TIMESTAMP","Timestamp":-1}}`,
	`{"Limit":1e400}`, `{"Limit":9223372036854775808}`, `{"StreamName":{"a":[1,2]}}`,
	`{"StreamName":"f","Tags":{"k":null,"":"v"}}`, `{"StreamName":"f","TargetShardCount":-5,"ScalingType":"X"}`,
	`{"StreamName":"f","ShardToSplit":"x","NewStartingHashKey":"99999999999999999999999999999999999999999"}`,
}

func FuzzJSONRequest(f *testing.F) {
	svc := fuzzService(f)
	for i, s := range jsonSeeds {
		f.Add(byte(i), []byte(s))
	}
	f.Fuzz(func(t *testing.T, op byte, body []byte) {
		fuzzCall(t, svc, op, ctJSON, body)
	})
}

func FuzzCBORRequest(f *testing.F) {
	svc := fuzzService(f)
	for i, s := range jsonSeeds {
		var v any
		if json.Unmarshal([]byte(s), &v) == nil {
			b, _ := cbor.Marshal(v)
			f.Add(byte(i), b)
		}
	}
	seeds := []any{
		map[string]any{"StreamName": "f", "PartitionKey": "k", "Data": []byte{1, 2}},
		map[string]any{"StreamName": "f", "ShardId": "0", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": cbor.Tag{Number: 1, Content: uint64(1 << 62)}},
		map[string]any{"StreamName": "f", "ShardId": "0", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": cbor.Tag{Number: 0, Content: "2020-01-01T00:00:00Z"}},
		map[any]any{1: 2, "StreamName": []any{}},
	}
	for i, s := range seeds {
		b, _ := cbor.Marshal(s)
		f.Add(byte(i), b)
	}
	f.Add(byte(0), []byte{0xbf, 0x61})
	f.Add(byte(0), []byte{0xd9, 0xd9, 0xf7, 0xa0})
	f.Fuzz(func(t *testing.T, op byte, body []byte) {
		fuzzCall(t, svc, op, ctCBOR, body)
	})
}
