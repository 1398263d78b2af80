package lambda

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/penstock/penstock/internal/awsapi"
	"github.com/penstock/penstock/internal/runtime"
	"github.com/penstock/penstock/internal/storage"
)

// Options configures New.
type Options struct {
	Store     *storage.Store
	Runtime   *runtime.Manager
	Region    string
	AccountID string
	// CacheDir is where this node unpacks function code, one directory per
	// CodeSha256.
	CacheDir string
	Logger   *slog.Logger
	// Logs, when set, is the log stream the /_penstock/logs endpoint reads
	// (the same one given to the runtime as its LogSink). nil opens it.
	// The service's Run runs its writer.
	Logs *Logs
	// AsyncWorkers is how many Event invocations this node runs at once
	// (0 = 16).
	AsyncWorkers int
	// AsyncRetryDelays are the waits before retrying an Event invocation
	// that returned a function error; nil = AWS's one and two minutes.
	AsyncRetryDelays []time.Duration
}

// Service is the Lambda functions API: the REST handlers, the in-process
// Function/Invoke API of the mapping engine, and the background work that
// moves functions from Pending to Active and runs Event invocations.
type Service struct {
	rt      *runtime.Manager
	region  string
	account string
	log     *slog.Logger
	kv      jetstream.KeyValue
	cache   *recordCache
	code    *codeCache
	logs    *Logs

	activate    chan string // function names with pending state work
	async       *asyncQueue // queued Event invocations (JetStream)
	workers     int
	retryDelays []time.Duration

	mu      sync.Mutex
	waiters map[string][]chan struct{} // Invoke waiting for a function to turn Active
}

// New opens the function bucket and code store and returns the service.
// Call Run for state transitions and Event invocations.
func New(ctx context.Context, o Options) (*Service, error) {
	if o.Store == nil || o.Runtime == nil {
		return nil, errors.New("lambda: Store and Runtime are required")
	}
	if o.CacheDir == "" {
		return nil, errors.New("lambda: CacheDir is required")
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	kv, err := o.Store.KV(ctx, functionsBucket)
	if err != nil {
		return nil, fmt.Errorf("lambda: %w", err)
	}
	obj, err := o.Store.ObjectStore(ctx, codeBucket)
	if err != nil {
		return nil, fmt.Errorf("lambda: %w", err)
	}
	cache, err := newCodeCache(o.CacheDir, obj)
	if err != nil {
		return nil, fmt.Errorf("lambda: %w", err)
	}
	logs := o.Logs
	if logs == nil {
		if logs, err = NewLogs(ctx, o.Store, log); err != nil {
			return nil, err
		}
	}
	aq, err := openAsyncQueue(ctx, o.Store)
	if err != nil {
		return nil, err
	}
	n := o.AsyncWorkers
	if n <= 0 {
		n = 16
	}
	retry := o.AsyncRetryDelays
	if retry == nil {
		retry = asyncRetryDelays
	}
	return &Service{
		rt: o.Runtime, region: o.Region, account: o.AccountID, log: log,
		kv: kv, cache: newRecordCache(), code: cache, logs: logs,
		activate:    make(chan string, 1024),
		async:       aq,
		workers:     n,
		retryDelays: retry,
		waiters:     map[string][]chan struct{}{},
	}, nil
}

// Run finishes pending state transitions (also those a previous process
// left behind) and runs queued Event invocations until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.runActivator(ctx) })
	g.Go(func() error { return s.logs.Run(ctx) })
	g.Go(func() error { return s.runWatcher(ctx) })
	g.Go(func() error { return s.runAsync(ctx) })
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// ServeHTTP serves every Lambda REST path except event-source-mappings.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amzn-RequestId", awsapi.RequestID())
	segs := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	if err := s.route(w, r, segs); err != nil {
		if !errors.As(err, new(*awsapi.Error)) {
			s.log.Error("lambda request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		writeError(w, err)
	}
}

func (s *Service) route(w http.ResponseWriter, r *http.Request, segs []string) error {
	m := r.Method
	switch {
	case len(segs) >= 2 && segs[0] == "2015-03-31" && segs[1] == "functions":
		switch {
		case len(segs) == 2 && m == http.MethodPost:
			return s.createFunction(w, r)
		case len(segs) == 2 && m == http.MethodGet:
			return s.listFunctions(w, r)
		case len(segs) == 3 && m == http.MethodGet:
			return s.getFunction(w, r, segs[2])
		case len(segs) == 3 && m == http.MethodDelete:
			return s.deleteFunction(w, r, segs[2])
		case len(segs) == 4 && segs[3] == "configuration" && m == http.MethodGet:
			return s.getFunctionConfiguration(w, r, segs[2])
		case len(segs) == 4 && segs[3] == "configuration" && m == http.MethodPut:
			return s.updateFunctionConfiguration(w, r, segs[2])
		case len(segs) == 4 && segs[3] == "code" && m == http.MethodPut:
			return s.updateFunctionCode(w, r, segs[2])
		case len(segs) == 4 && segs[3] == "invocations" && m == http.MethodPost:
			return s.invokeHTTP(w, r, segs[2])
		}
	case len(segs) == 4 && (segs[0] == "2017-10-31" || segs[0] == "2019-09-30") && segs[1] == "functions" && segs[3] == "concurrency":
		switch {
		case m == http.MethodPut && segs[0] == "2017-10-31":
			return s.putConcurrency(w, r, segs[2])
		case m == http.MethodDelete && segs[0] == "2017-10-31":
			return s.deleteConcurrency(w, r, segs[2])
		case m == http.MethodGet && segs[0] == "2019-09-30":
			return s.getConcurrency(w, r, segs[2])
		}
	case len(segs) == 3 && segs[0] == "2017-03-31" && segs[1] == "tags":
		switch m {
		case http.MethodPost:
			return s.tagResource(w, r, segs[2])
		case http.MethodDelete:
			return s.untagResource(w, r, segs[2])
		case http.MethodGet:
			return s.listTags(w, r, segs[2])
		}
	}
	return apiErr("ResourceNotFoundException", "penstock does not serve %s %s", m, r.URL.Path)
}

// waitActive blocks until the function has a live configuration (it was
// Pending) or ctx ends.
func (s *Service) waitActive(ctx context.Context, name string) (*record, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		ch := make(chan struct{})
		s.mu.Lock()
		s.waiters[name] = append(s.waiters[name], ch)
		s.mu.Unlock()
		r, _, err := s.load(ctx, name)
		if err != nil {
			return nil, err
		}
		if r.Live != nil {
			return r, nil
		}
		if r.State == "Failed" {
			return nil, apiErr("ResourceConflictException", "The operation cannot be performed at this time. The function is currently in the following state: %s", r.State)
		}
		select {
		case s.activate <- name: // make sure someone works on it
		default:
		}
		select {
		case <-ch:
		case <-time.After(200 * time.Millisecond): // another node may activate it
		case <-ctx.Done():
			return nil, apiErr("ResourceConflictException", "The operation cannot be performed at this time. The function is currently in the following state: %s", r.State)
		}
	}
}

func (s *Service) wake(name string) {
	s.mu.Lock()
	ws := s.waiters[name]
	delete(s.waiters, name)
	s.mu.Unlock()
	for _, ch := range ws {
		close(ch)
	}
}
