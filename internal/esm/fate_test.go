package esm

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func testRecs(n int, arrival time.Time) []*rec {
	out := make([]*rec, n)
	for i := range out {
		out[i] = &rec{Seq: uint64(i + 1), SeqNum: fmt.Sprint(i + 1), Arrival: arrival}
	}
	return out
}

// step is one thing the lane observed in a scripted run.
type trace struct {
	invokes  [][2]uint64 // first and last Seq of each invoke
	discards []action
	done     int
}

// drive runs a fate to the end, answering each invoke with answer(n, recs).
func drive(t *testing.T, p policy, recs []*rec, now time.Time, answer func(call int, recs []*rec) outcome) trace {
	t.Helper()
	f := newFate(p, recs)
	var tr trace
	for i := 0; i < 100000; i++ {
		a := f.next(now)
		switch a.Kind {
		case actFinished:
			tr.done = f.Done()
			return tr
		case actWait:
			now = a.Until
		case actDiscard:
			tr.discards = append(tr.discards, a)
			f.discarded()
		case actInvoke:
			tr.invokes = append(tr.invokes, [2]uint64{a.Records[0].Seq, a.Records[len(a.Records)-1].Seq})
			if d := f.result(answer(len(tr.invokes), a.Records), now); d != nil {
				tr.discards = append(tr.discards, *d)
				f.discarded()
			}
		}
	}
	t.Fatal("fate did not finish")
	return tr
}

func TestFate(t *testing.T) {
	fail := func(int, []*rec) outcome { return outcome{Kind: outFunctionErr, FunctionError: "Unhandled"} }
	poison := func(seq uint64) func(int, []*rec) outcome {
		return func(_ int, rs []*rec) outcome {
			for _, r := range rs {
				if r.Seq == seq {
					return outcome{Kind: outFunctionErr, FunctionError: "Unhandled"}
				}
			}
			return outcome{Kind: outOK}
		}
	}
	base := policy{MaxRetries: -1, BackoffBase: time.Second, BackoffMax: 10 * time.Second}
	tests := []struct {
		name         string
		p            func(policy) policy
		n            int
		age          time.Duration // how old the records are at the start
		answer       func(int, []*rec) outcome
		wantInvokes  int
		wantDiscards []string // condition:first-last:invokeCount:functionError
	}{
		{"success", nil, 10, 0, func(int, []*rec) outcome { return outcome{} }, 1, nil},
		{"retries 0", func(p policy) policy { p.MaxRetries = 0; return p }, 5, 0, fail, 1,
			[]string{"RetryAttemptsExhausted:1-5:1:Unhandled"}},
		{"retries 3 gives 4 invokes", func(p policy) policy { p.MaxRetries = 3; return p }, 5, 0, fail, 4,
			[]string{"RetryAttemptsExhausted:1-5:4:Unhandled"}},
		{"throttles spend no attempt", func(p policy) policy { p.MaxRetries = 1; return p }, 3, 0,
			func(call int, _ []*rec) outcome {
				if call <= 5 {
					return outcome{Kind: outThrottled}
				}
				return outcome{Kind: outFunctionErr, FunctionError: "Unhandled"}
			}, 7, []string{"RetryAttemptsExhausted:1-3:2:Unhandled"}},
		{"bisect isolates poison in 1000", func(p policy) policy { p.MaxRetries = 0; p.Bisect = true; return p },
			1000, 0, poison(777), 0, []string{"RetryAttemptsExhausted:777-777:1:Unhandled"}},
		{"bisect with 2 retries", func(p policy) policy { p.MaxRetries = 2; p.Bisect = true; return p },
			8, 0, poison(1), 0, []string{"RetryAttemptsExhausted:1-1:3:Unhandled"}},
		{"partial at 6th of 6 retried alone, fresh budget", func(p policy) policy { p.MaxRetries = 3; p.ItemFailures = true; return p },
			6, 0, func(_ int, rs []*rec) outcome {
				for i, r := range rs {
					if r.Seq == 6 {
						return outcome{Kind: outPartial, FailedAt: i}
					}
				}
				return outcome{}
			}, 5, []string{"RetryAttemptsExhausted:6-6:4:"}},
		{"invalid partial response is a retry without functionError", func(p policy) policy { p.MaxRetries = 2; p.ItemFailures = true; return p },
			3, 0, func(int, []*rec) outcome { return outcome{Kind: outInvalid} }, 3,
			[]string{"RetryAttemptsExhausted:1-3:3:"}},
		{"all expired before invoke", func(p policy) policy { p.MaxAge = time.Minute; return p },
			4, 2 * time.Minute, fail, 0, []string{"RecordAgeExceeded:1-4:1:-"}},
		{"expire while retrying", func(p policy) policy { p.MaxAge = time.Minute; return p },
			2, 0, fail, 0, nil}, // checked below: ends by age with invoke count ≥ 2
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := base
			if tc.p != nil {
				p = tc.p(p)
			}
			recs := testRecs(tc.n, t0)
			tr := drive(t, p, recs, t0.Add(tc.age), tc.answer)
			if tr.done != tc.n {
				t.Errorf("done %d records, want %d", tr.done, tc.n)
			}
			if tc.name == "expire while retrying" {
				if len(tr.discards) != 1 || tr.discards[0].Condition != condRecordAge || tr.discards[0].InvokeCount < 2 || !tr.discards[0].NoResponse {
					t.Fatalf("discards = %+v, want one RecordAgeExceeded after ≥2 invokes", tr.discards)
				}
				return
			}
			if tc.wantInvokes > 0 && len(tr.invokes) != tc.wantInvokes {
				t.Errorf("invokes = %d %v, want %d", len(tr.invokes), tr.invokes, tc.wantInvokes)
			}
			var got []string
			for _, d := range tr.discards {
				fe := d.LastFunctionError
				if d.NoResponse {
					fe = "-"
				}
				got = append(got, fmt.Sprintf("%s:%d-%d:%d:%s", d.Condition, d.Records[0].Seq, d.Records[len(d.Records)-1].Seq, d.InvokeCount, fe))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.wantDiscards) {
				t.Errorf("discards = %v, want %v", got, tc.wantDiscards)
			}
		})
	}
}

