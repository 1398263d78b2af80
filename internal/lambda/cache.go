package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// recordCache keeps the functions of LAMBDA_functions in memory for the
// invoke path, so that an invocation costs no storage round trip. A KV
// watcher (run by Service.Run) applies every change, this node's and other
// nodes'; this node's own writes are also applied as they are made, so a
// caller reads its own writes at once. Entries only move forward in KV
// revision. Cached records are shared: never modify one.
type recordCache struct {
	mu sync.RWMutex
	m  map[string]cachedRecord
}

type cachedRecord struct {
	rec *record // nil = deleted
	rev uint64
}

func newRecordCache() *recordCache { return &recordCache{m: map[string]cachedRecord{}} }

// get returns the cached record of an existing function. Misses and
// deleted entries are not answered from the cache: the function may have
// been created on another node a moment ago.
func (c *recordCache) get(name string) (*record, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.m[name]
	return e.rec, ok && e.rec != nil
}

// put records rec (nil = deleted) at revision rev unless a newer one is
// known.
func (c *recordCache) put(name string, rec *record, rev uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[name]; ok && e.rev >= rev {
		return
	}
	c.m[name] = cachedRecord{rec: rec, rev: rev}
}

// runWatcher feeds the cache from the bucket until ctx ends, re-watching
// if the watch breaks.
func (s *Service) runWatcher(ctx context.Context) error {
	for {
		err := s.watchOnce(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Warn("lambda: function watch ended; restarting", "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func (s *Service) watchOnce(ctx context.Context) error {
	w, err := s.kv.WatchAll(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watcher closed")
			}
			if e == nil { // initial values delivered
				continue
			}
			if e.Operation() != jetstream.KeyValuePut {
				s.cache.put(e.Key(), nil, e.Revision())
				continue
			}
			var r record
			if err := json.Unmarshal(e.Value(), &r); err != nil {
				s.log.Warn("lambda: undecodable function record", "function", e.Key(), "err", err)
				continue
			}
			s.cache.put(e.Key(), &r, e.Revision())
		}
	}
}

// cached returns the function for the invoke path: from the cache when it
// can answer, else from storage.
func (s *Service) cached(ctx context.Context, name string) (*record, error) {
	if rec, ok := s.cache.get(name); ok {
		return rec, nil
	}
	rec, _, err := s.load(ctx, name)
	return rec, err
}
