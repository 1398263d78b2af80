package kinesis

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// Requests are decoded into a generic tree (map[string]any) by either codec,
// then read member by member with the reader below, so JSON and CBOR share
// every type check and validation. Responses are built as a tree of
// map[string]any, []any, string, int64, int, bool, time.Time and []byte, and
// written by the request's codec: JSON turns timestamps into epoch seconds
// with a millisecond fraction and blobs into base64; CBOR writes timestamps
// as tag 1 + integer epoch milliseconds (as the Java SDKs expect) and blobs
// as byte strings.

const (
	contentJSON = "application/x-amz-json-1.1"
	contentCBOR = "application/x-amz-cbor-1.1"
)

var (
	cborDec = func() cbor.DecMode {
		dm, err := cbor.DecOptions{
			DefaultMapType:   reflect.TypeOf(map[string]any{}),
			MaxNestedLevels:  16,
			MaxArrayElements: 100000,
			MaxMapPairs:      100000,
			DupMapKey:        cbor.DupMapKeyQuiet,
			IndefLength:      cbor.IndefLengthAllowed,
			TimeTagToAny:     cbor.TimeTagToTime,
		}.DecMode()
		if err != nil {
			panic(err)
		}
		return dm
	}()
	cborEnc = func() cbor.EncMode {
		em, err := cbor.EncOptions{Sort: cbor.SortNone}.EncMode()
		if err != nil {
			panic(err)
		}
		return em
	}()
)

// decodeBody parses a request body into a map. Any failure, or a body that
// is not an object, is a SerializationException.
func decodeBody(body []byte, isCBOR bool) (map[string]any, error) {
	var v any
	if isCBOR {
		if err := cborDec.Unmarshal(body, &v); err != nil {
			return nil, errSerialization("")
		}
	} else {
		d := json.NewDecoder(bytes.NewReader(body))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			return nil, errSerialization("")
		}
		if d.More() {
			return nil, errSerialization("")
		}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errSerialization("")
	}
	return m, nil
}

// encodeBody writes a response tree in the request's format.
func encodeBody(v any, isCBOR bool) ([]byte, error) {
	if isCBOR {
		return cborEnc.Marshal(toCBOR(v))
	}
	var buf bytes.Buffer
	buf.Grow(4096)
	writeJSON(&buf, v)
	return buf.Bytes(), nil
}

func toCBOR(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if e == nil {
				continue
			}
			out[k] = toCBOR(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toCBOR(e)
		}
		return out
	case time.Time:
		return cbor.Tag{Number: 1, Content: x.UnixMilli()}
	default:
		return v
	}
}

// writeJSON writes v as JSON with sorted keys, nil members omitted.
func writeJSON(buf *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		buf.WriteString("null")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k, e := range x {
			if e != nil {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeString(buf, k)
			buf.WriteByte(':')
			writeJSON(buf, x[k])
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSON(buf, e)
		}
		buf.WriteByte(']')
	case string:
		writeString(buf, x)
	case []byte:
		buf.WriteByte('"')
		buf.Write(base64.StdEncoding.AppendEncode(buf.AvailableBuffer(), x))
		buf.WriteByte('"')
	case time.Time:
		ms := x.UnixMilli()
		buf.WriteString(strconv.FormatInt(ms/1000, 10))
		fmt.Fprintf(buf, ".%03d", ms%1000)
	case int:
		buf.WriteString(strconv.Itoa(x))
	case int64:
		buf.WriteString(strconv.FormatInt(x, 10))
	case bool:
		buf.WriteString(strconv.FormatBool(x))
	default:
		b, _ := json.Marshal(x)
		buf.Write(b)
	}
}

// writeString writes a JSON string: plain ASCII directly, anything else
// through encoding/json's escaping.
func writeString(buf *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			buf.Write(b)
			return
		}
	}
	buf.WriteByte('"')
	buf.WriteString(s)
	buf.WriteByte('"')
}

