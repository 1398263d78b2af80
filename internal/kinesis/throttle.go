package kinesis

import (
	"sync"
	"time"
)

// Per-shard write limits, as AWS: 1 MiB/s and 1000 records/s. Each shard
// has two token buckets that refill continuously and hold at most one
// second's worth, so a shard may burst to its per-second limit and no more.
const (
	shardBytesPerSec   = 1 << 20
	shardRecordsPerSec = 1000
)

type throttler struct {
	mu sync.Mutex
	// shards is guarded by mu.
	shards map[string]*bucket
}

type bucket struct {
	bytes, records float64
	at             time.Time
}

func newThrottler() *throttler { return &throttler{shards: map[string]*bucket{}} }

// allow takes one record of n bytes from the shard's buckets, or reports
// that the shard is over its limit. A nil throttler allows everything.
func (t *throttler) allow(shardLog string, n int, now time.Time) bool {
	if t == nil {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.shards[shardLog]
	if b == nil {
		b = &bucket{bytes: shardBytesPerSec, records: shardRecordsPerSec, at: now}
		t.shards[shardLog] = b
	}
	if dt := now.Sub(b.at).Seconds(); dt > 0 {
		b.bytes = min(shardBytesPerSec, b.bytes+dt*shardBytesPerSec)
		b.records = min(shardRecordsPerSec, b.records+dt*shardRecordsPerSec)
		b.at = now
	}
	if b.records < 1 || b.bytes < float64(n) {
		return false
	}
	b.records--
	b.bytes -= float64(n)
	return true
}

func (t *throttler) forget(shardLog string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	delete(t.shards, shardLog)
	t.mu.Unlock()
}
