package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// The reference decoders read a reply with encoding/json into a generic
// value (numbers as json.Number) and take the members the scanner takes,
// with the types it requires: strings or null, base64 data decoded by
// base64.StdEncoding.DecodeString, integers by json.Number.Int64, floats by
// json.Number.Float64, records that are objects. Duplicate members: the
// last wins, as in a map.

type refRecord struct {
	Seq, Key, Enc *string
	Data          []byte
	Arrival       *float64
}

type refGetRecords struct {
	Records     []refRecord
	Next        string
	Behind      *int64
	ChildShards any // nil when absent or null
}

var errRef = errors.New("reference refused")

func refDocument(body []byte) (map[string]any, error) {
	if !json.Valid(body) {
		return nil, errRef
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errRef
	}
	return m, nil
}

func refString(v any) (*string, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return &v, nil
	}
	return nil, errRef
}

func refInt(v any) (*int64, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case json.Number:
		n, err := v.Int64()
		return &n, err
	}
	return nil, errRef
}

func refDecodeGetRecords(body []byte) (refGetRecords, error) {
	var out refGetRecords
	m, err := refDocument(body)
	if err != nil {
		return out, err
	}
	if s, err := refString(m["NextShardIterator"]); err != nil {
		return out, err
	} else if s != nil {
		out.Next = *s
	}
	if out.Behind, err = refInt(m["MillisBehindLatest"]); err != nil {
		return out, err
	}
	switch c := m["ChildShards"].(type) {
	case nil:
	case []any:
		out.ChildShards = c
	default:
		return out, errRef
	}
	recs, ok := m["Records"].([]any)
	if !ok && m["Records"] != nil {
		return out, errRef
	}
	for _, r := range recs {
		rm, ok := r.(map[string]any)
		if !ok {
			return out, errRef
		}
		var rec refRecord
		if rec.Seq, err = refString(rm["SequenceNumber"]); err != nil {
			return out, err
		}
		if rec.Key, err = refString(rm["PartitionKey"]); err != nil {
			return out, err
		}
		if rec.Enc, err = refString(rm["EncryptionType"]); err != nil {
			return out, err
		}
		if d, err := refString(rm["Data"]); err != nil {
			return out, err
		} else if d != nil {
			if rec.Data, err = base64.StdEncoding.DecodeString(*d); err != nil {
				return out, err
			}
		}
		switch a := rm["ApproximateArrivalTimestamp"].(type) {
		case nil:
		case json.Number:
			f, err := a.Float64()
			if err != nil {
				return out, err
			}
			rec.Arrival = &f
		default:
			return out, errRef
		}
		out.Records = append(out.Records, rec)
	}
	return out, nil
}

func strPtr(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}

// asRef converts the scanner's output to the reference's form.
func asRef(t *testing.T, o *GetRecordsOutput) refGetRecords {
	t.Helper()
	out := refGetRecords{Next: o.NextShardIterator}
	if o.HasMillisBehindLatest {
		out.Behind = &o.MillisBehindLatest
	}
	if o.ChildShards != nil {
		d := json.NewDecoder(bytes.NewReader(o.ChildShards))
		d.UseNumber()
		if err := d.Decode(&out.ChildShards); err != nil {
			t.Fatalf("ChildShards %q: %v", o.ChildShards, err)
		}
	}
	for _, r := range o.Records {
		rec := refRecord{Seq: strPtr(r.SequenceNumber), Key: strPtr(r.PartitionKey), Enc: strPtr(r.EncryptionType)}
		if r.Data != nil {
			rec.Data = bytes.Clone(r.Data)
		}
		if r.hasArrival {
			f := r.arrival
			rec.Arrival = &f
		}
		out.Records = append(out.Records, rec)
	}
	return out
}

