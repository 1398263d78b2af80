package kinesis

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penstock/penstock/internal/storage"
)

// Options configures New.
type Options struct {
	Store             *storage.Store
	Region, AccountID string
	Logger            *slog.Logger
	Now               func() time.Time // nil = time.Now
	StateDelay        time.Duration    // CREATING/UPDATING/DELETING dwell
	Throttle          bool             // per-shard write limits
}

// KV buckets of this package.
const (
	streamsBucket = "KINESIS_streams"
	serverBucket  = "KINESIS_server"
	secretKey     = "iterator-secret"
)

// Service is the Kinesis Data Streams API and the stream model behind it.
type Service struct {
	o        Options
	log      *slog.Logger
	now      func() time.Time
	store    *storage.Store
	reg      *registry
	secret   []byte
	kick     chan struct{}
	throttle *throttler
	ops      map[string]handler
	subs     *subscriptions
	stopping chan struct{} // closed when Run ends: subscriptions stop
	stopOnce sync.Once
}

// New opens the metadata buckets and loads the streams.
func New(ctx context.Context, o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("kinesis: Options.Store is required")
	}
	s := &Service{o: o, log: o.Logger, now: o.Now, store: o.Store, kick: make(chan struct{}, 1)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.ops = s.handlers()
	s.subs = newSubscriptions()
	s.stopping = make(chan struct{})
	if o.Throttle {
		s.throttle = newThrottler()
	}
	kv, err := o.Store.KV(ctx, streamsBucket)
	if err != nil {
		return nil, err
	}
	if s.reg, err = newRegistry(ctx, kv); err != nil {
		return nil, err
	}
	if s.secret, err = loadSecret(ctx, o.Store); err != nil {
		return nil, err
	}
	return s, nil
}

// loadSecret returns the server's iterator key, creating it once. It lives
// in KV so iterators stay valid across restarts and nodes.
func loadSecret(ctx context.Context, st *storage.Store) ([]byte, error) {
	kv, err := st.KV(ctx, serverBucket)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	if _, err := kv.Create(ctx, secretKey, secret); err == nil {
		return secret, nil
	} else if !errors.Is(err, jetstream.ErrKeyExists) {
		return nil, fmt.Errorf("storing iterator secret: %w", err)
	}
	e, err := kv.Get(ctx, secretKey)
	if err != nil {
		return nil, fmt.Errorf("reading iterator secret: %w", err)
	}
	return e.Value(), nil
}

// Run finishes state transitions (CREATING/UPDATING → ACTIVE, DELETING →
// gone) when their dwell ends, deletes closed shards once every record in
// them has expired, and (against an external cluster) follows metadata
// changes made by other nodes. It returns when ctx ends.
func (s *Service) Run(ctx context.Context) error {
	defer s.stopOnce.Do(func() { close(s.stopping) })
	done := make(chan error, 1)
	if !s.store.Embedded() {
		go func() { done <- s.reg.watch(ctx) }()
	} else {
		done <- nil
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return <-done
		case <-timer.C:
		case <-s.kick:
		}
		next := s.housekeep(ctx)
		wait := time.Minute
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(s.now()), time.Millisecond))
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// housekeep does the work that is due and returns when the next is.
func (s *Service) housekeep(ctx context.Context) time.Time {
	var next time.Time
	due := func(t time.Time) bool {
		if !t.After(s.now()) {
			return true
		}
		if next.IsZero() || t.Before(next) {
			next = t
		}
		return false
	}
	for _, m := range s.reg.all() {
		if m.Status != statusActive && due(m.ReadyAt) {
			if err := s.finishTransition(ctx, m.Name); err != nil {
				s.log.Warn("finishing stream transition", "stream", m.Name, "err", err)
				next = s.now().Add(time.Second)
			}
			continue
		}
		if t, err := s.consumerTransitions(ctx, m); err != nil {
			s.log.Warn("finishing consumer transitions", "stream", m.Name, "err", err)
			next = s.now().Add(time.Second)
		} else if !t.IsZero() {
			due(t)
		}
		for _, sh := range m.Shards {
			if sh.Closed && due(sh.ClosedAt.Add(m.retention())) {
				if err := s.dropShard(ctx, m.Name, sh.Index); err != nil {
					s.log.Warn("deleting expired shard", "stream", m.Name, "shard", sh.id(), "err", err)
				}
			}
		}
	}
	return next
}

