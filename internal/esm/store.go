package esm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// KV buckets of the engine.
const (
	bucketMappings    = "ESM_mappings"
	bucketCheckpoints = "ESM_checkpoints"
)

// mappingStore keeps mapping configs in KV, every update a compare-and-set.
type mappingStore struct {
	kv jetstream.KeyValue
}

var errNoMapping = errors.New("esm: mapping not found")

func (s *mappingStore) get(ctx context.Context, id string) (Mapping, uint64, error) {
	e, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Mapping{}, 0, errNoMapping
	}
	if err != nil {
		return Mapping{}, 0, fmt.Errorf("reading mapping %s: %w", id, err)
	}
	m, err := unmarshalStored(e.Value())
	return m, e.Revision(), err
}

func (s *mappingStore) create(ctx context.Context, m Mapping) error {
	b, err := m.marshalStored()
	if err != nil {
		return err
	}
	if _, err := s.kv.Create(ctx, m.UUID, b); err != nil {
		return fmt.Errorf("storing mapping %s: %w", m.UUID, err)
	}
	return nil
}

// update applies f to the mapping under compare-and-set, retrying on conflict.
// f returns an *awsapi.Error (as error) to refuse.
func (s *mappingStore) update(ctx context.Context, id string, f func(*Mapping) error) (Mapping, error) {
	for {
		m, rev, err := s.get(ctx, id)
		if err != nil {
			return Mapping{}, err
		}
		if err := f(&m); err != nil {
			return Mapping{}, err
		}
		b, err := m.marshalStored()
		if err != nil {
			return Mapping{}, err
		}
		_, err = s.kv.Update(ctx, id, b, rev)
		if err == nil {
			return m, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return Mapping{}, fmt.Errorf("updating mapping %s: %w", id, err)
		}
	}
}

func (s *mappingStore) delete(ctx context.Context, id string) error {
	if err := s.kv.Delete(ctx, id); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("deleting mapping %s: %w", id, err)
	}
	return nil
}

// list returns every mapping, ordered by UUID.
func (s *mappingStore) list(ctx context.Context) ([]Mapping, error) {
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing mappings: %w", err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	out := make([]Mapping, 0, len(keys))
	for _, k := range keys {
		m, _, err := s.get(ctx, k)
		if errors.Is(err, errNoMapping) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	sortMappings(out)
	return out, nil
}

// checkpoint is a shard's durable progress: every record below Next is
// done; Finished means a closed shard was read and processed to its end.
type checkpoint struct {
	Next     uint64 `json:"next"`
	Finished bool   `json:"finished,omitempty"`
}

type checkpointStore struct {
	kv jetstream.KeyValue
}

func checkpointKey(mapping, shardID string) string { return mapping + "." + shardID }

// get returns the checkpoint, ok=false when none was written.
func (s *checkpointStore) get(ctx context.Context, mapping, shardID string) (checkpoint, bool, error) {
	e, err := s.kv.Get(ctx, checkpointKey(mapping, shardID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return checkpoint{}, false, nil
	}
	if err != nil {
		return checkpoint{}, false, fmt.Errorf("reading checkpoint %s/%s: %w", mapping, shardID, err)
	}
	var c checkpoint
	if err := json.Unmarshal(e.Value(), &c); err != nil {
		return checkpoint{}, false, fmt.Errorf("decoding checkpoint %s/%s: %w", mapping, shardID, err)
	}
	return c, true, nil
}

func (s *checkpointStore) put(ctx context.Context, mapping, shardID string, c checkpoint) error {
	b, _ := json.Marshal(c)
	if _, err := s.kv.Put(ctx, checkpointKey(mapping, shardID), b); err != nil {
		return fmt.Errorf("writing checkpoint %s/%s: %w", mapping, shardID, err)
	}
	return nil
}

// deleteMapping removes every checkpoint of a mapping.
func (s *checkpointStore) deleteMapping(ctx context.Context, mapping string) error {
	lister, err := s.kv.ListKeysFiltered(ctx, mapping+".>")
	if err != nil {
		return fmt.Errorf("listing checkpoints of %s: %w", mapping, err)
	}
	var errs []error
	for k := range lister.Keys() {
		if strings.HasPrefix(k, mapping+".") {
			if err := s.kv.Purge(ctx, k); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
