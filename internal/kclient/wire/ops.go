package wire

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	smithytime "github.com/aws/smithy-go/time"
)

// errMalformed is a reply the scanner refused.
var errMalformed = errors.New("malformed JSON")

// Entry is one record to put.
type Entry struct {
	PartitionKey    string
	ExplicitHashKey string // "" = the hash of PartitionKey decides the shard
	Data            []byte
	// Data64 is Data in standard base64, if the caller has it: it is sent
	// as is instead of encoding Data (a load generator that sends one
	// payload many times encodes it once). Data must still be set.
	Data64 []byte
}

// PutRecordsOutput is a decoded PutRecords reply. Its byte slices point
// into buffers the next call with the same output reuses: copy what must
// outlive it.
type PutRecordsOutput struct {
	FailedRecordCount int64
	Records           []PutRecordsResultEntry // one per entry sent, in order
	EncryptionType    []byte

	body, text []byte
}

// PutRecordsResultEntry is one record's result: a sequence number and
// shard, or an error code and message.
type PutRecordsResultEntry struct {
	SequenceNumber []byte
	ShardID        []byte
	ErrorCode      []byte // empty when the record was stored
	ErrorMessage   []byte
}

// PutRecords writes entries (at most 500) to stream in one request and
// decodes the reply into out. Records the reply marks as failed are not
// retried here (see FailedRecordCount and each entry's ErrorCode).
func (c *Client) PutRecords(ctx context.Context, stream string, entries []Entry, out *PutRecordsOutput) error {
	body, err := c.send(ctx, "PutRecords", func(b []byte) []byte { return appendPutRecords(b, stream, entries) }, out.body)
	out.body = body
	if err != nil {
		return fmt.Errorf("putting %d records to %s: %w", len(entries), stream, err)
	}
	if err := out.decode(body); err != nil {
		return fmt.Errorf("putting %d records to %s: decoding the reply: %w", len(entries), stream, err)
	}
	if len(out.Records) != len(entries) {
		return fmt.Errorf("putting %d records to %s: the reply has %d results", len(entries), stream, len(out.Records))
	}
	return nil
}

func (o *PutRecordsOutput) decode(body []byte) error {
	o.FailedRecordCount, o.Records, o.EncryptionType, o.text = 0, o.Records[:0], nil, o.text[:0]
	s := scanner{b: body}
	ok := s.object(func(k []byte) bool {
		switch string(k) {
		case "FailedRecordCount":
			var ok bool
			o.FailedRecordCount, ok = s.int()
			return ok
		case "EncryptionType":
			v, _, ok := s.text(&o.text)
			o.EncryptionType = v
			return ok
		case "Records":
			o.Records = o.Records[:0]
			if s.null() {
				return true
			}
			return s.array(func() bool {
				o.Records = append(o.Records, PutRecordsResultEntry{})
				r := &o.Records[len(o.Records)-1]
				return s.object(func(k []byte) bool {
					var dst *[]byte
					switch string(k) {
					case "SequenceNumber":
						dst = &r.SequenceNumber
					case "ShardId":
						dst = &r.ShardID
					case "ErrorCode":
						dst = &r.ErrorCode
					case "ErrorMessage":
						dst = &r.ErrorMessage
					default:
						return s.skip()
					}
					v, _, ok := s.text(&o.text)
					*dst = v
					return ok
				})
			})
		default:
			return s.skip()
		}
	})
	if !ok || !s.end() {
		return errMalformed
	}
	return nil
}

// int reads an integer (or null, 0) as json.Number.Int64 reads it.
func (s *scanner) int() (int64, bool) {
	if s.null() {
		return 0, true
	}
	raw, ok := s.number()
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	return n, err == nil
}

// IteratorInput says where a shard iterator starts.
type IteratorInput struct {
	Stream  string
	ShardID string
	// Type is TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER,
	// AFTER_SEQUENCE_NUMBER or AT_TIMESTAMP.
	Type                   string
	StartingSequenceNumber string    // the *_SEQUENCE_NUMBER types
	Timestamp              time.Time // AT_TIMESTAMP
}

// GetShardIterator returns a shard iterator for in.
func (c *Client) GetShardIterator(ctx context.Context, in IteratorInput) (string, error) {
	body, err := c.send(ctx, "GetShardIterator", func(b []byte) []byte { return appendGetShardIterator(b, in) }, nil)
	if err != nil {
		return "", fmt.Errorf("getting a %s iterator for %s of %s: %w", in.Type, in.ShardID, in.Stream, err)
	}
	var it []byte
	var text []byte
	s := scanner{b: body}
	ok := s.object(func(k []byte) bool {
		if string(k) != "ShardIterator" {
			return s.skip()
		}
		var ok bool
		it, _, ok = s.text(&text)
		return ok
	})
	if !ok || !s.end() {
		return "", fmt.Errorf("getting a %s iterator for %s of %s: decoding the reply: %w", in.Type, in.ShardID, in.Stream, errMalformed)
	}
	if len(it) == 0 {
		return "", fmt.Errorf("getting a %s iterator for %s of %s: the reply has no ShardIterator", in.Type, in.ShardID, in.Stream)
	}
	return string(it), nil
}