func TestGetRecordsOutputDecode(t *testing.T) {
	hello := base64.StdEncoding.EncodeToString([]byte("hello"))
	binary := []byte{0xfb, 0xff, 0xfe, 0, 1, 2}
	b64 := base64.StdEncoding.EncodeToString(binary) // "+//+AAEC": holds '/'
	escapedSlash := strings.ReplaceAll(b64, "/", `\u002f`)
	type rec struct {
		seq, key string
		data     []byte
		arrival  float64
	}
	cases := []struct {
		name     string
		body     string
		recs     []rec
		next     string
		behind   int64
		hasBeh   bool
		children bool
	}{{
		name: "penstock",
		body: `{"MillisBehindLatest":0,"NextShardIterator":"AAA=","Records":[{"ApproximateArrivalTimestamp":1700000000.123,"Data":"` + hello + `","PartitionKey":"k","SequenceNumber":"4960"}]}`,
		recs: []rec{{"4960", "k", []byte("hello"), 1700000000.123}}, next: "AAA=", hasBeh: true,
	}, {
		name: "kinesalite order and whitespace",
		body: "{\n  \"MillisBehindLatest\": 12,\n  \"NextShardIterator\": \"it/1\",\n  \"Records\": [ {\"PartitionKey\": \"a\", \"Data\": \"" + b64 + "\", \"ApproximateArrivalTimestamp\": 1.7e9, \"SequenceNumber\": \"1\"} ,\r\n\t{\"PartitionKey\":\"b\",\"Data\":\"\",\"SequenceNumber\":\"2\",\"ApproximateArrivalTimestamp\":1700000001} ] }\n",
		recs: []rec{{"1", "a", binary, 1.7e9}, {"2", "b", []byte{}, 1700000001}}, next: "it/1", behind: 12, hasBeh: true,
	}, {
		name: "AWS: escapes, unknown members, EncryptionType",
		body: `{"Records":[{"SequenceNumber":"49\u0036","ApproximateArrivalTimestamp":1.700000000123E9,"Data":"` + escapedSlash + `","PartitionKey":"q\"u\\o\u00e9\ud83d\ude00","EncryptionType":"NONE","Extra":{"a":[1,true,null,"x"]}}],"NextShardIterator":"AAAAAAAA\/BBB","MillisBehindLatest":3000,"Unknown":[{}],"ChildShards":null}`,
		recs: []rec{{"496", "q\"u\\oé😀", binary, 1.700000000123e9}}, next: "AAAAAAAA/BBB", behind: 3000, hasBeh: true,
	}, {
		name:   "empty records, null iterator: a closed shard read to its end",
		body:   `{"Records":[],"NextShardIterator":null,"MillisBehindLatest":0,"ChildShards":[{"ShardId":"shardId-000000000002","ParentShards":["shardId-000000000000"],"HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"1"}}]}`,
		hasBeh: true, children: true,
	}, {
		name: "escaped member names, data with escaped newlines (DecodeString skips them)",
		body: `{"\u0052ecords":[{"Data":"aGVs\nbG8=","\u0053equenceNumber":"9"}],"MillisBehindLatest":null}`,
		recs: []rec{{"9", "", []byte("hello"), 0}},
	}, {
		name: "duplicate members: the last wins",
		body: `{"Records":[{"Data":"AA=="}],"Records":[{"Data":"` + hello + `","Data":"` + hello + `"}],"NextShardIterator":"a","NextShardIterator":"b"}`,
		recs: []rec{{"", "", []byte("hello"), 0}}, next: "b",
	}}
	var o GetRecordsOutput // reused: each case also checks that reuse leaves nothing behind
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := o.decode([]byte(c.body)); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if len(o.Records) != len(c.recs) {
				t.Fatalf("%d records, want %d", len(o.Records), len(c.recs))
			}
			for i, w := range c.recs {
				r := o.Records[i]
				ts, _ := r.ApproximateArrivalTimestamp()
				if string(r.SequenceNumber) != w.seq || string(r.PartitionKey) != w.key || !bytes.Equal(r.Data, w.data) ||
					r.arrival != w.arrival || (w.data != nil && r.Data == nil) {
					t.Errorf("record %d = %q %q %x %v, want %q %q %x %v", i, r.SequenceNumber, r.PartitionKey, r.Data, r.arrival, w.seq, w.key, w.data, w.arrival)
				}
				if w.arrival != 0 && ts.IsZero() {
					t.Errorf("record %d: no arrival time", i)
				}
			}
			if o.NextShardIterator != c.next || o.MillisBehindLatest != c.behind || o.HasMillisBehindLatest != c.hasBeh || (o.ChildShards != nil) != c.children {
				t.Errorf("next %q behind %d (%v) children %q; want %q %d (%v) %v", o.NextShardIterator, o.MillisBehindLatest,
					o.HasMillisBehindLatest, o.ChildShards, c.next, c.behind, c.hasBeh, c.children)
			}
			var n int64
			for _, w := range c.recs {
				n += int64(len(w.data))
			}
			if o.DataBytes() != n {
				t.Errorf("DataBytes() = %d, want %d", o.DataBytes(), n)
			}
			ref, err := refDecodeGetRecords([]byte(c.body))
			if err != nil {
				t.Fatalf("reference: %v", err)
			}
			if got := asRef(t, &o); !reflect.DeepEqual(got, ref) {
				t.Errorf("scanner and encoding/json disagree:\n%+v\n%+v", got, ref)
			}
		})
	}
}

