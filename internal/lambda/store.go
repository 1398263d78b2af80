package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/nats-io/nats.go/jetstream"
)

// Names of the JetStream things this package owns.
const (
	functionsBucket = "LAMBDA_functions"
	codeBucket      = "LAMBDA_code"
)

// load reads a function and the KV revision to compare-and-set against.
// A missing function is ErrFunctionNotFound (wrapped in the 404 AWS error).
func (s *Service) load(ctx context.Context, name string) (*record, uint64, error) {
	e, err := s.kv.Get(ctx, name)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return nil, 0, errNotFound(s.functionARN(name))
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading function %s: %w", name, err)
	}
	var r record
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return nil, 0, fmt.Errorf("decoding function %s: %w", name, err)
	}
	return &r, e.Revision(), nil
}

// insert stores a new function; an existing one is ResourceConflictException.
func (s *Service) insert(ctx context.Context, r *record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding function %s: %w", r.Name, err)
	}
	rev, err := s.kv.Create(ctx, r.Name, b)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return apiErr("ResourceConflictException", "Function already exist: %s", r.Name)
		}
		return fmt.Errorf("storing function %s: %w", r.Name, err)
	}
	s.cache.put(r.Name, copyRecord(r), rev)
	return nil
}

// mutate applies f to the stored function and writes it back with
// compare-and-set, retrying on a concurrent write. f may return an error to
// abort without writing.
func (s *Service) mutate(ctx context.Context, name string, f func(*record) error) (*record, error) {
	for attempt := 0; ; attempt++ {
		r, rev, err := s.load(ctx, name)
		if err != nil {
			return nil, err
		}
		before, _ := json.Marshal(r)
		if err := f(r); err != nil {
			return nil, err
		}
		b, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("encoding function %s: %w", name, err)
		}
		if bytes.Equal(before, b) {
			return r, nil
		}
		nrev, err := s.kv.Update(ctx, name, b, rev)
		if err != nil {
			if attempt < 20 && isCASConflict(err) {
				continue
			}
			return nil, fmt.Errorf("updating function %s: %w", name, err)
		}
		s.cache.put(name, copyRecord(r), nrev)
		return r, nil
	}
}

func isCASConflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists)
}

// remove deletes the function entry at the revision it was read.
func (s *Service) remove(ctx context.Context, name string, rev uint64) error {
	if err := s.kv.Delete(ctx, name, jetstream.LastRevision(rev)); err != nil {
		return fmt.Errorf("deleting function %s: %w", name, err)
	}
	s.cache.put(name, nil, rev+1) // the delete marker's revision is at least rev+1
	return nil
}

// all returns every function sorted by name.
func (s *Service) all(ctx context.Context) ([]*record, error) {
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing functions: %w", err)
	}
	var names []string
	for k := range lister.Keys() {
		names = append(names, k)
	}
	_ = lister.Stop() // the key channel is closed: the watcher already stopped
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("listing functions: %w", err)
	}
	sort.Strings(names)
	out := make([]*record, 0, len(names))
	for _, n := range names {
		r, _, err := s.load(ctx, n)
		if errors.Is(err, ErrFunctionNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// copyRecord returns a deep copy for the cache (callers keep modifying
// theirs).
func copyRecord(r *record) *record {
	b, _ := json.Marshal(r)
	var c record
	_ = json.Unmarshal(b, &c)
	return &c
}
