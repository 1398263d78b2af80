package esm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/penstock/penstock/internal/storage"
)

// The engine's own tests run it over real embedded JetStream, with shards
// registered directly as storage logs (logStreams) and Go handlers invoked
// in process (goFunctions). End-to-end tests through the Kinesis and Lambda
// services live in e2e_test.go.

const (
	testRegion  = "us-east-1"
	testAccount = "000000000000"
	testRole    = "arn:aws:iam::000000000000:role/lambda-role"
)

func streamARN(name string) string {
	return fmt.Sprintf("arn:aws:kinesis:%s:%s:stream/%s", testRegion, testAccount, name)
}

func functionARN(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", testRegion, testAccount, name)
}

// logStreams serves shard maps of streams whose shards are storage logs.
type logStreams struct {
	mu      sync.Mutex
	streams map[string][]Shard
	watch   map[string][]chan struct{}
}

func newLogStreams() *logStreams {
	return &logStreams{streams: map[string][]Shard{}, watch: map[string][]chan struct{}{}}
}

func (s *logStreams) set(arn string, shards []Shard) {
	s.mu.Lock()
	s.streams[arn] = append([]Shard(nil), shards...)
	ws := s.watch[arn]
	s.mu.Unlock()
	for _, c := range ws {
		signal(c)
	}
}

func (s *logStreams) Shards(_ context.Context, arn string) (Stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, ok := s.streams[arn]
	if !ok {
		return Stream{}, fmt.Errorf("%w: %s", ErrStreamNotFound, arn)
	}
	return Stream{ARN: arn, Shards: append([]Shard(nil), sh...)}, nil
}

func (s *logStreams) WatchShards(arn string) (<-chan struct{}, func()) {
	c := make(chan struct{}, 1)
	s.mu.Lock()
	s.watch[arn] = append(s.watch[arn], c)
	s.mu.Unlock()
	return c, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		ws := s.watch[arn]
		for i, x := range ws {
			if x == c {
				s.watch[arn] = append(ws[:i], ws[i+1:]...)
				break
			}
		}
	}
}

func (s *logStreams) SequenceNumber(shardID string, seq uint64) string {
	return fmt.Sprintf("4960%052d", seq)
}

// handler is a Go function body: the event in, the response or an error out.
type handler func(ctx context.Context, ev kinesisEvent) (*InvokeResult, error)

// goFunctions invokes Go handlers in process.
type goFunctions struct {
	mu sync.Mutex
	h  map[string]handler
}

func (f *goFunctions) add(name string, h handler) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.h == nil {
		f.h = map[string]handler{}
	}
	f.h[functionARN(name)] = h
}

func (f *goFunctions) Function(_ context.Context, name string) (FunctionInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := name
	if _, ok := f.h[arn]; !ok {
		arn = functionARN(name)
	}
	if _, ok := f.h[arn]; !ok {
		return FunctionInfo{}, ErrFunctionNotFound
	}
	return FunctionInfo{Name: functionNameOf(arn), ARN: arn, Role: testRole}, nil
}

func (f *goFunctions) Invoke(ctx context.Context, arn string, payload []byte) (*InvokeResult, error) {
	f.mu.Lock()
	h := f.h[arn]
	f.mu.Unlock()
	if h == nil {
		return nil, ErrFunctionNotFound
	}
	var ev kinesisEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("event is not JSON: %w", err)
	}
	ev.size = len(payload)
	return h(ctx, ev)
}

type kinesisEvent struct {
	Records []struct {
		Kinesis struct {
			KinesisSchemaVersion        string  `json:"kinesisSchemaVersion"`
			PartitionKey                string  `json:"partitionKey"`
			SequenceNumber              string  `json:"sequenceNumber"`
			Data                        []byte  `json:"data"`
			ApproximateArrivalTimestamp float64 `json:"approximateArrivalTimestamp"`
		} `json:"kinesis"`
		EventSource       string `json:"eventSource"`
		EventVersion      string `json:"eventVersion"`
		EventID           string `json:"eventID"`
		EventName         string `json:"eventName"`
		InvokeIdentityArn string `json:"invokeIdentityArn"`
		AwsRegion         string `json:"awsRegion"`
		EventSourceARN    string `json:"eventSourceARN"`
	} `json:"Records"`
	size int
}

func ok(body string) (*InvokeResult, error) { return &InvokeResult{Payload: []byte(body)}, nil }