func TestGetRecordsOutputDecodeRefuses(t *testing.T) {
	for _, body := range []string{
		``, `null`, `[]`, `{`, `{"Records":[}`, `{"Records":{}}`, `{"Records":[null]}`, `{"Records":[1]}`,
		`{"Records":[{"Data":"not base64!"}]}`, `{"Records":[{"Data":"AAA"}]}`, `{"Records":[{"Data":1}]}`,
		`{"Records":[{"SequenceNumber":5}]}`, `{"Records":[{"ApproximateArrivalTimestamp":"1"}]}`,
		`{"Records":[{"ApproximateArrivalTimestamp":1e999}]}`,
		`{"MillisBehindLatest":1.5}`, `{"MillisBehindLatest":1e3}`, `{"MillisBehindLatest":99999999999999999999}`,
		`{"MillisBehindLatest":"1"}`, `{"NextShardIterator":1}`, `{"ChildShards":{}}`, `{"ChildShards":"x"}`,
		`{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":.5}`, `{"a":+1}`, `{"a":tru}`, `{"a":nul}`, `{"a":"\x"}`, `{"a":"\u12"}`,
		"{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", `{"a":1,}`, `{"a" 1}`, `{,}`, `{} x`, `{}{}`, `{"a":[1,]}`,
		"\xef\xbb\xbf{}", `{"NextShardIterator":"x"`,
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
	} {
		var o GetRecordsOutput
		if err := o.decode([]byte(body)); err == nil {
			t.Errorf("decode(%.60q) accepted", body)
		}
	}
	deep := `{"x":` + strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1) + `}`
	var o GetRecordsOutput
	if err := o.decode([]byte(deep)); err != nil {
		t.Errorf("decode(%d levels): %v (encoding/json takes %d)", maxDepth, err, maxDepth)
	}
}

