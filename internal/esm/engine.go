package esm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penstock/penstock/internal/awsapi"
	"github.com/penstock/penstock/internal/storage"
)

// Options configures New.
type Options struct {
	Store        *storage.Store
	Streams      Streams      // the Kinesis service (KinesisStreams adapts it)
	Functions    Functions    // the Lambda service (LambdaFunctions adapts it)
	Destinations Destinations // nil: DestinationConfig is refused at create/update
	Region       string
	AccountID    string
	Logger       *slog.Logger
	// Clock drives batching windows, record ages and backoff; nil = real time.
	Clock Clock
	// RetryBackoff is the first retry delay (doubling up to MaxRetryBackoff);
	// 0 = 1 s and 10 s, AWS-like.
	RetryBackoff, MaxRetryBackoff time.Duration
	// Observer, when set, is told when each invoke starts (benchmarks).
	Observer InvokeObserver
	// LeaseTTL is how long a shard lease outlives its last renewal (a
	// crashed node's shards move after this long); 0 = 10 s.
	LeaseTTL time.Duration
	// NodeID names this node in shard leases; a restarted node with the
	// same id takes its leases back at once. "" = "embedded" with an
	// embedded store (one node only), else a random id.
	NodeID string
}

// Engine serves the event-source-mapping API and runs the mappings.
type Engine struct {
	o      Options
	log    *slog.Logger
	clock  Clock
	maps   *mappingStore
	ckpts  *checkpointStore
	leases jetstream.KeyValue
	node   string // this engine's id in leases

	observer atomic.Pointer[InvokeObserver]

	mu      sync.Mutex
	runs    map[string]*mappingRun // by UUID; guarded by mu
	metrics map[string]*Metrics    // by UUID; guarded by mu
}

// New opens the engine's KV buckets. Run starts the mappings.
func New(ctx context.Context, o Options) (*Engine, error) {
	if o.Store == nil || o.Streams == nil || o.Functions == nil {
		return nil, errors.New("esm: Store, Streams and Functions are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = time.Second
	}
	if o.MaxRetryBackoff <= 0 {
		o.MaxRetryBackoff = max(10*time.Second, o.RetryBackoff)
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 10 * time.Second
	}
	if o.NodeID == "" {
		o.NodeID = newRequestID()
		if o.Store.Embedded() {
			o.NodeID = "embedded"
		}
	}
	lk, err := o.Store.KV(ctx, bucketLeases)
	if err != nil {
		return nil, err
	}
	mk, err := o.Store.KV(ctx, bucketMappings)
	if err != nil {
		return nil, err
	}
	ck, err := o.Store.KV(ctx, bucketCheckpoints)
	if err != nil {
		return nil, err
	}
	e := &Engine{o: o, log: o.Logger, clock: o.Clock,
		maps: &mappingStore{kv: mk}, ckpts: &checkpointStore{kv: ck}, leases: lk, node: o.NodeID,
		runs: map[string]*mappingRun{}, metrics: map[string]*Metrics{}}
	e.SetObserver(o.Observer)
	return e, nil
}

// SetObserver installs (or, with nil, removes) the invoke observer.
func (e *Engine) SetObserver(f InvokeObserver) {
	if f == nil {
		e.observer.Store(nil)
		return
	}
	e.observer.Store(&f)
}

// Metrics returns the mapping's counters (nil for an unknown UUID).
func (e *Engine) Metrics(uuid string) *Metrics {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.metrics[uuid]
}

func (e *Engine) metricsFor(uuid string) *Metrics {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.metrics[uuid]
	if m == nil {
		m = &Metrics{}
		e.metrics[uuid] = m
	}
	return m
}

func newRequestID() string { return awsapi.RequestID() }

// Run follows the mappings bucket and keeps one mappingRun per enabled
// mapping until ctx ends; then it stops every poller. The end of ctx is a
// stop, not an error, at any point (also while the watch is starting).
func (e *Engine) Run(ctx context.Context) error {
	defer e.stopAll()
	w, err := e.maps.kv.WatchAll(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("watching mappings: %w", err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ent, ok := <-w.Updates():
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("esm: mappings watch ended")
			}
			if ent == nil {
				continue // initial values delivered
			}
			e.reconcile(ctx, ent)
		}
	}
}

func (e *Engine) reconcile(ctx context.Context, ent jetstream.KeyValueEntry) {
	id := ent.Key()
	if ent.Operation() != jetstream.KeyValuePut {
		e.stopRun(id)
		return
	}
	m, err := unmarshalStored(ent.Value())
	if err != nil {
		e.log.Error("bad mapping in store", "uuid", id, "err", err)
		return
	}
	var final string
	switch {
	case m.State == stateDeleting:
		e.stopRun(id)
		if err := e.ckpts.deleteMapping(ctx, id); err != nil {
			e.log.Warn("deleting checkpoints", "uuid", id, "err", err)
		}
		if err := e.maps.delete(ctx, id); err != nil {
			e.log.Warn("deleting mapping", "uuid", id, "err", err)
		}
		e.mu.Lock()
		delete(e.metrics, id)
		e.mu.Unlock()
		return
	case m.Enabled:
		e.ensureRun(ctx, m)
		final = stateEnabled
	default:
		e.stopRun(id)
		final = stateDisabled
	}
	if m.State == final {
		return
	}
	m.State = final
	m.LastModified = epochSeconds(e.clock.Now())
	b, err := m.marshalStored()
	if err != nil {
		return
	}
	// A conflict means a newer version is on its way through the watch.
	if _, err := e.maps.kv.Update(ctx, id, b, ent.Revision()); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		e.log.Warn("setting mapping state", "uuid", id, "err", err)
	}
}

func (e *Engine) ensureRun(ctx context.Context, m Mapping) {
	e.mu.Lock()
	r := e.runs[m.UUID]
	e.mu.Unlock()
	if r != nil && r.key == m.runKey() {
		return
	}
	if r != nil {
		r.stop()
	}
	r = &mappingRun{e: e, m: m, key: m.runKey(), met: e.metricsFor(m.UUID), done: make(chan struct{})}
	rctx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	e.mu.Lock()
	e.runs[m.UUID] = r
	e.mu.Unlock()
	go func() { defer close(r.done); r.run(rctx) }()
}

func (e *Engine) stopRun(id string) {
	e.mu.Lock()
	r := e.runs[id]
	delete(e.runs, id)
	e.mu.Unlock()
	if r != nil {
		r.stop()
	}
}

func (e *Engine) stopAll() {
	e.mu.Lock()
	runs := e.runs
	e.runs = map[string]*mappingRun{}
	e.mu.Unlock()
	for _, r := range runs {
		r.cancel()
	}
	for _, r := range runs {
		<-r.done
	}
}

func sortMappings(ms []Mapping) {
	sort.Slice(ms, func(i, j int) bool { return ms[i].UUID < ms[j].UUID })
}