// reader reads typed members out of a decoded request. The first type
// mismatch is kept in err (a SerializationException); later reads return
// zero values.
type reader struct {
	m      map[string]any
	isCBOR bool
	err    error
	root   *reader // nested readers report to the request's reader
}

func (r *reader) fail(format string, args ...any) {
	if r.root != nil {
		r.root.fail(format, args...)
		return
	}
	if r.err == nil {
		r.err = errSerialization(fmt.Sprintf(format, args...))
	}
}

func (r *reader) get(k string) (any, bool) {
	if r == nil || r.m == nil {
		return nil, false
	}
	v, ok := r.m[k]
	if !ok || v == nil {
		return nil, false
	}
	return v, true
}

func javaClass(v any) string {
	switch v.(type) {
	case string:
		return "class java.lang.String"
	case bool:
		return "class java.lang.Boolean"
	case json.Number, float64, float32:
		return "class java.lang.Double"
	case uint64, int64:
		return "class java.lang.Long"
	case map[string]any:
		return "class java.util.LinkedHashMap"
	case []any:
		return "class java.util.ArrayList"
	case []byte:
		return "class [B"
	default:
		return "class java.lang.Object"
	}
}

// str reads a string member; nil when absent.
func (r *reader) str(k string) *string {
	v, ok := r.get(k)
	if !ok {
		return nil
	}
	switch x := v.(type) {
	case string:
		return &x
	case map[string]any:
		r.fail("Start of structure or map found where not expected.")
	case []any:
		r.fail("Start of list found where not expected")
	default:
		r.fail("%s can not be converted to an String", javaClass(v))
	}
	return nil
}

// integer reads an integer member; nil when absent.
func (r *reader) integer(k string) *int64 {
	v, ok := r.get(k)
	if !ok {
		return nil
	}
	var n int64
	switch x := v.(type) {
	case json.Number:
		i, err := x.Int64()
		if err != nil {
			f, ferr := x.Float64()
			if ferr != nil || math.IsInf(f, 0) || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
				r.fail("class java.lang.Double can not be converted to an Integer")
				return nil
			}
			i = int64(f)
		}
		n = i
	case uint64:
		if x > math.MaxInt64 {
			r.fail("class java.lang.Long can not be converted to an Integer")
			return nil
		}
		n = int64(x)
	case int64:
		n = x
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			r.fail("class java.lang.Double can not be converted to an Integer")
			return nil
		}
		n = int64(x)
	case map[string]any:
		r.fail("Start of structure or map found where not expected.")
		return nil
	case []any:
		r.fail("Start of list found where not expected")
		return nil
	default:
		r.fail("%s can not be converted to an Integer", javaClass(v))
		return nil
	}
	// AWS's members are Java ints; clamp what cannot be one so range checks
	// report it instead of wrapping.
	if n > math.MaxInt32 {
		n = math.MaxInt32 + 1
	} else if n < math.MinInt32 {
		n = math.MinInt32 - 1
	}
	return &n
}

// boolean reads a boolean member; nil when absent.
func (r *reader) boolean(k string) *bool {
	v, ok := r.get(k)
	if !ok {
		return nil
	}
	b, isBool := v.(bool)
	if !isBool {
		r.fail("%s can not be converted to an Boolean", javaClass(v))
		return nil
	}
	return &b
}