func fnError() (*InvokeResult, error) {
	return &InvokeResult{FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"boom","errorType":"errorString"}`)}, nil
}

// recordingDestinations records every delivery (our own interface, not storage).
type recordingDestinations struct {
	mu   sync.Mutex
	got  []Delivery
	fail int // fail this many deliveries first
}

func (d *recordingDestinations) Check(_ context.Context, arn string) error { return nil }

func (d *recordingDestinations) Deliver(_ context.Context, arn string, del Delivery) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail > 0 {
		d.fail--
		return fmt.Errorf("destination %s unavailable", arn)
	}
	d.got = append(d.got, del)
	return nil
}

func (d *recordingDestinations) deliveries() []Delivery {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Delivery(nil), d.got...)
}

// env is one engine over a real embedded JetStream.
type env struct {
	t     testing.TB
	ctx   context.Context
	store *storage.Store
	dir   string
	s     *logStreams
	f     *goFunctions
	d     *recordingDestinations
	e     *Engine
	api   *lambda.Client
	stop  func()
	clock Clock
	// running is the context the engine runs under; done once stop began.
	running context.Context
}

type envOpt func(*Options)

func withClock(c Clock) envOpt { return func(o *Options) { o.Clock = c } }

func newEnv(t testing.TB, opts ...envOpt) *env {
	t.Helper()
	dir := t.TempDir()
	st, err := storage.Open(t.Context(), storage.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	en := &env{t: t, ctx: t.Context(), store: st, dir: dir, s: newLogStreams(), f: &goFunctions{}, d: &recordingDestinations{}}
	en.start(opts...)
	return en
}

// start runs an engine on the env's store (again, after stopEngine).
func (en *env) start(opts ...envOpt) {
	t := en.t
	o := Options{Store: en.store, Streams: en.s, Functions: en.f, Destinations: en.d,
		Region: testRegion, AccountID: testAccount, RetryBackoff: time.Millisecond, MaxRetryBackoff: 5 * time.Millisecond}
	for _, f := range opts {
		f(&o)
	}
	e, err := New(en.ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	en.e = e
	ctx, cancel := context.WithCancel(en.ctx)
	en.running = ctx
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	hs := httptest.NewServer(e)
	en.stop = func() {
		hs.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("engine Run: %v", err)
		}
	}
	t.Cleanup(func() {
		if en.stop != nil {
			en.stop()
			en.stop = nil
		}
	})
	en.api = lambda.New(lambda.Options{Region: testRegion, BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")})
}

func (en *env) stopEngine() {
	en.stop()
	en.stop = nil
}

// stream creates a stream of n open shards, each a storage log.
func (en *env) stream(name string, n int) string {
	en.t.Helper()
	var shards []Shard
	for i := range n {
		sh := Shard{ID: fmt.Sprintf("shardId-%012d", i), LogID: name + "/" + fmt.Sprint(i)}
		if err := en.store.CreateLog(en.ctx, sh.LogID, 24*time.Hour); err != nil {
			en.t.Fatal(err)
		}
		shards = append(shards, sh)
	}
	arn := streamARN(name)
	en.s.set(arn, shards)
	return arn
}

// put appends records (partition key, data) to a shard log.
func (en *env) put(logID string, entries ...storage.Entry) {
	en.t.Helper()
	if _, err := en.store.Append(en.ctx, logID, entries); err != nil {
		en.t.Fatal(err)
	}
}

func entries(n int, pk func(i int) string, data func(i int) string) []storage.Entry {
	out := make([]storage.Entry, n)
	for i := range out {
		out[i] = storage.Entry{PartitionKey: pk(i), Data: []byte(data(i))}
	}
	return out
}

func (en *env) checkFor(timeout time.Duration, f func() error) {
	en.t.Helper()
	checkFor(en.t, timeout, f)
}

// checkFor polls f until it returns nil or timeout passes.
func checkFor(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %s: %v", timeout, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// createMapping creates a mapping through the Lambda API and waits until
// its pollers hold a checkpoint for every shard.
func (en *env) createMapping(in *lambda.CreateEventSourceMappingInput, shards int) string {
	en.t.Helper()
	out, err := en.api.CreateEventSourceMapping(en.ctx, in)
	if err != nil {
		en.t.Fatalf("CreateEventSourceMapping: %v", err)
	}
	id := *out.UUID
	en.waitStarted(id, shards)
	return id
}

func (en *env) waitStarted(id string, shards int) {
	en.t.Helper()
	en.checkFor(10*time.Second, func() error {
		for i := range shards {
			if _, ok, err := en.e.ckpts.get(en.ctx, id, fmt.Sprintf("shardId-%012d", i)); err != nil || !ok {
				return fmt.Errorf("no checkpoint for shard %d yet (%v)", i, err)
			}
		}
		return nil
	})
}

// manualClock only moves when told.
type manualClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []clockWaiter
}

type clockWaiter struct {
	at time.Time
	c  chan time.Time
}

func newManualClock(t time.Time) *manualClock { return &manualClock{now: t} }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, clockWaiter{c.now.Add(d), ch})
	return ch
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.c <- c.now
			continue
		}
		keep = append(keep, w)
	}
	c.waiters = keep
}
