package esm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func TestWindowOf(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		t          string
		size       time.Duration
		start, end string
	}{
		{"2020-12-09T07:05:13.5Z", 120 * time.Second, "2020-12-09T07:04:00Z", "2020-12-09T07:06:00Z"},
		{"2020-12-09T07:06:00Z", 120 * time.Second, "2020-12-09T07:06:00Z", "2020-12-09T07:08:00Z"},
		{"2020-12-09T07:05:59.999Z", 900 * time.Second, "2020-12-09T07:00:00Z", "2020-12-09T07:15:00Z"},
		{"2020-12-09T07:05:59.999Z", 7 * time.Second, "2020-12-09T07:05:56Z", "2020-12-09T07:06:03Z"},
	}
	for _, tc := range tests {
		s, e := windowOf(at(tc.t), tc.size)
		if !s.Equal(at(tc.start)) || !e.Equal(at(tc.end)) {
			t.Errorf("windowOf(%s, %s) = %s..%s, want %s..%s", tc.t, tc.size, s, e, tc.start, tc.end)
		}
	}
}

// windowFunctions is a function that aggregates: it decodes each event as
// aws-lambda-go's events.KinesisTimeWindowEvent (unknown keys refused) and
// returns {"state":{"count":"<records so far>"}}, or what answer says.
type windowFunctions struct {
	mu     sync.Mutex
	events []events.KinesisTimeWindowEvent
	keys   [][]string
	answer func(call int, ev events.KinesisTimeWindowEvent) string // "" = count
}

func (f *windowFunctions) Function(_ context.Context, name string) (FunctionInfo, error) {
	arn := name
	if !strings.HasPrefix(arn, "arn:") {
		arn = functionARN(name)
	}
	return FunctionInfo{Name: functionNameOf(arn), ARN: arn, Role: testRole}, nil
}

func (f *windowFunctions) Invoke(_ context.Context, _ string, payload []byte) (*InvokeResult, error) {
	var ev events.KinesisTimeWindowEvent
	d := json.NewDecoder(bytes.NewReader(payload))
	d.DisallowUnknownFields()
	if err := d.Decode(&ev); err != nil {
		return nil, fmt.Errorf("not a KinesisTimeWindowEvent: %w: %s", err, payload)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(payload, &top); err != nil {
		return nil, err
	}
	var keys []string
	for k := range top {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	f.mu.Lock()
	f.events = append(f.events, ev)
	f.keys = append(f.keys, keys)
	call := len(f.events)
	answer := f.answer
	f.mu.Unlock()
	if answer != nil {
		if a := answer(call, ev); a != "" {
			return &InvokeResult{Payload: []byte(a)}, nil
		}
	}
	n, _ := strconv.Atoi(ev.State["count"])
	b, _ := json.Marshal(events.KinesisTimeWindowEventResponse{
		TimeWindowEventResponseProperties: events.TimeWindowEventResponseProperties{
			State: map[string]string{"count": strconv.Itoa(n + len(ev.Records))}}})
	return &InvokeResult{Payload: b}, nil
}

func (f *windowFunctions) seen() []events.KinesisTimeWindowEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]events.KinesisTimeWindowEvent(nil), f.events...)
}

func (f *windowFunctions) waitCalls(en *env, n int) []events.KinesisTimeWindowEvent {
	en.t.Helper()
	en.checkFor(10*time.Second, func() error {
		if got := len(f.seen()); got < n {
			return fmt.Errorf("%d of %d invokes", got, n)
		}
		return nil
	})
	return f.seen()
}

// waitTimer waits until something waits on the clock for at or before t,
// so that advancing to t wakes it.
func (c *manualClock) waitTimer(tb testing.TB, t time.Time) {
	tb.Helper()
	c.waitTimers(tb, t, 1)
}

// waitTimers waits until n timers fire at or before t.
func (c *manualClock) waitTimers(tb testing.TB, t time.Time, n int) {
	tb.Helper()
	checkFor(tb, 10*time.Second, func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		got := 0
		for _, w := range c.waiters {
			if !w.at.After(t) {
				got++
			}
		}
		if got < n {
			return fmt.Errorf("%d of %d timers until %s", got, n, t)
		}
		return nil
	})
}

type invokeWant struct {
	records      int
	state        map[string]string
	final, early bool
}