// TestFateAgeSplitsHead: only the expired head is given up; the fresh tail
// is invoked (recorded: 1 expired + 5 fresh → batchSize 1 record, then 5 invoked).
func TestFateAgeSplitsHead(t *testing.T) {
	recs := testRecs(6, t0)
	for _, r := range recs[1:] {
		r.Arrival = t0.Add(2 * time.Minute)
	}
	p := policy{MaxRetries: -1, MaxAge: time.Minute, BackoffBase: time.Second, BackoffMax: time.Second}
	tr := drive(t, p, recs, t0.Add(90*time.Second), func(int, []*rec) outcome { return outcome{} })
	if len(tr.discards) != 1 || len(tr.discards[0].Records) != 1 || tr.discards[0].InvokeCount != 1 {
		t.Fatalf("discards = %+v", tr.discards)
	}
	if len(tr.invokes) != 1 || tr.invokes[0] != [2]uint64{2, 6} {
		t.Fatalf("invokes = %v, want [[2 6]]", tr.invokes)
	}
}

func TestThrottleBackoff(t *testing.T) {
	p := policy{BackoffBase: time.Second, BackoffMax: 10 * time.Second}
	if got := p.throttleBackoff(1); got != 50*time.Millisecond {
		t.Errorf("throttleBackoff(1) = %v, want 50ms", got)
	}
	if got := p.throttleBackoff(20); got != 10*time.Second {
		t.Errorf("throttleBackoff(20) = %v, want the 10s cap", got)
	}
}

func TestBackoff(t *testing.T) {
	p := policy{BackoffBase: time.Second, BackoffMax: 10 * time.Second}
	want := []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for n, w := range want {
		if got := p.backoff(n); got != w {
			t.Errorf("backoff(%d) = %v, want %v", n, got, w)
		}
	}
}

// TestClassifyResponse covers every ReportBatchItemFailures case of spec/esm.md §5.4.
func TestClassifyResponse(t *testing.T) {
	recs := testRecs(3, t0)
	tests := []struct {
		body string
		want outcome
	}{
		{`null`, outcome{Kind: outOK}},
		{``, outcome{Kind: outOK}},
		{`""`, outcome{Kind: outOK}},
		{`[]`, outcome{Kind: outOK}},
		{`{}`, outcome{Kind: outOK}},
		{`{"batchItemFailures":[]}`, outcome{Kind: outOK}},
		{`{"batchItemFailures":null}`, outcome{Kind: outOK}},
		{`{"batchItemFailures":[{"itemIdentifier":"2"}]}`, outcome{Kind: outPartial, FailedAt: 1}},
		{`{"batchItemFailures":[{"itemIdentifier":"3"},{"itemIdentifier":"2"}]}`, outcome{Kind: outPartial, FailedAt: 1}},
		{`{"batchItemFailures":[{"itemIdentifier":"1"}]}`, outcome{Kind: outPartial, FailedAt: 0}},
		{`{"batchItemFailures":[{"itemIdentifier":""}]}`, outcome{Kind: outInvalid}},
		{`{"batchItemFailures":[{"itemIdentifier":null}]}`, outcome{Kind: outInvalid}},
		{`{"batchItemFailures":[{"foo":123}]}`, outcome{Kind: outInvalid}},
		{`{"batchItemFailures":[{"foo":null}]}`, outcome{Kind: outInvalid}},
		{`{"batchItemFailures":[{"itemIdentifier":"123"}]}`, outcome{Kind: outInvalid}},
		{`{"batchItemFailures":[{"itemIdentifier":123}]}`, outcome{Kind: outInvalid}},
		{`not json`, outcome{Kind: outInvalid}},
	}
	for _, tc := range tests {
		if got := classifyResponse(true, []byte(tc.body), recs); got != tc.want {
			t.Errorf("classify(%q) = %+v, want %+v", tc.body, got, tc.want)
		}
	}
	if got := classifyResponse(false, []byte(`{"batchItemFailures":[{"itemIdentifier":"2"}]}`), recs); got.Kind != outOK {
		t.Errorf("without ReportBatchItemFailures: %+v, want success", got)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain-key_1", `quo"te`, `back\slash`, "tab\t", "<html>&", "ünï", "\u2028", "\x7f"} {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}

// BenchmarkEncodeRecord: the engine's per-record cost of building the event.
func BenchmarkEncodeRecord(b *testing.B) {
	es := eventSource{ShardID: "shardId-000000000001", Region: "us-east-1", StreamARN: "arn:aws:kinesis:us-east-1:000000000000:stream/s", Role: "arn:aws:iam::000000000000:role/r"}
	data := make([]byte, 100)
	at := time.Now()
	for b.Loop() {
		es.encodeRecord("49000000000100000000000000012345000000000000000000000000", "partition-key-1", data, at)
	}
}
