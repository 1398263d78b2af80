package wire

import (
	"encoding/base64"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/aws/smithy-go/encoding"
	smithytime "github.com/aws/smithy-go/time"
)

// The request encoders write what the SDK's awsJson 1.1 serializer writes
// for the same input (member order aside): strings escaped as smithy-go
// escapes them, blobs as standard base64, timestamps as epoch seconds with
// millisecond precision.

// appendPutRecords appends a PutRecords request body.
func appendPutRecords(b []byte, stream string, entries []Entry) []byte {
	size := len(stream) + 32
	for i := range entries {
		e := &entries[i]
		size += max(base64.StdEncoding.EncodedLen(len(e.Data)), len(e.Data64)) + len(e.PartitionKey) + len(e.ExplicitHashKey) + 48
	}
	b = slices.Grow(b, size)
	b = append(b, `{"StreamName":`...)
	b = appendString(b, stream)
	b = append(b, `,"Records":[`...)
	for i := range entries {
		e := &entries[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Data":"`...)
		if e.Data64 != nil {
			b = append(b, e.Data64...)
		} else {
			b = base64.StdEncoding.AppendEncode(b, e.Data)
		}
		b = append(b, `","PartitionKey":`...)
		b = appendString(b, e.PartitionKey)
		if e.ExplicitHashKey != "" {
			b = append(b, `,"ExplicitHashKey":`...)
			b = appendString(b, e.ExplicitHashKey)
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// appendGetRecords appends a GetRecords request body (no Limit when 0).
func appendGetRecords(b []byte, iterator string, limit int) []byte {
	b = append(b, `{"ShardIterator":`...)
	b = appendString(b, iterator)
	if limit != 0 {
		b = append(b, `,"Limit":`...)
		b = strconv.AppendInt(b, int64(limit), 10)
	}
	return append(b, '}')
}

// appendGetShardIterator appends a GetShardIterator request body.
func appendGetShardIterator(b []byte, in IteratorInput) []byte {
	b = append(b, `{"StreamName":`...)
	b = appendString(b, in.Stream)
	b = append(b, `,"ShardId":`...)
	b = appendString(b, in.ShardID)
	b = append(b, `,"ShardIteratorType":`...)
	b = appendString(b, in.Type)
	if in.StartingSequenceNumber != "" {
		b = append(b, `,"StartingSequenceNumber":`...)
		b = appendString(b, in.StartingSequenceNumber)
	}
	if !in.Timestamp.IsZero() {
		b = append(b, `,"Timestamp":`...)
		b = appendEpochSeconds(b, in.Timestamp)
	}
	return append(b, '}')
}

// appendEpochSeconds writes a timestamp as the SDK does.
func appendEpochSeconds(b []byte, t time.Time) []byte {
	return encoding.EncodeFloat(b, smithytime.FormatEpochSeconds(t), 64)
}

// safe are the ASCII bytes a JSON string holds as they are.
var safe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string the way smithy-go's serializer
// does: '"', '\\' and control characters escaped, invalid UTF-8 replaced
// by U+FFFD, U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf && safe[s[i]] {
		i++
	}
	if i == len(s) {
		b = append(b, s...)
		return append(b, '"')
	}
	b = append(b, s[:i]...)
	start := i
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = utf8.AppendRune(b, utf8.RuneError)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