func checkInvokes(t *testing.T, got []events.KinesisTimeWindowEvent, start, end time.Time, shard, arn string, want []invokeWant) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d invokes, want %d", len(got), len(want))
	}
	for i, w := range want {
		ev := got[i]
		if len(ev.Records) != w.records || ev.IsFinalInvokeForWindow != w.final || ev.IsWindowTerminatedEarly != w.early ||
			fmt.Sprint(ev.State) != fmt.Sprint(w.state) {
			t.Errorf("invoke %d: %d records, state %v, final %v, early %v; want %+v", i, len(ev.Records), ev.State,
				ev.IsFinalInvokeForWindow, ev.IsWindowTerminatedEarly, w)
		}
		if !ev.Window.Start.Equal(start) || !ev.Window.End.Equal(end) || ev.ShardID != shard || ev.EventSourceARN != arn {
			t.Errorf("invoke %d: window %s..%s shard %s arn %s; want %s..%s %s %s", i, ev.Window.Start.Time, ev.Window.End.Time,
				ev.ShardID, ev.EventSourceARN, start, end, shard, arn)
		}
	}
}

// TestTumblingWindow: state carried from invoke to invoke within a window,
// the checkpoint held at the window's first record until the final invoke
// (isFinalInvokeForWindow, sent at the window's end on the injected clock,
// with no records left) succeeded, and a fresh state for the next window.
func TestTumblingWindow(t *testing.T) {
	const size = 900 * time.Second
	now := time.Now()
	start, end := windowOf(now, size)
	if end.Sub(now) < 10*time.Second {
		t.Skip("too close to a window boundary of the real clock (record arrival times)")
	}
	clk := newManualClock(now)
	fns := &windowFunctions{}
	en := newEnv(t, withClock(clk), func(o *Options) { o.Functions = fns })
	arn := en.stream("s", 1)
	in := mappingInput(arn, "w", types.EventSourcePositionTrimHorizon)
	in.BatchSize = aws.Int32(2)
	in.TumblingWindowInSeconds = aws.Int32(int32(size / time.Second))
	out, err := en.api.CreateEventSourceMapping(en.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(out.TumblingWindowInSeconds) != 900 {
		t.Errorf("TumblingWindowInSeconds = %v", out.TumblingWindowInSeconds)
	}
	id := *out.UUID
	en.waitStarted(id, 1)
	en.put("s/0", entries(3, constKey("k"), seqData("r"))...)
	got := fns.waitCalls(en, 2)
	checkInvokes(t, got, start, end, "shardId-000000000000", arn, []invokeWant{
		{2, map[string]string{}, false, false},
		{1, map[string]string{"count": "2"}, false, false},
	})
	if want := []string{"Records", "eventSourceARN", "isFinalInvokeForWindow", "isWindowTerminatedEarly", "shardId", "state", "window"}; !slices.Equal(fns.keys[0], want) {
		t.Errorf("event keys = %v, want %v", fns.keys[0], want)
	}
	en.checkFor(5*time.Second, func() error {
		if n := en.e.Metrics(id).InvokedEventCount.Load(); n != 3 {
			return fmt.Errorf("invoked %d", n)
		}
		return nil
	})
	if c, _, _ := en.e.ckpts.get(en.ctx, id, "shardId-000000000000"); c.Next != 1 {
		t.Errorf("checkpoint next = %d inside the window, want 1 (held at its first record)", c.Next)
	}

	clk.waitTimer(t, end)
	clk.Advance(end.Sub(clk.Now()))
	got = fns.waitCalls(en, 3)
	checkInvokes(t, got[2:], start, end, "shardId-000000000000", arn, []invokeWant{
		{0, map[string]string{"count": "3"}, true, false},
	})
	en.checkFor(5*time.Second, func() error {
		if c, _, _ := en.e.ckpts.get(en.ctx, id, "shardId-000000000000"); c.Next != 4 {
			return fmt.Errorf("checkpoint next = %d after the final invoke, want 4", c.Next)
		}
		return nil
	})

	// Records of a window already over (by the engine's clock) open a new
	// window with a fresh state, sent at once as its final invoke.
	en.put("s/0", entries(2, constKey("k"), seqData("q"))...)
	got = fns.waitCalls(en, 4)
	checkInvokes(t, got[3:], start, end, "shardId-000000000000", arn, []invokeWant{
		{2, map[string]string{}, true, false},
	})
	if n := len(fns.waitCalls(en, 4)); n != 4 {
		t.Errorf("%d invokes, want 4", n)
	}
}

// TestTumblingWindowStateRules: a response without state is a failed
// invocation (retried with the same state); a state over 1 MB ends the
// window early with an invoke of its own, and the window goes on afresh.
func TestTumblingWindowStateRules(t *testing.T) {
	const size = 900 * time.Second
	now := time.Now()
	start, end := windowOf(now, size)
	if end.Sub(now) < 10*time.Second {
		t.Skip("too close to a window boundary of the real clock (record arrival times)")
	}
	big := strings.Repeat("x", maxWindowState)
	fns := &windowFunctions{answer: func(call int, ev events.KinesisTimeWindowEvent) string {
		switch call {
		case 1:
			return `{"batchItemFailures":[]}` // no state: failed
		case 2:
			return `{"state":{"big":"` + big + `"}}`
		}
		return ""
	}}
	clk := newManualClock(now)
	en := newEnv(t, withClock(clk), func(o *Options) { o.Functions = fns })
	arn := en.stream("s", 1)
	in := mappingInput(arn, "w", types.EventSourcePositionTrimHorizon)
	in.BatchSize = aws.Int32(1)
	in.TumblingWindowInSeconds = aws.Int32(900)
	id := en.createMapping(in, 1)
	en.put("s/0", entries(2, constKey("k"), seqData("r"))...)
	fns.waitCalls(en, 1)
	retry := clk.Now().Add(10 * time.Millisecond) // the retry backoff (1 ms) runs on the injected clock
	clk.waitTimer(t, retry)
	clk.Advance(retry.Sub(clk.Now()))
	got := fns.waitCalls(en, 4)
	checkInvokes(t, got, start, end, "shardId-000000000000", arn, []invokeWant{
		{1, map[string]string{}, false, false},
		{1, map[string]string{}, false, false},
		{0, map[string]string{"big": big}, true, true},
		{1, map[string]string{}, false, false},
	})
	en.checkFor(5*time.Second, func() error {
		if met := en.e.Metrics(id).Snapshot(); met.Invocations != 4 || met.FailedInvokeEventCount != 1 {
			return fmt.Errorf("metrics %+v", met)
		}
		return nil
	})
}

// TestAPI_TumblingWindow: range checks; the setting is echoed.
func TestAPI_TumblingWindow(t *testing.T) {
	en := newEnv(t)
	arn := en.stream("s", 1)
	en.f.add("f", recorder(&calls{}, nil))
	for _, tc := range []struct {
		v   int32
		err string
	}{
		{-1, "1 validation error detected: Value '-1' at 'tumblingWindowInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 0"},
		{901, "1 validation error detected: Value '901' at 'tumblingWindowInSeconds' failed to satisfy constraint: Member must have value less than or equal to 900"},
		{900, ""},
	} {
		in := mappingInput(arn, "f", types.EventSourcePositionLatest)
		in.TumblingWindowInSeconds = aws.Int32(tc.v)
		out, err := en.api.CreateEventSourceMapping(en.ctx, in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%d: err = %v, want %s", tc.v, err, tc.err)
			}
			continue
		}
		if err != nil || aws.ToInt32(out.TumblingWindowInSeconds) != tc.v {
			t.Fatalf("%d: %v %v", tc.v, out, err)
		}
		u, err := en.api.UpdateEventSourceMapping(en.ctx, &lambda.UpdateEventSourceMappingInput{UUID: out.UUID, TumblingWindowInSeconds: aws.Int32(0)})
		if err != nil || aws.ToInt32(u.TumblingWindowInSeconds) != 0 {
			t.Errorf("update to 0: %v %v", u, err)
		}
	}
}