func (s *Service) finishTransition(ctx context.Context, name string) error {
	m, _, err := s.reg.get(ctx, name)
	if err != nil || m == nil {
		return err
	}
	if m.Status == statusDeleting {
		return s.destroy(ctx, m)
	}
	if m.Status == statusCreating {
		// Idempotent: after a crash between CreateStream's metadata and its
		// logs, the logs are created here.
		for _, sh := range m.Shards {
			if err := s.store.CreateLog(ctx, sh.Log, m.retention()); err != nil {
				return err
			}
		}
	}
	_, err = s.reg.update(ctx, name, func(m *streamMeta) error {
		if m.Status == statusCreating || m.Status == statusUpdating {
			m.Status = statusActive
			m.ReadyAt = time.Time{}
		}
		return nil
	})
	return err
}

// destroy deletes a stream's logs, then its metadata.
func (s *Service) destroy(ctx context.Context, m *streamMeta) error {
	for _, sh := range m.Shards {
		if err := s.store.DeleteLog(ctx, sh.Log); err != nil {
			return err
		}
		s.throttle.forget(sh.Log)
	}
	return s.reg.remove(ctx, m.Name)
}

// dropShard removes a closed shard whose retention has passed.
func (s *Service) dropShard(ctx context.Context, name string, index int) error {
	gate := s.reg.lock(name)
	gate.Lock()
	defer gate.Unlock()
	var logToDelete string
	_, err := s.reg.update(ctx, name, func(m *streamMeta) error {
		for i, sh := range m.Shards {
			if sh.Index == index && sh.Closed {
				logToDelete = sh.Log
				m.Shards = append(m.Shards[:i], m.Shards[i+1:]...)
				return nil
			}
		}
		return nil
	})
	if err != nil || logToDelete == "" {
		return err
	}
	return s.store.DeleteLog(ctx, logToDelete)
}

// transition puts a stream in a dwell state (or finishes at once when
// StateDelay is 0).
func (s *Service) dwell() (time.Time, bool) {
	if s.o.StateDelay <= 0 {
		return time.Time{}, false
	}
	return s.now().Add(s.o.StateDelay), true
}

// Stream is the Go API's view of a stream (for the mapping engine).
type Stream struct {
	Name, ARN string
	Status    string
	Shards    []Shard
}

// Shard is one shard in the Go API.
type Shard struct {
	ID                                   string // shardId-000000000000
	LogID                                string // storage log id
	ParentShardID, AdjacentParentShardID string
	Closed                               bool
	EndSeq                               uint64 // closed shards: last storage seq that belongs to the shard
}

// Shards returns the stream's shards (open and closed, in index order).
// ErrStreamNotFound when there is no such stream.
func (s *Service) Shards(ctx context.Context, streamARN string) (Stream, error) {
	region, account, name, err := ParseStreamARN(streamARN)
	if err != nil || region != s.o.Region || account != s.o.AccountID {
		return Stream{}, fmt.Errorf("%w: %s", ErrStreamNotFound, streamARN)
	}
	m, _, err := s.reg.get(ctx, name)
	if err != nil {
		return Stream{}, err
	}
	if m == nil {
		return Stream{}, fmt.Errorf("%w: %s", ErrStreamNotFound, streamARN)
	}
	out := Stream{Name: m.Name, ARN: s.arn(m.Name), Status: m.Status}
	for _, sh := range m.Shards {
		out.Shards = append(out.Shards, Shard{
			ID: sh.id(), LogID: sh.Log, ParentShardID: sh.Parent, AdjacentParentShardID: sh.Adjacent,
			Closed: sh.Closed, EndSeq: sh.EndSeq,
		})
	}
	return out, nil
}

// WatchShards signals c whenever the stream's metadata changes (shard set,
// states, deletion). Signals coalesce. Call stop when done.
func (s *Service) WatchShards(streamARN string) (c <-chan struct{}, stop func()) {
	_, _, name, err := ParseStreamARN(streamARN)
	if err != nil {
		name = "\x00invalid"
	}
	return s.reg.subscribe(name)
}

func (s *Service) arn(name string) string { return StreamARN(s.o.Region, s.o.AccountID, name) }
