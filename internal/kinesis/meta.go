package kinesis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream states.
const (
	statusCreating = "CREATING"
	statusActive   = "ACTIVE"
	statusUpdating = "UPDATING"
	statusDeleting = "DELETING"
)

// streamMeta is one stream's metadata: one KV entry, updated only by
// compare-and-set on its revision. Values read from the registry are shared
// and must not be modified; update works on a copy.
type streamMeta struct {
	Name           string            `json:"name"`
	Status         string            `json:"status"`
	Mode           string            `json:"mode"`
	Created        time.Time         `json:"created"`
	Epoch          int64             `json:"epoch"` // creation nanos: log ids and iterators bind to it
	RetentionHours int               `json:"retentionHours"`
	Shards         []shardMeta       `json:"shards"`
	NextShard      int               `json:"nextShard"`
	Tags           map[string]string `json:"tags,omitempty"`
	ReadyAt        time.Time         `json:"readyAt,omitzero"` // when a CREATING/UPDATING/DELETING dwell ends
	MaxRecordKiB   int               `json:"maxRecordKiB,omitempty"`
	Consumers      []consumerMeta    `json:"consumers,omitempty"`
}

// shardMeta is one shard. Hash keys are decimal strings.
type shardMeta struct {
	Index     int       `json:"index"`
	Parent    string    `json:"parent,omitempty"`
	Adjacent  string    `json:"adjacent,omitempty"`
	StartHash string    `json:"start"`
	EndHash   string    `json:"end"`
	Log       string    `json:"log"`
	Created   time.Time `json:"created"`
	Closed    bool      `json:"closed,omitempty"`
	EndSeq    uint64    `json:"endSeq,omitempty"`
	ClosedAt  time.Time `json:"closedAt,omitzero"`

	// start and end are StartHash and EndHash parsed (set by addShard and
	// prepare; shared by clones, never modified); startKey and endKey the
	// same as 16-byte big-endian keys (valid when keys is set).
	start, end       *big.Int
	startKey, endKey [16]byte
	keys             bool
}

// setKeys fills startKey and endKey from start and end.
func (sh *shardMeta) setKeys() {
	sh.keys = false
	if sh.start == nil || sh.end == nil || sh.start.Sign() < 0 || sh.end.Sign() < 0 || sh.start.BitLen() > 128 || sh.end.BitLen() > 128 {
		return
	}
	sh.start.FillBytes(sh.startKey[:])
	sh.end.FillBytes(sh.endKey[:])
	sh.keys = true
}

// containsKey is contains for a 16-byte big-endian hash key.
func (sh *shardMeta) containsKey(k *[16]byte) bool {
	if !sh.keys {
		return sh.contains(new(big.Int).SetBytes(k[:]))
	}
	return bytes.Compare(sh.startKey[:], k[:]) <= 0 && bytes.Compare(k[:], sh.endKey[:]) <= 0
}

func (sh *shardMeta) id() string { return shardID(sh.Index) }

func (sh *shardMeta) contains(h *big.Int) bool {
	start, end := sh.start, sh.end
	if start == nil || end == nil {
		start, _ = new(big.Int).SetString(sh.StartHash, 10)
		end, _ = new(big.Int).SetString(sh.EndHash, 10)
	}
	return start.Cmp(h) <= 0 && h.Cmp(end) <= 0
}

// prepare parses every shard's hash range once, before the metadata is
// shared.
func (m *streamMeta) prepare() {
	for i := range m.Shards {
		sh := &m.Shards[i]
		sh.start, _ = new(big.Int).SetString(sh.StartHash, 10)
		sh.end, _ = new(big.Int).SetString(sh.EndHash, 10)
		sh.setKeys()
	}
}

func (m *streamMeta) clone() *streamMeta {
	c := *m
	c.Shards = append([]shardMeta(nil), m.Shards...)
	c.Consumers = append([]consumerMeta(nil), m.Consumers...)
	if m.Tags != nil {
		c.Tags = make(map[string]string, len(m.Tags))
		for k, v := range m.Tags {
			c.Tags[k] = v
		}
	}
	return &c
}

