package kinesis

import (
	"bytes"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/penstock/penstock/internal/b64"
)

// Typed fast paths for the data plane's JSON requests (PutRecords,
// PutRecord, GetRecords). The generic path (decodeBody + reader) decodes into a tree
// and reads members from it; here a small scanner reads the usual request
// shape straight into the same typed request the generic reader produces,
// and the operation then validates and runs that request with the same code
// either way. The scanner accepts only what it can read exactly like
// encoding/json: known members, each at most once, no nulls, strings
// without escapes (valid UTF-8), plain integers, only whitespace after the
// object. Anything else (including every input that is a
// SerializationException) returns ok=false and the request takes the
// generic path, which produces the errors. FuzzFastPath checks that both
// readers agree.

type jsonScan struct {
	b []byte
	i int
}

func (s *jsonScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips whitespace and returns the next byte (0 at the end).
func (s *jsonScan) next() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// raw reads a string and returns its bytes up to the closing quote without
// checking them (callers check or decode them strictly).
func (s *jsonScan) raw() ([]byte, bool) {
	if s.next() != '"' {
		return nil, false
	}
	start := s.i + 1
	end := bytes.IndexByte(s.b[start:], '"')
	if end < 0 {
		return nil, false
	}
	s.i = start + end + 1
	return s.b[start : start+end], true
}

// str reads a string that has no escapes, no control characters and is
// valid UTF-8: its bytes are then exactly encoding/json's result.
func (s *jsonScan) str() ([]byte, bool) {
	v, ok := s.raw()
	if !ok {
		return nil, false
	}
	ascii := true
	for _, c := range v {
		if c == '\\' || c < 0x20 {
			return nil, false
		}
		if c >= 0x80 {
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(v) {
		return nil, false
	}
	return v, true
}

func (s *jsonScan) strPtr() (*string, bool) {
	v, ok := s.str()
	if !ok {
		return nil, false
	}
	str := string(v)
	return &str, true
}

// key reads a member name and the colon after it.
func (s *jsonScan) key() ([]byte, bool) {
	k, ok := s.str()
	if !ok || s.next() != ':' {
		return nil, false
	}
	s.i++
	return k, true
}

// sep reads ',' (more members/elements: true) or the closing byte.
func (s *jsonScan) sep(closing byte) (more, ok bool) {
	switch s.next() {
	case ',':
		s.i++
		return true, true
	case closing:
		s.i++
		return false, true
	}
	return false, false
}

// end is true when only whitespace follows.
func (s *jsonScan) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// object reads an object's members with fn (which reads the value); false
// on anything fn refuses or a malformed object.
func (s *jsonScan) object(fn func(k []byte) bool) bool {
	if s.next() != '{' {
		return false
	}
	s.i++
	if s.next() == '}' {
		s.i++
		return true
	}
	for {
		k, ok := s.key()
		if !ok || !fn(k) {
			return false
		}
		more, ok := s.sep('}')
		if !ok {
			return false
		}
		if !more {
			return true
		}
	}
}

// smallInt reads an integer of at most 9 digits (so no clamping applies):
// -?(0|[1-9][0-9]{0,8}) not followed by a fraction or exponent.
func (s *jsonScan) smallInt() (int64, bool) {
	s.ws()
	i, neg := s.i, false
	if i < len(s.b) && s.b[i] == '-' {
		neg = true
		i++
	}
	start := i
	var n int64
	for i < len(s.b) && s.b[i] >= '0' && s.b[i] <= '9' {
		n = n*10 + int64(s.b[i]-'0')
		i++
	}
	digits := i - start
	if digits == 0 || digits > 9 || (digits > 1 && s.b[start] == '0') {
		return 0, false
	}
	if i < len(s.b) && (s.b[i] == '.' || s.b[i] == 'e' || s.b[i] == 'E') {
		return 0, false
	}
	s.i = i
	if neg {
		n = -n
	}
	return n, true
}

// fastPutRecords reads a PutRecords JSON body; ok=false sends it to the
// generic path.
func fastPutRecords(body []byte) (req putRecordsReq, ok bool) {
	s := jsonScan{b: body}
	var seen uint8
	var buf []byte // every record's data, decoded into one allocation
	var keys []byte
	var keyLens []int32 // per record: its key's length in keys, -1 without a key
	good := s.object(func(k []byte) bool {
		var bit uint8
		switch string(k) {
		case "StreamName":
			bit = 1
			req.ref.name, ok = s.strPtr()
		case "StreamARN":
			bit = 2
			req.ref.arn, ok = s.strPtr()
		case "StreamId":
			bit = 4
			_, ok = s.str()
		case "Records":
			bit = 8
			ok = s.putRecordsList(&req, &buf, &keys, &keyLens)
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return ok
	})
	if !good || !s.end() {
		return putRecordsReq{}, false
	}
	// One string holds every partition key; records slice it.
	all := string(keys)
	off := 0
	for i, n := range keyLens {
		if n >= 0 {
			req.records[i].pk = all[off : off+int(n)]
			off += int(n)
		}
	}
	return req, true
}

func (s *jsonScan) putRecordsList(req *putRecordsReq, buf, keys *[]byte, keyLens *[]int32) bool {
	if s.next() != '[' {
		return false
	}
	s.i++
	req.hasList = true
	req.records = make([]putRecordsItem, 0, 500)
	*keyLens = make([]int32, 0, 500)
	if *buf == nil {
		*buf = make([]byte, (len(s.b)-s.i)/4*3+3)
	}
	used := 0
	if s.next() == ']' {
		s.i++
		return true
	}
	for {
		var it putRecordsItem
		keyLen := int32(-1)
		var seen uint8
		ok := s.object(func(k []byte) bool {
			var bit uint8
			var ok bool
			switch string(k) {
			case "Data":
				bit = 1
				var src []byte
				if src, ok = s.raw(); ok {
					var n int
					n, ok = b64.DecodeExact((*buf)[used:], src)
					it.data = (*buf)[used : used+n : used+n]
					it.hasData = true
					used += n
				}
			case "PartitionKey":
				bit = 2
				var v []byte
				if v, ok = s.str(); ok {
					*keys = append(*keys, v...)
					keyLen = int32(len(v))
					it.hasPK = true
				}
			case "ExplicitHashKey":
				bit = 4
				it.ehk, ok = s.strPtr()
			default:
				return false
			}
			if seen&bit != 0 {
				return false
			}
			seen |= bit
			return ok
		})
		if !ok {
			return false
		}
		req.records = append(req.records, it)
		*keyLens = append(*keyLens, keyLen)
		more, ok := s.sep(']')
		if !ok {
			return false
		}
		if !more {
			return true
		}
	}
}

// fastPutRecord reads a PutRecord JSON body.
func fastPutRecord(body []byte) (req putRecordReq, ok bool) {
	s := jsonScan{b: body}
	var seen uint8
	good := s.object(func(k []byte) bool {
		var bit uint8
		switch string(k) {
		case "StreamName":
			bit = 1
			req.ref.name, ok = s.strPtr()
		case "StreamARN":
			bit = 2
			req.ref.arn, ok = s.strPtr()
		case "StreamId":
			bit = 4
			_, ok = s.str()
		case "Data":
			bit = 8
			var src []byte
			if src, ok = s.raw(); ok {
				buf := make([]byte, len(src)/4*3)
				var n int
				n, ok = b64.DecodeExact(buf, src)
				req.data, req.hasData = buf[:n], true
			}
		case "PartitionKey":
			bit = 16
			req.pk, ok = s.strPtr()
		case "ExplicitHashKey":
			bit = 32
			req.ehk, ok = s.strPtr()
		case "SequenceNumberForOrdering":
			bit = 64
			req.sfo, ok = s.strPtr()
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return ok
	})
	if !good || !s.end() {
		return putRecordReq{}, false
	}
	return req, true
}

// fastGetRecords reads a GetRecords JSON body.
func fastGetRecords(body []byte) (req getRecordsReq, ok bool) {
	s := jsonScan{b: body}
	var seen uint8
	good := s.object(func(k []byte) bool {
		var bit uint8
		switch string(k) {
		case "ShardIterator":
			bit = 1
			req.it, ok = s.strPtr()
		case "Limit":
			bit = 2
			var n int64
			if n, ok = s.smallInt(); ok {
				req.limit = &n
			}
		case "StreamARN":
			bit = 4
			req.arn, ok = s.strPtr()
		case "StreamId":
			bit = 8
			_, ok = s.str()
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return ok
	})
	if !good || !s.end() {
		return getRecordsReq{}, false
	}
	return req, true
}

// Responses: the data plane's answers are typed values that append their
// JSON straight into a pooled buffer, and give the generic tree for CBOR.

type jsonAppender interface {
	appendJSON(b []byte) []byte
	tree() any
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > 32<<20 {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// appendJSONString appends a JSON string exactly as writeString writes it.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			var buf bytes.Buffer
			writeString(&buf, s)
			return append(b, buf.Bytes()...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendPadded appends n in decimal, zero-padded to width digits.
func appendPadded(b []byte, n uint64, width int) []byte {
	var tmp [20]byte
	d := strconv.AppendUint(tmp[:0], n, 10)
	for i := len(d); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}

// appendSequenceNumber appends SequenceNumber(shardIndex, seq).
func appendSequenceNumber(b []byte, shardIndex int, seq uint64) []byte {
	if shardIndex < 0 {
		return append(b, SequenceNumber(shardIndex, seq)...)
	}
	b = append(b, seqPrefix...)
	b = appendPadded(b, uint64(shardIndex), 10)
	b = appendPadded(b, seq, 20)
	return append(b, seqPadding...)
}

func appendShardID(b []byte, index int) []byte {
	if index < 0 {
		return append(b, shardID(index)...)
	}
	b = append(b, "shardId-"...)
	return appendPadded(b, uint64(index), 12)
}
