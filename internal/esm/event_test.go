package esm

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// The precomputed constant parts give the same bytes as encoding them per
// record, including values that need escaping.
func TestEncodeRecordPrecomputed(t *testing.T) {
	at := time.UnixMilli(1545084650987)
	for _, es := range []eventSource{
		{ShardID: "shardId-000000000006", Region: "us-east-2", StreamARN: "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream", Role: "arn:aws:iam::123456789012:role/lambda-role"},
		{ShardID: "shard<&>\"\\", Region: "r\u00e9", StreamARN: "arn:\n", Role: ""},
	} {
		pre := newEventSource(es.ShardID, es.Region, es.StreamARN, es.Role)
		for _, pk := range []string{"1", "", "k\"<é>"} {
			want := es.encodeRecord("49590338271490256608559692538361571095921575989136588898", pk, []byte("Hello"), at)
			got := pre.encodeRecord("49590338271490256608559692538361571095921575989136588898", pk, []byte("Hello"), at)
			if !bytes.Equal(got, want) {
				t.Fatalf("precomputed\n%s\nwant\n%s", got, want)
			}
			if !json.Valid(got) {
				t.Fatalf("invalid JSON %s", got)
			}
		}
	}
}
