package storage

import (
	"context"
	"time"
)

// LogNames exposes logNames to the external test package.
var LogNames = logNames

// TailBuffered reports how many records a Tail holds, for tests that need
// a known buffer before calling Next.
func TailBuffered(t *Tail) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.buf)
}

// MinCursorBatch exposes the smallest Read that opens a read cursor on a miss.
const MinCursorBatch = minCursorBatch

// ReadDirect answers a Read with a batch Direct Get, never a cursor.
func ReadDirect(ctx context.Context, s *Store, id string, seq uint64, n, maxBytes int) (ReadResult, error) {
	name, _, _ := logNames(id)
	return s.readDirect(ctx, id, name, max(seq, 1), max(n, 1), maxBytes)
}

// CursorStats reports the read cursors idle in the cache and in all.
func CursorStats(s *Store) (idle, total int) { return s.cursors.stats() }

// SetCursorClock replaces the clock the cursor cache ages cursors by.
func SetCursorClock(s *Store, now func() time.Time) {
	s.cursors.mu.Lock()
	defer s.cursors.mu.Unlock()
	s.cursors.now = now
}

// SweepCursors expires idle cursors by the cache's clock and deletes the
// consumers of every cursor that left the cache, now.
func SweepCursors(ctx context.Context, s *Store) {
	s.cursors.expire()
	s.cursors.deleteConsumers(ctx, s.cursors.takeDoomed())
}

// AckMeta exposes ackMeta and ackConsumer.
var (
	AckMeta     = ackMeta
	AckConsumer = ackConsumer
)

// HoldCursor checks out the idle cursor waiting at (id, seq), as a Read
// does; release puts it back waiting at next.
func HoldCursor(s *Store, id string, seq uint64) (release func(next uint64), ok bool) {
	name, _, _ := logNames(id)
	cur := s.cursors.checkout(name, seq)
	if cur == nil {
		return nil, false
	}
	return func(next uint64) { s.cursors.put(cur, next) }, true
}