// Record is one record of a GetRecords reply, Data decoded from base64.
// Its byte slices point into buffers the next call with the same output
// reuses.
type Record struct {
	SequenceNumber []byte
	PartitionKey   []byte
	Data           []byte
	EncryptionType []byte
	arrival        float64 // ApproximateArrivalTimestamp, epoch seconds
	hasArrival     bool
}

// ApproximateArrivalTimestamp is the record's arrival time as the SDK
// reads it (millisecond precision, UTC); false when the reply had none.
func (r *Record) ApproximateArrivalTimestamp() (time.Time, bool) {
	if !r.hasArrival {
		return time.Time{}, false
	}
	return smithytime.ParseEpochSeconds(r.arrival), true
}

// GetRecordsOutput is a decoded GetRecords reply, reusable from call to
// call: records, decoded data and reply body stay in its buffers, which
// the next call overwrites.
type GetRecordsOutput struct {
	Records []Record
	// NextShardIterator is empty when the reply has none (or null): the
	// shard is closed and read to its end.
	NextShardIterator     string
	MillisBehindLatest    int64
	HasMillisBehindLatest bool
	// ChildShards is the reply's ChildShards array as JSON text; nil when
	// it has none (or null).
	ChildShards []byte

	body, text, data, tmp []byte
}

// DataBytes is the total length of the records' decoded data.
func (o *GetRecordsOutput) DataBytes() int64 {
	var n int64
	for i := range o.Records {
		n += int64(len(o.Records[i].Data))
	}
	return n
}

// GetRecords reads up to limit records (0 = the server's maximum) at
// iterator into out.
func (c *Client) GetRecords(ctx context.Context, iterator string, limit int, out *GetRecordsOutput) error {
	body, err := c.send(ctx, "GetRecords", func(b []byte) []byte { return appendGetRecords(b, iterator, limit) }, out.body)
	out.body = body
	if err != nil {
		return fmt.Errorf("getting records: %w", err)
	}
	if err := out.decode(body); err != nil {
		return fmt.Errorf("getting records: decoding the reply: %w", err)
	}
	return nil
}

func (o *GetRecordsOutput) decode(body []byte) error {
	o.Records, o.NextShardIterator, o.MillisBehindLatest, o.HasMillisBehindLatest, o.ChildShards =
		o.Records[:0], "", 0, false, nil
	o.text, o.data = o.text[:0], o.data[:0]
	s := scanner{b: body}
	ok := s.object(func(k []byte) bool {
		switch string(k) {
		case "Records":
			o.Records = o.Records[:0]
			if s.null() {
				return true
			}
			return s.array(func() bool {
				o.Records = append(o.Records, Record{})
				return o.record(&s, &o.Records[len(o.Records)-1])
			})
		case "NextShardIterator":
			v, _, ok := s.text(&o.text)
			o.NextShardIterator = string(v)
			return ok
		case "MillisBehindLatest":
			o.HasMillisBehindLatest = !s.null()
			if !o.HasMillisBehindLatest {
				o.MillisBehindLatest = 0
				return true
			}
			var ok bool
			o.MillisBehindLatest, ok = s.int()
			return ok
		case "ChildShards":
			o.ChildShards = nil
			if s.null() {
				return true
			}
			if s.peek() != '[' {
				return false
			}
			v, ok := s.raw()
			o.ChildShards = v
			return ok
		default:
			return s.skip()
		}
	})
	if !ok || !s.end() {
		return errMalformed
	}
	return nil
}

func (o *GetRecordsOutput) record(s *scanner, r *Record) bool {
	return s.object(func(k []byte) bool {
		var ok bool
		switch string(k) {
		case "SequenceNumber":
			r.SequenceNumber, _, ok = s.text(&o.text)
		case "PartitionKey":
			r.PartitionKey, _, ok = s.text(&o.text)
		case "EncryptionType":
			r.EncryptionType, _, ok = s.text(&o.text)
		case "Data":
			r.Data, _, ok = s.blob(&o.data, &o.tmp)
		case "ApproximateArrivalTimestamp":
			r.arrival, r.hasArrival, ok = s.float()
		default:
			ok = s.skip()
		}
		return ok
	})
}

// float reads a number (or null: present=false) as json.Number.Float64.
func (s *scanner) float() (v float64, present, ok bool) {
	if s.null() {
		return 0, false, true
	}
	raw, ok := s.number()
	if !ok {
		return 0, false, false
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	return v, err == nil, err == nil
}