func TestPutRecordsOutputDecode(t *testing.T) {
	cases := []struct {
		name, body string
		failed     int64
		want       [][4]string // seq, shard, code, message
	}{{
		name: "penstock",
		body: `{"EncryptionType":"NONE","FailedRecordCount":0,"Records":[{"SequenceNumber":"1","ShardId":"shardId-000000000000"},{"SequenceNumber":"2","ShardId":"shardId-000000000001"}]}`,
		want: [][4]string{{"1", "shardId-000000000000", "", ""}, {"2", "shardId-000000000001", "", ""}},
	}, {
		name: "kinesalite",
		body: `{"FailedRecordCount":0,"Records":[{"ShardId":"shardId-000000000000","SequenceNumber":"4959"}]}`,
		want: [][4]string{{"4959", "shardId-000000000000", "", ""}},
	}, {
		name:   "AWS with a throttled record",
		body:   " {\"Records\" : [ {\"ErrorCode\":\"ProvisionedThroughputExceededException\",\"ErrorMessage\":\"Rate exceeded for shard shardId-000000000001 in stream s under account 1.\"}, {\"SequenceNumber\":\"7\",\"ShardId\":\"shardId-000000000000\"} ], \"FailedRecordCount\" : 1, \"EncryptionType\":\"KMS\"}",
		failed: 1,
		want:   [][4]string{{"", "", "ProvisionedThroughputExceededException", "Rate exceeded for shard shardId-000000000001 in stream s under account 1."}, {"7", "shardId-000000000000", "", ""}},
	}}
	var o PutRecordsOutput
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := o.decode([]byte(c.body)); err != nil {
				t.Fatal(err)
			}
			if o.FailedRecordCount != c.failed || len(o.Records) != len(c.want) {
				t.Fatalf("failed %d, %d records; want %d, %d", o.FailedRecordCount, len(o.Records), c.failed, len(c.want))
			}
			for i, w := range c.want {
				r := o.Records[i]
				if got := [4]string{string(r.SequenceNumber), string(r.ShardID), string(r.ErrorCode), string(r.ErrorMessage)}; got != w {
					t.Errorf("record %d = %q, want %q", i, got, w)
				}
			}
		})
	}
}

// jsonSeeds are reply shapes of penstock, kinesalite and AWS.
var jsonSeeds = []string{
	`{"MillisBehindLatest":0,"NextShardIterator":"AAA=","Records":[{"ApproximateArrivalTimestamp":1700000000.123,"Data":"aGVsbG8=","PartitionKey":"k","SequenceNumber":"4960"}]}`,
	`{"MillisBehindLatest":12,"NextShardIterator":"it","Records":[{"PartitionKey":"a","Data":"+//+AAEC","ApproximateArrivalTimestamp":1.7e9,"SequenceNumber":"1"}]}`,
	`{"Records":[{"SequenceNumber":"49\u0036","Data":"+\u002f\/+AAEC","PartitionKey":"q\"\\\u00e9\ud83d\ude00","EncryptionType":"NONE","X":{"a":[1,true,null]}}],"NextShardIterator":null,"MillisBehindLatest":3000}`,
	`{"Records":[],"MillisBehindLatest":0,"ChildShards":[{"ShardId":"shardId-000000000002","ParentShards":["shardId-000000000000"]}]}`,
	`{"FailedRecordCount":1,"Records":[{"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"slow down"},{"SequenceNumber":"7","ShardId":"shardId-000000000000"}],"EncryptionType":"KMS"}`,
	`{"Records":[{"Data":"aGVs\nbG8=\r\n"}],"\u0052ecords":null}`,
	` { "Records" : null , "a" : -0.5e+3 } `,
}

// FuzzGetRecordsResponse checks that the GetRecords reply scanner never
// panics, that what it accepts encoding/json reads the same way, and that
// it accepts every reply encoding/json reads (but invalid UTF-8, which it
// refuses, and duplicate members, where a refused earlier value may be
// overridden by a later one).
func FuzzGetRecordsResponse(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var o GetRecordsOutput
		_ = o.decode([]byte(jsonSeeds[0])) // decoding into a used output must not matter
		err := o.decode(body)
		ref, rerr := refDecodeGetRecords(body)
		switch {
		case err == nil && rerr != nil:
			t.Fatalf("accepted %q, which encoding/json refuses: %v", body, rerr)
		case err == nil:
			if got := asRef(t, &o); !reflect.DeepEqual(got, ref) {
				t.Fatalf("%q: scanner and encoding/json disagree:\n%+v\n%+v", body, got, ref)
			}
		case rerr == nil && utf8.Valid(body) && !hasDuplicateMembers(body):
			t.Fatalf("refused %q, which encoding/json reads", body)
		}
	})
}

