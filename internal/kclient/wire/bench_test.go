package wire

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// getRecordsReply is a penstock-shaped GetRecords reply of n records of
// size bytes.
func getRecordsReply(n, size int) []byte {
	data := make([]byte, size)
	_, _ = rand.Read(data)
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	b.WriteString(`{"MillisBehindLatest":0,"NextShardIterator":"AAAAAAAAAAEAAAAAAAAAAQ==","Records":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"ApproximateArrivalTimestamp":1700000000.%03d,"Data":"%s","PartitionKey":"%016x","SequenceNumber":"496%053d"}`, i%1000, enc, i, i)
	}
	b.WriteString("]}")
	return []byte(b.String())
}

func BenchmarkDecodeGetRecords(b *testing.B) {
	body := getRecordsReply(10000, 1024)
	var o GetRecordsOutput
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := o.decode(body); err != nil || len(o.Records) != 10000 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/record")
}

func BenchmarkEncodePutRecords(b *testing.B) {
	data := make([]byte, 1024)
	_, _ = rand.Read(data)
	entries := make([]Entry, 500)
	for i := range entries {
		entries[i] = Entry{PartitionKey: fmt.Sprintf("%016x", i), Data: data}
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = appendPutRecords(buf[:0], "bench-stream", entries)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/500, "ns/record")
}
