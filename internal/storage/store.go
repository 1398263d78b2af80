// Package storage is penstock's only door to NATS JetStream.
//
// A Store is either an embedded nats-server running in this process with
// JetStream on a data directory (the default), or a connection to an external
// NATS cluster. Everything above this package is the same in both modes.
//
// What the package offers, and the error that means "not found" for each:
//
//   - Shard logs (shardlog.go): one JetStream stream per log, created with
//     CreateLog, written with Append (one atomic batch, one fsync), read with
//     Read (sequential readers through cached read cursors, pull consumers
//     kept between calls; other reads by batch Direct Get; cursor.go),
//     followed with Tail (an ordered consumer pushing records), located with
//     Info and SeqAtTime, and watched with Watch (wakes on append, no
//     polling). ErrLogNotFound.
//   - KV buckets (KV): JetStream key-value buckets, compare-and-set by revision.
//     jetstream.ErrKeyNotFound.
//   - Object stores (ObjectStore): blobs such as function code.
//     jetstream.ErrObjectNotFound.
//   - JetStream and Conn give packages with storage needs of their own (queues)
//     the raw handles. Names they create must not start with "PSL_" (shard logs).
//
// Durability: by default the embedded server runs with SyncAlways, so every
// acknowledged Append is on disk before the ack. Options.Durability = "fast"
// returns to JetStream's default (fsync every two minutes): a process crash
// loses nothing (the OS has the pages), a power loss or kernel crash may lose
// up to two minutes of acknowledged writes.
package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Durability settings for Options.Durability.
const (
	DurabilityAlways = "always" // fsync before every ack (default)
	DurabilityFast   = "fast"   // JetStream default: fsync every 2 minutes
)

// MaxPayload is the largest NATS message the embedded server accepts: a
// 10 MiB record plus headers and partition key.
const MaxPayload = 11 << 20

// Options configures Open.
type Options struct {
	// DataDir holds JetStream's files in embedded mode.
	DataDir string
	// NATSURL, when set, connects to an external NATS cluster instead of
	// starting an embedded server.
	NATSURL string
	// Replicas for every stream, KV bucket and object store. 0 means 1
	// embedded, 3 external.
	Replicas int
	// Durability is DurabilityAlways (default) or DurabilityFast.
	Durability string
	// ReadCursors bounds the read cursors (JetStream consumers serving
	// sequential Reads, see cursor.go), idle and in use. 0 means
	// DefaultReadCursors; negative turns cursors off (every Read is a batch
	// Direct Get).
	ReadCursors int
	// ReadCursorIdle is how long an unused read cursor is kept. 0 means
	// DefaultReadCursorIdle.
	ReadCursorIdle time.Duration
	Logger         *slog.Logger
}

// Store is an open connection to JetStream. It is safe for concurrent use.
type Store struct {
	srv      *server.Server // nil in external mode
	nc       *nats.Conn
	js       jetstream.JetStream
	replicas int
	log      *slog.Logger
	watch    *watchHub
	reads    *readMux
	cursors  *cursorCache // nil with Options.ReadCursors < 0
	// appenders holds one group-commit queue per log subject.
	appenders sync.Map
}