type refPutResult struct {
	Failed  int64
	Enc     *string
	Records [][4]*string
}

func refDecodePutRecords(body []byte) (refPutResult, error) {
	var out refPutResult
	m, err := refDocument(body)
	if err != nil {
		return out, err
	}
	failed, err := refInt(m["FailedRecordCount"])
	if err != nil {
		return out, err
	}
	if failed != nil {
		out.Failed = *failed
	}
	if out.Enc, err = refString(m["EncryptionType"]); err != nil {
		return out, err
	}
	recs, ok := m["Records"].([]any)
	if !ok && m["Records"] != nil {
		return out, errRef
	}
	for _, r := range recs {
		rm, ok := r.(map[string]any)
		if !ok {
			return out, errRef
		}
		var e [4]*string
		for i, k := range []string{"SequenceNumber", "ShardId", "ErrorCode", "ErrorMessage"} {
			if e[i], err = refString(rm[k]); err != nil {
				return out, err
			}
		}
		out.Records = append(out.Records, e)
	}
	return out, nil
}

// FuzzPutRecordsResponse is FuzzGetRecordsResponse for PutRecords replies.
func FuzzPutRecordsResponse(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var o PutRecordsOutput
		_ = o.decode([]byte(jsonSeeds[4]))
		err := o.decode(body)
		ref, rerr := refDecodePutRecords(body)
		switch {
		case err == nil && rerr != nil:
			t.Fatalf("accepted %q, which encoding/json refuses: %v", body, rerr)
		case err == nil:
			got := refPutResult{Failed: o.FailedRecordCount, Enc: strPtr(o.EncryptionType)}
			for _, r := range o.Records {
				got.Records = append(got.Records, [4]*string{strPtr(r.SequenceNumber), strPtr(r.ShardID), strPtr(r.ErrorCode), strPtr(r.ErrorMessage)})
			}
			if !reflect.DeepEqual(got, ref) {
				t.Fatalf("%q: scanner and encoding/json disagree:\n%s\n%s", body, show(got), show(ref))
			}
		case rerr == nil && utf8.Valid(body) && !hasDuplicateMembers(body):
			t.Fatalf("refused %q, which encoding/json reads", body)
		}
	})
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// hasDuplicateMembers reports whether any object of a valid document
// names a member twice.
func hasDuplicateMembers(body []byte) bool {
	d := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		object bool
		seen   map[string]bool
		key    bool // the next string token is a member name
	}
	var stack []*frame
	for {
		tok, err := d.Token()
		if err != nil { // io.EOF at the end
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{', '[':
				if top != nil && top.object {
					top.key = true
				}
				stack = append(stack, &frame{object: tok == '{', seen: map[string]bool{}, key: true})
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			if top != nil && top.object && top.key {
				if top.seen[tok] {
					return true
				}
				top.seen[tok] = true
				top.key = false
				continue
			}
			if top != nil && top.object {
				top.key = true
			}
		default:
			if top != nil && top.object {
				top.key = true
			}
		}
	}
}

func TestHasDuplicateMembers(t *testing.T) {
	for body, want := range map[string]bool{
		`{"a":1,"b":{"a":2}}`: false, `{"a":1,"a":2}`: true, `{"a":{"b":1,"b":2}}`: true,
		`{"a":[{"b":1},{"b":2}]}`: false, `{"a":"b","b":"a"}`: false, `[{"x":1},{"x":1,"y":[],"x":2}]`: true,
	} {
		if got := hasDuplicateMembers([]byte(body)); got != want {
			t.Errorf("hasDuplicateMembers(%s) = %v", body, got)
		}
	}
}