// TestTumblingWindowShardEnd: a reshard closes the parent's window with a
// final invoke before the shard counts as finished; the child starts a
// window of its own with a fresh state.
func TestTumblingWindowShardEnd(t *testing.T) {
	now := time.Now()
	start, end := windowOf(now, 900*time.Second)
	if end.Sub(now) < 10*time.Second {
		t.Skip("too close to a window boundary of the real clock (record arrival times)")
	}
	fns := &windowFunctions{}
	en := newEnv(t, withClock(newManualClock(now)), func(o *Options) { o.Functions = fns })
	arn := en.stream("s", 1)
	in := mappingInput(arn, "w", types.EventSourcePositionTrimHorizon)
	in.TumblingWindowInSeconds = aws.Int32(900)
	id := en.createMapping(in, 1)
	en.put("s/0", entries(2, constKey("k"), seqData("p"))...)
	fns.waitCalls(en, 1)
	if err := en.store.CreateLog(en.ctx, "s/1", time.Hour); err != nil {
		t.Fatal(err)
	}
	en.s.set(arn, []Shard{
		{ID: "shardId-000000000000", LogID: "s/0", Closed: true, EndSeq: 2},
		{ID: "shardId-000000000001", LogID: "s/1", ParentShardID: "shardId-000000000000"},
	})
	en.put("s/1", entries(1, constKey("k"), seqData("c"))...)
	got := fns.waitCalls(en, 3)
	checkInvokes(t, got[:2], start, end, "shardId-000000000000", arn, []invokeWant{
		{2, map[string]string{}, false, false},
		{0, map[string]string{"count": "2"}, true, false},
	})
	checkInvokes(t, got[2:], start, end, "shardId-000000000001", arn, []invokeWant{
		{1, map[string]string{}, false, false},
	})
	ck, ok, err := en.e.ckpts.get(en.ctx, id, "shardId-000000000000")
	if err != nil || !ok || !ck.Finished {
		t.Errorf("parent checkpoint = %+v %v %v, want finished", ck, ok, err)
	}
}