// blob reads a blob member (base64 in JSON, byte string in CBOR).
func (r *reader) blob(k string) ([]byte, bool) {
	v, ok := r.get(k)
	if !ok {
		return nil, false
	}
	switch x := v.(type) {
	case []byte:
		return x, true
	case string:
		if len(x)%4 != 0 {
			r.fail("'%s' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: %d", truncate(x), len(x))
			return nil, false
		}
		b, err := base64.StdEncoding.DecodeString(x)
		if err != nil {
			r.fail("'%s' can not be converted to a Blob: Invalid Base64 character", truncate(x))
			return nil, false
		}
		return b, true
	case map[string]any:
		r.fail("Start of structure or map found where not expected.")
	case []any:
		r.fail("Start of list found where not expected")
	default:
		r.fail("%s can not be converted to a Blob", javaClass(v))
	}
	return nil, false
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// timestamp reads a timestamp: JSON epoch seconds (integer or fraction);
// CBOR tag 1 or untagged number, in epoch milliseconds (a tag-1 value that
// reads as a date past year 5000 is taken as milliseconds; a plausible one
// as standard CBOR seconds).
func (r *reader) timestamp(k string) *time.Time {
	v, ok := r.get(k)
	if !ok {
		return nil
	}
	var t time.Time
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) > 1e13 {
			r.fail("class java.lang.Double can not be converted to milliseconds since epoch")
			return nil
		}
		t = time.UnixMilli(int64(math.Round(f * 1000)))
	case time.Time:
		t = x
		if x.Year() > 5000 {
			t = time.UnixMilli(x.Unix())
		}
	case uint64:
		if x > 1<<53 {
			r.fail("class java.lang.Long can not be converted to milliseconds since epoch")
			return nil
		}
		t = time.UnixMilli(int64(x))
	case int64:
		t = time.UnixMilli(x)
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) || math.Abs(x) > 1<<53 {
			r.fail("class java.lang.Double can not be converted to milliseconds since epoch")
			return nil
		}
		t = time.UnixMilli(int64(x))
	case string:
		r.fail("class java.lang.String can not be converted to milliseconds since epoch")
		return nil
	case map[string]any:
		r.fail("Start of structure or map found where not expected.")
		return nil
	default:
		r.fail("%s can not be converted to milliseconds since epoch", javaClass(v))
		return nil
	}
	t = clampTime(t)
	return &t
}

var (
	minTime = time.Unix(0, 0)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// clampTime keeps timestamps in [1970, 9999]: earlier means "before every
// record", later "after every record", and both ends stay representable
// everywhere (JSON, storage requests).
func clampTime(t time.Time) time.Time {
	if t.Before(minTime) {
		return minTime
	}
	if t.After(maxTime) {
		return maxTime
	}
	return t
}

// object reads a structure member; nil when absent.
func (r *reader) object(k string) *reader {
	v, ok := r.get(k)
	if !ok {
		return nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		r.fail("Expected start of structure or map but found %s", javaClass(v))
		return nil
	}
	return &reader{m: m, isCBOR: r.isCBOR, root: r.top()}
}

func (r *reader) top() *reader {
	if r.root != nil {
		return r.root
	}
	return r
}

// list reads a list member; ok=false when absent.
func (r *reader) list(k string) ([]any, bool) {
	v, ok := r.get(k)
	if !ok {
		return nil, false
	}
	l, isList := v.([]any)
	if !isList {
		r.fail("Expected list or array but found %s", javaClass(v))
		return nil, false
	}
	return l, true
}

// strList reads a list of strings.
func (r *reader) strList(k string) ([]string, bool) {
	l, ok := r.list(k)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		s, isStr := e.(string)
		if !isStr {
			r.fail("%s can not be converted to an String", javaClass(e))
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// strMap reads a map of strings.
func (r *reader) strMap(k string) (map[string]string, bool) {
	v, ok := r.get(k)
	if !ok {
		return nil, false
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		r.fail("Expected start of structure or map but found %s", javaClass(v))
		return nil, false
	}
	out := make(map[string]string, len(m))
	for key, e := range m {
		if e == nil {
			out[key] = ""
			continue
		}
		s, isStr := e.(string)
		if !isStr {
			r.fail("%s can not be converted to an String", javaClass(e))
			return nil, false
		}
		out[key] = s
	}
	return out, true
}

// sub wraps a list element that must be a structure.
func (r *reader) sub(v any) *reader {
	m, ok := v.(map[string]any)
	if !ok {
		if v != nil {
			r.fail("Expected start of structure or map but found %s", javaClass(v))
		}
		return &reader{isCBOR: r.isCBOR, root: r.top()}
	}
	return &reader{m: m, isCBOR: r.isCBOR, root: r.top()}
}