// Open starts the embedded server (or connects to opts.NATSURL) and returns a
// ready Store. Close it to flush and stop.
func Open(ctx context.Context, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{log: log, replicas: opts.Replicas}
	switch opts.Durability {
	case "", DurabilityAlways, DurabilityFast:
	default:
		return nil, fmt.Errorf("storage: unknown durability %q (want %q or %q)", opts.Durability, DurabilityAlways, DurabilityFast)
	}
	if opts.NATSURL == "" {
		if s.replicas == 0 {
			s.replicas = 1
		}
		dir := opts.DataDir
		if dir == "" {
			dir = "penstock-data"
		}
		dir, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("storage: data dir: %w", err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("storage: creating data dir: %w", err)
		}
		srv, err := server.NewServer(&server.Options{
			ServerName: "penstock",
			DontListen: true,
			JetStream:  true,
			StoreDir:   dir,
			SyncAlways: opts.Durability != DurabilityFast,
			MaxPayload: MaxPayload,
			NoSigs:     true,
			NoLog:      true,
			// Connections are in-process only; lift the pending limit so a
			// burst of large batches does not mark our own client slow.
			MaxPending:      256 << 20,
			JetStreamLimits: server.JSLimitOpts{MaxBatchInflightPerStream: 1000, MaxBatchInflightTotal: 50000},
		})
		if err != nil {
			return nil, fmt.Errorf("storage: configuring embedded nats-server: %w", err)
		}
		srv.Start()
		if !srv.ReadyForConnections(30 * time.Second) {
			srv.Shutdown()
			return nil, errors.New("storage: embedded nats-server did not become ready in 30s")
		}
		s.srv = srv
		nc, err := nats.Connect(srv.ClientURL(), nats.InProcessServer(srv), nats.Name("penstock"), nats.MaxReconnects(-1))
		if err != nil {
			srv.Shutdown()
			return nil, fmt.Errorf("storage: connecting in process: %w", err)
		}
		s.nc = nc
	} else {
		if s.replicas == 0 {
			s.replicas = 3
		}
		nc, err := nats.Connect(opts.NATSURL, nats.Name("penstock"), nats.MaxReconnects(-1))
		if err != nil {
			return nil, fmt.Errorf("storage: connecting to %s: %w", opts.NATSURL, err)
		}
		s.nc = nc
	}
	js, err := jetstream.New(s.nc, jetstream.WithPublishAsyncMaxPending(4000))
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("storage: jetstream context: %w", err)
	}
	s.js = js
	if _, err := js.AccountInfo(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("storage: jetstream not available: %w", err)
	}
	s.watch = newWatchHub(s.nc)
	if s.reads, err = newReadMux(s.nc); err != nil {
		s.Close()
		return nil, fmt.Errorf("storage: read subscription: %w", err)
	}
	if opts.ReadCursors >= 0 {
		n := opts.ReadCursors
		if n == 0 {
			n = DefaultReadCursors
		}
		s.cursors = newCursorCache(js, log, n, opts.ReadCursorIdle, s.srv == nil)
	}
	return s, nil
}

// Close stops the read cursors (against an external server it deletes the
// consumers of idle ones), drains the connection and, in embedded mode,
// shuts the server down (which flushes every stream to disk). Reads must
// have returned before Close is called.
func (s *Store) Close() error {
	var errs []error
	if s.cursors != nil {
		s.cursors.close()
	}
	if s.watch != nil {
		s.watch.close()
	}
	if s.reads != nil {
		s.reads.close()
	}
	if s.nc != nil {
		if err := s.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs = append(errs, fmt.Errorf("draining nats connection: %w", err))
		}
		// Drain is asynchronous; wait for it so the server sees a clean close.
		for i := 0; i < 200 && !s.nc.IsClosed(); i++ {
			time.Sleep(5 * time.Millisecond)
		}
		s.nc.Close()
	}
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
	}
	return errors.Join(errs...)
}

// JetStream returns the JetStream context for packages with storage of their
// own (queues, topics).
func (s *Store) JetStream() jetstream.JetStream { return s.js }

// Conn returns the NATS connection.
func (s *Store) Conn() *nats.Conn { return s.nc }

// Replicas is the replication factor to use for new streams.
func (s *Store) Replicas() int { return s.replicas }

// Embedded reports whether the store runs its own nats-server.
func (s *Store) Embedded() bool { return s.srv != nil }

// KV returns the key-value bucket with this name, creating it if absent.
// Buckets are created with per-key TTLs enabled (for leases).
func (s *Store) KV(ctx context.Context, bucket string) (jetstream.KeyValue, error) {
	kv, err := s.js.KeyValue(ctx, bucket)
	if err == nil {
		return kv, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("opening kv bucket %s: %w", bucket, err)
	}
	kv, err = s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:         bucket,
		Storage:        jetstream.FileStorage,
		Replicas:       s.replicas,
		History:        1,
		LimitMarkerTTL: time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("creating kv bucket %s: %w", bucket, err)
	}
	return kv, nil
}

// ObjectStore returns the object store with this name, creating it if absent.
func (s *Store) ObjectStore(ctx context.Context, bucket string) (jetstream.ObjectStore, error) {
	os, err := s.js.ObjectStore(ctx, bucket)
	if err == nil {
		return os, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("opening object store %s: %w", bucket, err)
	}
	os, err = s.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:   bucket,
		Storage:  jetstream.FileStorage,
		Replicas: s.replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("creating object store %s: %w", bucket, err)
	}
	return os, nil
}