// TestTumblingWindowRestart: state is not persisted; the checkpoint stays
// at the open window's first record, so after a restart the window's
// records are delivered again with a fresh state (at least once).
func TestTumblingWindowRestart(t *testing.T) {
	now := time.Now()
	start, end := windowOf(now, 900*time.Second)
	if end.Sub(now) < 10*time.Second {
		t.Skip("too close to a window boundary of the real clock (record arrival times)")
	}
	fns := &windowFunctions{}
	clk := newManualClock(now)
	useFns := func(o *Options) { o.Functions = fns }
	en := newEnv(t, withClock(clk), useFns)
	arn := en.stream("s", 1)
	in := mappingInput(arn, "w", types.EventSourcePositionTrimHorizon)
	in.BatchSize = aws.Int32(2)
	in.TumblingWindowInSeconds = aws.Int32(900)
	id := en.createMapping(in, 1)
	en.put("s/0", entries(3, constKey("k"), seqData("r"))...)
	fns.waitCalls(en, 2)
	en.checkFor(5*time.Second, func() error {
		if n := en.e.Metrics(id).InvokedEventCount.Load(); n != 3 {
			return fmt.Errorf("invoked %d", n)
		}
		return nil
	})
	en.stopEngine()
	if c, _, _ := en.e.ckpts.get(en.ctx, id, "shardId-000000000000"); c.Next != 1 {
		t.Fatalf("checkpoint after stop = %d, want 1", c.Next)
	}
	en.start(withClock(clk), useFns)
	got := fns.waitCalls(en, 4)
	checkInvokes(t, got, start, end, "shardId-000000000000", arn, []invokeWant{
		{2, map[string]string{}, false, false},
		{1, map[string]string{"count": "2"}, false, false},
		{2, map[string]string{}, false, false},
		{1, map[string]string{"count": "2"}, false, false},
	})
}

// TestTumblingWindowParallel: with ParallelizationFactor 2 each lane keeps
// its own window state (UNCONFIRMED: AWS documents state per shard only).
func TestTumblingWindowParallel(t *testing.T) {
	now := time.Now()
	start, end := windowOf(now, 900*time.Second)
	if end.Sub(now) < 10*time.Second {
		t.Skip("too close to a window boundary of the real clock (record arrival times)")
	}
	lane := func(k string) uint32 {
		h := fnv.New32a()
		h.Write([]byte(k))
		return h.Sum32() % 2
	}
	keys := []string{"a"}
	for i := 0; len(keys) < 2; i++ {
		if k := fmt.Sprint("k", i); lane(k) != lane(keys[0]) {
			keys = append(keys, k)
		}
	}
	fns := &windowFunctions{}
	clk := newManualClock(now)
	en := newEnv(t, withClock(clk), func(o *Options) { o.Functions = fns })
	arn := en.stream("s", 1)
	in := mappingInput(arn, "w", types.EventSourcePositionTrimHorizon)
	in.ParallelizationFactor = aws.Int32(2)
	in.TumblingWindowInSeconds = aws.Int32(900)
	en.createMapping(in, 1)
	en.put("s/0", entries(3, constKey(keys[0]), seqData("x"))...)
	en.put("s/0", entries(2, constKey(keys[1]), seqData("y"))...)
	fns.waitCalls(en, 2)
	clk.waitTimers(t, end, 2) // both lanes wait for the window's end
	clk.Advance(end.Sub(clk.Now()))
	got := fns.waitCalls(en, 4)
	var finals []string
	for _, ev := range got {
		if !ev.Window.Start.Equal(start) {
			t.Errorf("window %s, want %s", ev.Window.Start.Time, start)
		}
		if ev.IsFinalInvokeForWindow {
			finals = append(finals, ev.State["count"])
		} else if len(ev.State) != 0 {
			t.Errorf("first invoke of a lane's window has state %v", ev.State)
		}
	}
	slices.Sort(finals)
	if !slices.Equal(finals, []string{"2", "3"}) {
		t.Errorf("final states = %v, want counts 2 and 3 (one per lane)", finals)
	}
}
