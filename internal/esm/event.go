package esm

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"github.com/penstock/penstock/internal/b64"
)

// maxPayload is Lambda's synchronous invoke payload limit, measured on the
// whole JSON event.
const maxPayload = 6291456

// eventSource is the per-(mapping, shard) constant part of every record.
type eventSource struct {
	ShardID, Region, StreamARN, Role string
	// mid and tail are the encoded constant parts of a record around its
	// sequence number in eventID (newEventSource); "" = built per record.
	mid, tail string
}

// newEventSource returns the eventSource with its constant parts encoded
// once, so encodeRecord only appends them.
func newEventSource(shardID, region, streamARN, role string) eventSource {
	es := eventSource{ShardID: shardID, Region: region, StreamARN: streamARN, Role: role}
	es.mid, es.tail = string(es.appendMid(nil)), string(es.appendTail(nil))
	return es
}

// appendMid appends what follows approximateArrivalTimestamp's value up to
// the sequence number in eventID.
func (es eventSource) appendMid(b []byte) []byte {
	b = append(b, `},"eventSource":"aws:kinesis","eventVersion":"1.0","eventID":`...)
	b = appendJSONString(b, es.ShardID)
	b = b[:len(b)-1]
	return append(b, ':')
}

// appendTail appends what follows the sequence number in eventID.
func (es eventSource) appendTail(b []byte) []byte {
	b = append(b, `","eventName":"aws:kinesis:record","invokeIdentityArn":`...)
	b = appendJSONString(b, es.Role)
	b = append(b, `,"awsRegion":`...)
	b = appendJSONString(b, es.Region)
	b = append(b, `,"eventSourceARN":`...)
	b = appendJSONString(b, es.StreamARN)
	return append(b, '}')
}

const recordHead = `{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":`

// encodeRecord renders one entry of the event's Records list, exactly as
// AWS shapes it (spec/esm.md §2.1), once per record read, into one
// exactly sized allocation.
func (es eventSource) encodeRecord(seqNum, pk string, data []byte, arrival time.Time) []byte {
	mid, tail := es.mid, es.tail
	if mid == "" {
		mid, tail = string(es.appendMid(nil)), string(es.appendTail(nil))
	}
	const fixed = len(recordHead) + len(`,"sequenceNumber":"`) + len(`","data":"`) +
		len(`","approximateArrivalTimestamp":`) + 24 // timestamp
	b := make([]byte, 0, fixed+len(pk)+2+2*len(seqNum)+base64.StdEncoding.EncodedLen(len(data))+len(mid)+len(tail))
	b = append(b, recordHead...)
	b = appendJSONString(b, pk)
	b = append(b, `,"sequenceNumber":"`...)
	b = append(b, seqNum...)
	b = append(b, `","data":"`...)
	b = b64.AppendEncode(b, data)
	b = append(b, `","approximateArrivalTimestamp":`...)
	b = strconv.AppendFloat(b, float64(arrival.UnixMilli())/1000, 'f', 3, 64)
	b = append(b, mid...)
	b = append(b, seqNum...)
	return append(b, tail...)
}

// appendJSONString appends s as a JSON string, escaping as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= 0x80 {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

const (
	eventHead = `{"Records":[`
	eventTail = `]}`
)

// eventSize is the size of an event holding records of these encoded sizes.
func eventSize(n, recordBytes int) int {
	if n == 0 {
		return len(eventHead) + len(eventTail)
	}
	return len(eventHead) + recordBytes + n - 1 + len(eventTail)
}

// buildEvent renders {"Records":[...]}.
func buildEvent(recs []*rec) []byte {
	size := 0
	for _, r := range recs {
		size += len(r.JSON)
	}
	b := make([]byte, 0, eventSize(len(recs), size))
	b = append(b, eventHead...)
	for i, r := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r.JSON...)
	}
	return append(b, eventTail...)
}

// failureRecord is the on-failure invocation record (spec/esm.md §6).
type failureRecord struct {
	RequestContext   requestContext   `json:"requestContext"`
	ResponseContext  *responseContext `json:"responseContext,omitempty"`
	Version          string           `json:"version"`
	Timestamp        string           `json:"timestamp"`
	KinesisBatchInfo kinesisBatchInfo `json:"KinesisBatchInfo"`
}

type requestContext struct {
	RequestID              string `json:"requestId"`
	FunctionArn            string `json:"functionArn"`
	Condition              string `json:"condition"`
	ApproximateInvokeCount int    `json:"approximateInvokeCount"`
}

type responseContext struct {
	StatusCode      int     `json:"statusCode"`
	ExecutedVersion string  `json:"executedVersion"`
	FunctionError   *string `json:"functionError"`
}

type kinesisBatchInfo struct {
	ShardID                         string `json:"shardId"`
	StartSequenceNumber             string `json:"startSequenceNumber"`
	EndSequenceNumber               string `json:"endSequenceNumber"`
	ApproximateArrivalOfFirstRecord string `json:"approximateArrivalOfFirstRecord"`
	ApproximateArrivalOfLastRecord  string `json:"approximateArrivalOfLastRecord"`
	BatchSize                       int    `json:"batchSize"`
	StreamArn                       string `json:"streamArn"`
}

func isoMillis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// newFailureRecord renders the record for a discard action.
func newFailureRecord(a action, requestID, functionARN, executedVersion string, es eventSource, now time.Time) []byte {
	first, last := a.Records[0], a.Records[len(a.Records)-1]
	fr := failureRecord{
		RequestContext: requestContext{RequestID: requestID, FunctionArn: functionARN,
			Condition: a.Condition, ApproximateInvokeCount: a.InvokeCount},
		Version:   "1.0",
		Timestamp: isoMillis(now),
		KinesisBatchInfo: kinesisBatchInfo{
			ShardID:                         es.ShardID,
			StartSequenceNumber:             first.SeqNum,
			EndSequenceNumber:               last.SeqNum,
			ApproximateArrivalOfFirstRecord: isoMillis(first.Arrival),
			ApproximateArrivalOfLastRecord:  isoMillis(last.Arrival),
			BatchSize:                       len(a.Records),
			StreamArn:                       es.StreamARN,
		},
	}
	if !a.NoResponse {
		rc := &responseContext{StatusCode: 200, ExecutedVersion: executedVersion}
		if a.LastFunctionError != "" {
			fe := a.LastFunctionError
			rc.FunctionError = &fe
		}
		fr.ResponseContext = rc
	}
	b, _ := json.Marshal(fr)
	return b
}