func (m *streamMeta) shard(index int) *shardMeta {
	for i := range m.Shards {
		if m.Shards[i].Index == index {
			return &m.Shards[i]
		}
	}
	return nil
}

func (m *streamMeta) openShards() []*shardMeta {
	var out []*shardMeta
	for i := range m.Shards {
		if !m.Shards[i].Closed {
			out = append(out, &m.Shards[i])
		}
	}
	return out
}

func (m *streamMeta) recordKiB() int {
	if m.MaxRecordKiB == 0 {
		return defaultRecordKiB
	}
	return m.MaxRecordKiB
}

func (m *streamMeta) retention() time.Duration {
	return time.Duration(m.RetentionHours) * time.Hour
}

// logID names a shard's storage log. The stream's creation nanos make a
// re-created stream's logs distinct from the old ones.
func logID(stream string, index int, epoch int64) string {
	return fmt.Sprintf("%s/%s/%d", stream, shardID(index), epoch)
}

// addShard appends a new shard with the next index.
func (m *streamMeta) addShard(start, end *big.Int, parent, adjacent string, now time.Time) *shardMeta {
	idx := m.NextShard
	m.NextShard++
	m.Shards = append(m.Shards, shardMeta{
		Index: idx, Parent: parent, Adjacent: adjacent,
		StartHash: start.String(), EndHash: end.String(),
		Log: logID(m.Name, idx, m.Epoch), Created: now,
		start: new(big.Int).Set(start), end: new(big.Int).Set(end),
	})
	sh := &m.Shards[len(m.Shards)-1]
	sh.setKeys()
	return sh
}

// registry keeps every stream's metadata: the KV bucket is the truth, the
// cache (loaded at start, updated on every write and by the KV watcher in
// Run) answers reads without a round trip.
type registry struct {
	kv jetstream.KeyValue

	mu sync.Mutex
	// cache, locks and subs are guarded by mu.
	cache map[string]cached
	locks map[string]*sync.RWMutex
	subs  map[string]map[chan struct{}]struct{}
}

type cached struct {
	meta *streamMeta
	rev  uint64
}

// keyOf maps a stream name to its KV key. Names may hold dots anywhere
// ("." and "a..b" are valid), which KV keys may not begin or end with or
// repeat, so dots become '=' (never in a stream name).
func keyOf(name string) string { return strings.ReplaceAll(name, ".", "=") }

func nameOf(key string) string { return strings.ReplaceAll(key, "=", ".") }

func newRegistry(ctx context.Context, kv jetstream.KeyValue) (*registry, error) {
	r := &registry{kv: kv, cache: map[string]cached{}, locks: map[string]*sync.RWMutex{}, subs: map[string]map[chan struct{}]struct{}{}}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing streams: %w", err)
	}
	var names []string
	for k := range keys.Keys() {
		names = append(names, nameOf(k))
	}
	for _, name := range names {
		if _, _, err := r.load(ctx, name); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// lock returns the stream's write gate: writers hold it for reading, shard
// closing holds it for writing, so no Append lands in a shard after its
// EndSeq was taken.
func (r *registry) lock(name string) *sync.RWMutex {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.locks[name]
	if l == nil {
		l = &sync.RWMutex{}
		r.locks[name] = l
	}
	return l
}

// get returns the stream's metadata or nil.
func (r *registry) get(ctx context.Context, name string) (*streamMeta, uint64, error) {
	r.mu.Lock()
	c, ok := r.cache[name]
	r.mu.Unlock()
	if ok {
		return c.meta, c.rev, nil
	}
	return r.load(ctx, name)
}

// load reads the stream from KV into the cache.
func (r *registry) load(ctx context.Context, name string) (*streamMeta, uint64, error) {
	e, err := r.kv.Get(ctx, keyOf(name))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		r.forget(name, 0)
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading stream %s: %w", name, err)
	}
	m, err := decodeMeta(e.Value())
	if err != nil {
		return nil, 0, fmt.Errorf("reading stream %s: %w", name, err)
	}
	r.remember(m, e.Revision())
	return m, e.Revision(), nil
}

func decodeMeta(b []byte) (*streamMeta, error) {
	var m streamMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decoding metadata: %w", err)
	}
	m.prepare()
	return &m, nil
}

func (r *registry) remember(m *streamMeta, rev uint64) {
	r.mu.Lock()
	if c, ok := r.cache[m.Name]; !ok || c.rev < rev {
		r.cache[m.Name] = cached{meta: m, rev: rev}
	}
	r.mu.Unlock()
	r.notify(m.Name)
}

func (r *registry) forget(name string, rev uint64) {
	r.mu.Lock()
	c, ok := r.cache[name]
	if ok && (rev == 0 || c.rev <= rev) {
		delete(r.cache, name)
	}
	r.mu.Unlock()
	if ok {
		r.notify(name)
	}
}

// create stores a new stream; false when the name is taken.
func (r *registry) create(ctx context.Context, m *streamMeta) (bool, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return false, err
	}
	rev, err := r.kv.Create(ctx, keyOf(m.Name), b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("creating stream %s: %w", m.Name, err)
	}
	r.remember(m, rev)
	return true, nil
}

// update applies fn to a copy of the stream and stores it by compare-and-set,
// retrying on conflicts. fn returning an error aborts. nil meta = not found.
func (r *registry) update(ctx context.Context, name string, fn func(m *streamMeta) error) (*streamMeta, error) {
	for attempt := 0; ; attempt++ {
		var (
			cur *streamMeta
			rev uint64
			err error
		)
		if attempt == 0 {
			cur, rev, err = r.get(ctx, name)
		} else {
			cur, rev, err = r.load(ctx, name)
		}
		if err != nil {
			return nil, err
		}
		if cur == nil {
			return nil, nil
		}
		next := cur.clone()
		if err := fn(next); err != nil {
			return nil, err
		}
		b, err := json.Marshal(next)
		if err != nil {
			return nil, err
		}
		newRev, err := r.kv.Update(ctx, keyOf(name), b, rev)
		if err != nil {
			if attempt < 20 && isWrongRevision(err) {
				continue
			}
			return nil, fmt.Errorf("updating stream %s: %w", name, err)
		}
		r.remember(next, newRev)
		return next, nil
	}
}

func isWrongRevision(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return true
	}
	return errors.Is(err, jetstream.ErrKeyExists)
}

// remove deletes the stream's entry.
func (r *registry) remove(ctx context.Context, name string) error {
	if err := r.kv.Delete(ctx, keyOf(name)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("deleting stream %s: %w", name, err)
	}
	r.forget(name, 0)
	return nil
}

// all returns every cached stream sorted by name.
func (r *registry) all() []*streamMeta {
	r.mu.Lock()
	out := make([]*streamMeta, 0, len(r.cache))
	for _, c := range r.cache {
		out = append(out, c.meta)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// subscribe registers a coalescing signal for changes to one stream.
func (r *registry) subscribe(name string) (<-chan struct{}, func()) {
	c := make(chan struct{}, 1)
	r.mu.Lock()
	set := r.subs[name]
	if set == nil {
		set = map[chan struct{}]struct{}{}
		r.subs[name] = set
	}
	set[c] = struct{}{}
	r.mu.Unlock()
	var once sync.Once
	return c, func() {
		once.Do(func() {
			r.mu.Lock()
			delete(r.subs[name], c)
			if len(r.subs[name]) == 0 {
				delete(r.subs, name)
			}
			r.mu.Unlock()
		})
	}
}

func (r *registry) notify(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.subs[name] {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// watch applies KV changes made elsewhere (other nodes) to the cache until
// ctx ends.
func (r *registry) watch(ctx context.Context) error {
	w, err := r.kv.WatchAll(ctx, jetstream.UpdatesOnly())
	if err != nil {
		return fmt.Errorf("watching stream metadata: %w", err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return nil
			}
			if e == nil {
				continue
			}
			switch e.Operation() {
			case jetstream.KeyValueDelete, jetstream.KeyValuePurge:
				r.forget(nameOf(e.Key()), e.Revision())
			default:
				if m, err := decodeMeta(e.Value()); err == nil {
					r.remember(m, e.Revision())
				}
			}
		}
	}
}
