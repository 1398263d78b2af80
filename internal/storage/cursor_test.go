package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/penstock/penstock/internal/storage"
)

// checkFor polls fn every interval until it returns nil, failing the test
// with fn's last error after timeout (nats-server's helper of that name).
func checkFor(t testing.TB, timeout, interval time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(interval)
	}
}

func openOpts(t testing.TB, opts storage.Options) *storage.Store {
	t.Helper()
	if opts.DataDir == "" && opts.NATSURL == "" {
		opts.DataDir = t.TempDir()
	}
	s, err := storage.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// record returns the entry appended as the log's n-th record by appendSeq:
// its data names its position, and sizes vary.
func record(n int) storage.Entry {
	data := fmt.Appendf(nil, "record %d ", n)
	data = append(data, bytes.Repeat([]byte{byte('a' + n%26)}, n%97)...)
	return storage.Entry{PartitionKey: "pk-" + strconv.Itoa(n%13), Data: data}
}

// appendSeq appends records first..first+n-1 (see record) in batches of
// batch entries.
func appendSeq(t testing.TB, s *storage.Store, id string, first, n, batch int) {
	t.Helper()
	for done := 0; done < n; {
		k := min(batch, n-done)
		entries := make([]storage.Entry, k)
		for i := range entries {
			entries[i] = record(first + done + i)
		}
		seq, err := s.Append(context.Background(), id, entries)
		if err != nil {
			t.Fatal(err)
		}
		if seq != uint64(first+done) {
			t.Fatalf("Append of %d..: first seq %d", first+done, seq)
		}
		done += k
	}
}

// checkRecords checks that recs are the log's records from seq on, as
// appendSeq wrote them.
func checkRecords(t testing.TB, recs []storage.Record, seq uint64) {
	t.Helper()
	for i, r := range recs {
		want := record(int(seq) + i)
		if r.Seq != seq+uint64(i) || r.PartitionKey != want.PartitionKey || !bytes.Equal(r.Data, want.Data) || r.Time.IsZero() {
			t.Fatalf("record %d: got seq %d pk %q data %q, want seq %d pk %q data %q", i, r.Seq, r.PartitionKey, r.Data, seq+uint64(i), want.PartitionKey, want.Data)
		}
	}
}

func sameResult(a, b storage.ReadResult) error {
	if len(a.Records) != len(b.Records) || a.Pending != b.Pending {
		return fmt.Errorf("%d records pending %d, want %d records pending %d", len(a.Records), a.Pending, len(b.Records), b.Pending)
	}
	for i := range a.Records {
		x, y := a.Records[i], b.Records[i]
		if x.Seq != y.Seq || !x.Time.Equal(y.Time) || x.PartitionKey != y.PartitionKey || !bytes.Equal(x.Data, y.Data) {
			return fmt.Errorf("record %d: %+v, want %+v", i, x, y)
		}
	}
	return nil
}

func consumers(t testing.TB, s *storage.Store, id string) int {
	t.Helper()
	name, _, _ := storage.LogNames(id)
	st, err := s.JetStream().Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return st.CachedInfo().State.Consumers
}

func TestRead_CursorMatchesDirectGet(t *testing.T) {
	const total = 5000
	tests := []struct {
		name   string
		max    int
		cursor bool // the reads go through a cursor
	}{
		{"limit 10000", 10000, true},
		{"limit 1000", storage.MinCursorBatch, true},
		{"limit 1777", 1777, true},
		{"limit 999 (cursor from the second read)", storage.MinCursorBatch - 1, true},
		{"limit 100 (cursor from the second read)", 100, true},
		{"limit 7 (Direct Get)", 7, false},
	}
	s := openOpts(t, storage.Options{})
	ctx := t.Context()
	const id = "cursor/shardId-000000000000"
	if err := s.CreateLog(ctx, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	// Batches of several sizes, single appends among them.
	for first, b := 1, 0; first <= total; b++ {
		n := min([]int{1, 499, 1000, 3, 1}[b%5], total-first+1)
		appendSeq(t, s, id, first, n, n)
		first += n
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, before := storage.CursorStats(s)
			seq := uint64(1)
			for reads := 0; ; reads++ {
				got, err := s.Read(ctx, id, seq, tc.max, 0)
				if err != nil {
					t.Fatal(err)
				}
				want, err := storage.ReadDirect(ctx, s, id, seq, tc.max, 0)
				if err != nil {
					t.Fatal(err)
				}
				if err := sameResult(got, want); err != nil {
					t.Fatalf("read %d at %d: %v", reads, seq, err)
				}
				checkRecords(t, got.Records, seq)
				if len(got.Records) == 0 {
					if seq != total+1 {
						t.Fatalf("empty read at %d", seq)
					}
					break
				}
				if last := got.Records[len(got.Records)-1].Seq; got.Pending != total-last {
					t.Fatalf("pending after %d = %d, want %d", last, got.Pending, total-last)
				}
				seq += uint64(len(got.Records))
			}
			idle, all := storage.CursorStats(s)
			if want := before + map[bool]int{true: 1}[tc.cursor]; all != want || idle != all {
				t.Fatalf("cursors: %d idle, %d in all; want %d idle", idle, all, want)
			}
		})
	}
	if n := consumers(t, s, id); n != 5 {
		t.Fatalf("%d consumers on the log, want 5 (one cursor per reader)", n)
	}
}

func TestRead_Trimmed(t *testing.T) {
	s := openOpts(t, storage.Options{})
	ctx := t.Context()
	const id = "trim/shardId-000000000000"
	if err := s.CreateLog(ctx, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	appendSeq(t, s, id, 1, 300, 100)
	// A cursor waits at 101.
	res, err := s.Read(ctx, id, 1, 1000, 0)
	if err != nil || len(res.Records) != 300 {
		t.Fatalf("Read = %d records, %v", len(res.Records), err)
	}
	res, err = s.Read(ctx, id, 1, 1000, 100*1024)
	if err != nil || len(res.Records) != 300 {
		t.Fatalf("Read = %d records, %v", len(res.Records), err)
	}
	if _, err := s.Read(ctx, id, 101, 1000, 0); err != nil {
		t.Fatal(err)
	}
	name, _, _ := storage.LogNames(id)
	st, err := s.JetStream().Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	// Trim below 201: the cursors waiting at 301 and 1 (and a new one at 50)
	// now stand before the first retained record.
	if err := st.Purge(ctx, jetstream.WithPurgeSequence(201)); err != nil {
		t.Fatal(err)
	}
	appendSeq(t, s, id, 301, 50, 50)
	for _, seq := range []uint64{301, 1, 50, 200, 201} {
		res, err := s.Read(ctx, id, seq, 1000, 0)
		if err != nil {
			t.Fatal(err)
		}
		first := max(seq, 201)
		if want := 351 - int(first); len(res.Records) != want || res.Pending != 0 {
			t.Fatalf("Read at %d: %d records, pending %d; want %d", seq, len(res.Records), res.Pending, want)
		}
		checkRecords(t, res.Records, first)
	}
	// Everything trimmed: nothing, then what is appended next.
	if err := st.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint64{351, 10} {
		if res, err := s.Read(ctx, id, seq, 1000, 0); err != nil || len(res.Records) != 0 || res.Pending != 0 {
			t.Fatalf("Read at %d of a purged log = %+v, %v", seq, res, err)
		}
	}
	appendSeq(t, s, id, 351, 5, 5)
	for _, seq := range []uint64{351, 10} {
		res, err := s.Read(ctx, id, seq, 1000, 0)
		if err != nil || len(res.Records) != 5 {
			t.Fatalf("Read at %d after the purge = %d records, %v", seq, len(res.Records), err)
		}
		checkRecords(t, res.Records, 351)
	}
}

func TestRead_AppendsBetweenReads(t *testing.T) {
	s := openOpts(t, storage.Options{})
	ctx := t.Context()
	const id = "tip/shardId-000000000000"
	if err := s.CreateLog(ctx, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	seq, next := uint64(1), 1
	for round := range 60 {
		// Read at the tip (empty), append, read again at once.
		res, err := s.Read(ctx, id, seq, 10000, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Records) != 0 || res.Pending != 0 {
			t.Fatalf("round %d: read at the tip %d = %d records, pending %d", round, seq, len(res.Records), res.Pending)
		}
		n := 1 + round%3*400
		appendSeq(t, s, id, next, n, n)
		next += n
		for int(seq) < next {
			res, err := s.Read(ctx, id, seq, 10000, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Records) == 0 {
				t.Fatalf("round %d: read at %d after an append up to %d found nothing", round, seq, next-1)
			}
			checkRecords(t, res.Records, seq)
			seq += uint64(len(res.Records))
		}
	}
	if _, all := storage.CursorStats(s); all > 2 {
		t.Fatalf("%d cursors for one sequential reader", all)
	}
}

func TestRead_MaxBytes(t *testing.T) {
	s := openOpts(t, storage.Options{})
	ctx := t.Context()
	const id = "bytes/shardId-000000000000"
	if err := s.CreateLog(ctx, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	const total, size = 3000, 1000
	entries := make([]storage.Entry, 500)
	for i := range entries {
		entries[i] = storage.Entry{PartitionKey: "k", Data: bytes.Repeat([]byte{'x'}, size)}
	}
	for range total / len(entries) {
		if _, err := s.Append(ctx, id, entries); err != nil {
			t.Fatal(err)
		}
	}
	big := storage.Entry{PartitionKey: "k", Data: bytes.Repeat([]byte{'y'}, 100_000)}
	if _, err := s.Append(ctx, id, []storage.Entry{big, big}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		seq           uint64
		max, maxBytes int
		want          int // records; -1: at least one, within the limits
	}{
		{1, 1000, 0, 1000},
		{1, 2000, 0, 2000},
		{1, 1, 1, 1},
		{1, 1000, 1, 1},
		{1, 1000, size - 1, 1},
		{1, 1000, size, 1},
		{1, 1000, 2*size - 1, 1},
		{1, 1000, 100 * size, -1},
		{1, 1000, 10 << 20, 1000},
		{2990, 1000, 10 << 20, 13},
		{3001, 1000, 1000, 1},
		{3001, 1000, 0, 2},
		{3001, 1000, 150_000, 1},
		{3001, 1000, 201_000, 2},
		{2999, 1000, 50_000, 2},
		{2999, 1000, 150_000, 3},
		{3003, 1000, 1000, 0},
	}
	for _, tc := range tests {
		for _, path := range []string{"cursor", "direct"} {
			t.Run(fmt.Sprintf("%s seq %d max %d bytes %d", path, tc.seq, tc.max, tc.maxBytes), func(t *testing.T) {
				read := s.Read
				if path == "direct" {
					read = func(ctx context.Context, id string, seq uint64, max, maxBytes int) (storage.ReadResult, error) {
						return storage.ReadDirect(ctx, s, id, seq, max, maxBytes)
					}
				}
				res, err := read(ctx, id, tc.seq, tc.max, tc.maxBytes)
				if err != nil {
					t.Fatal(err)
				}
				data := 0
				for i, r := range res.Records {
					if r.Seq != tc.seq+uint64(i) {
						t.Fatalf("record %d has seq %d", i, r.Seq)
					}
					data += len(r.Data)
				}
				n := len(res.Records)
				switch {
				case tc.want >= 0 && n != tc.want:
					t.Fatalf("%d records, want %d", n, tc.want)
				case n > tc.max:
					t.Fatalf("%d records > max %d", n, tc.max)
				case tc.maxBytes > 0 && n > 1 && data > tc.maxBytes:
					t.Fatalf("%d bytes of data in %d records > maxBytes %d", data, n, tc.maxBytes)
				case tc.want < 0 && n < tc.maxBytes/(size+200):
					t.Fatalf("only %d records within %d bytes", n, tc.maxBytes)
				}
				if n > 0 {
					if want := uint64(total+2) - res.Records[n-1].Seq; res.Pending != want {
						t.Fatalf("pending %d, want %d", res.Pending, want)
					}
				}
			})
		}
	}
}

func TestRead_TwoReaders(t *testing.T) {
	s := openOpts(t, storage.Options{})
	ctx := t.Context()
	const id = "two/shardId-000000000000"
	if err := s.CreateLog(ctx, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	const total = 20000
	appendSeq(t, s, id, 1, total, 1000)
	tests := []struct {
		name   string
		starts []uint64
	}{
		{"same position", []uint64{1, 1}},
		{"different positions", []uint64{1, 7777}},
		{"four at two positions", []uint64{1, 1, 5000, 5000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make(chan error, len(tc.starts))
			for _, start := range tc.starts {
				wg.Go(func() {
					for seq := start; seq <= total; {
						res, err := s.Read(ctx, id, seq, 1000, 0)
						if err != nil {
							errs <- err
							return
						}
						if len(res.Records) == 0 || res.Records[0].Seq != seq || res.Pending != total-res.Records[len(res.Records)-1].Seq {
							errs <- fmt.Errorf("read at %d: %d records, pending %d", seq, len(res.Records), res.Pending)
							return
						}
						for i, r := range res.Records {
							if want := record(int(seq) + i); !bytes.Equal(r.Data, want.Data) {
								errs <- fmt.Errorf("record %d: data %q, want %q", r.Seq, r.Data, want.Data)
								return
							}
						}
						seq += uint64(len(res.Records))
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
		})
	}
	if idle, all := storage.CursorStats(s); idle != all || all > 8 {
		t.Fatalf("cursors: %d idle of %d", idle, all)
	}
}

func TestRead_CacheBound(t *testing.T) {
	s := openOpts(t, storage.Options{ReadCursors: 2, ReadCursorIdle: time.Hour})
	clock := &fakeClock{now: time.Now()}
	storage.SetCursorClock(s, clock.Now)
	ctx := t.Context()
	ids := []string{"bound/a", "bound/b", "bound/c"}
	for _, id := range ids {
		if err := s.CreateLog(ctx, id, time.Hour); err != nil {
			t.Fatal(err)
		}
		appendSeq(t, s, id, 1, 10, 10)
	}
	read := func(id string, seq uint64, want int) {
		t.Helper()
		res, err := s.Read(ctx, id, seq, 1000, 0)
		if err != nil || len(res.Records) != want {
			t.Fatalf("Read %s at %d = %d records, %v; want %d", id, seq, len(res.Records), err, want)
		}
		checkRecords(t, res.Records, seq)
	}
	read(ids[0], 1, 10)
	clock.Add(time.Second)
	read(ids[1], 1, 10)
	// Full: c is answered by a Direct Get while the idle cursors are fresh.
	read(ids[2], 1, 10)
	if _, all := storage.CursorStats(s); all != 2 || consumers(t, s, ids[2]) != 0 {
		t.Fatalf("%d cursors, %d consumers on c; want 2 and 0", all, consumers(t, s, ids[2]))
	}
	// Once the least recently used (a) has idled a tenth of the idle time,
	// c takes its place and a's consumer is deleted.
	clock.Add(time.Hour / 10)
	read(ids[2], 1, 10)
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		if n := consumers(t, s, ids[0]); n != 0 {
			return fmt.Errorf("%d consumers left on a", n)
		}
		return nil
	})
	if idle, all := storage.CursorStats(s); idle != 2 || all != 2 || consumers(t, s, ids[1]) != 1 || consumers(t, s, ids[2]) != 1 {
		t.Fatalf("%d idle of %d cursors", idle, all)
	}
	// b and c still serve their readers.
	appendSeq(t, s, ids[1], 11, 5, 5)
	read(ids[1], 11, 5)
	read(ids[2], 11, 0)
	read(ids[0], 11, 0)
}

func TestRead_IdleExpiry(t *testing.T) {
	const idle = time.Minute
	s := openOpts(t, storage.Options{ReadCursorIdle: idle})
	clock := &fakeClock{now: time.Now()}
	storage.SetCursorClock(s, clock.Now)
	ctx := t.Context()
	const id = "idle/shardId-000000000000"
	if err := s.CreateLog(ctx, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	appendSeq(t, s, id, 1, 10, 10)
	if _, err := s.Read(ctx, id, 1, 1000, 0); err != nil {
		t.Fatal(err)
	}
	clock.Add(idle - time.Second)
	storage.SweepCursors(ctx, s)
	if _, all := storage.CursorStats(s); all != 1 || consumers(t, s, id) != 1 {
		t.Fatalf("cursor expired early: %d cursors, %d consumers", all, consumers(t, s, id))
	}
	clock.Add(time.Second)
	storage.SweepCursors(ctx, s)
	if _, all := storage.CursorStats(s); all != 0 {
		t.Fatalf("after the idle time: %d cursors", all)
	}
	// The sweep or the janitor (woken by the expiry) deletes the consumer.
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		if n := consumers(t, s, id); n != 0 {
			return fmt.Errorf("%d consumers after the idle time", n)
		}
		return nil
	})
	// The janitor expires cursors on its own.
	s2 := openOpts(t, storage.Options{ReadCursorIdle: 20 * time.Millisecond})
	if err := s2.CreateLog(ctx, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	appendSeq(t, s2, id, 1, 10, 10)
	if _, err := s2.Read(ctx, id, 1, 1000, 0); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if _, all := storage.CursorStats(s2); all != 0 || consumers(t, s2, id) != 0 {
			return fmt.Errorf("%d cursors, %d consumers", all, consumers(t, s2, id))
		}
		return nil
	})
}

func TestRead_DeleteLog(t *testing.T) {
	s := openOpts(t, storage.Options{})
	ctx := t.Context()
	const id = "del/shardId-000000000000"
	if err := s.CreateLog(ctx, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	appendSeq(t, s, id, 1, 2000, 1000)
	for range 2 { // the second read misses: the first cursor waits at 1001
		if _, err := s.Read(ctx, id, 1, 1000, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, all := storage.CursorStats(s); all != 2 {
		t.Fatalf("%d cursors, want 2", all)
	}
	if err := s.DeleteLog(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, all := storage.CursorStats(s); all != 0 {
		t.Fatalf("%d cursors after DeleteLog", all)
	}
	for _, seq := range []uint64{1, 1001, 2001} {
		if _, err := s.Read(ctx, id, seq, 1000, 0); !errors.Is(err, storage.ErrLogNotFound) {
			t.Fatalf("Read at %d of a deleted log = %v", seq, err)
		}
	}
	// A log of the same name starts afresh.
	if err := s.CreateLog(ctx, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	appendSeq(t, s, id, 1, 1500, 500)
	for seq := uint64(1); seq <= 1500; {
		res, err := s.Read(ctx, id, seq, 1000, 0)
		if err != nil || len(res.Records) == 0 {
			t.Fatalf("Read at %d of the new log = %d records, %v", seq, len(res.Records), err)
		}
		checkRecords(t, res.Records, seq)
		seq += uint64(len(res.Records))
	}
}

// TestRead_Concurrent runs readers (sequential, same and different logs)
// against appends and deletes; run it with -race.
func TestRead_Concurrent(t *testing.T) {
	s := openOpts(t, storage.Options{ReadCursors: 6})
	ctx := t.Context()
	ids := []string{"conc/0", "conc/1", "conc/2"}
	for _, id := range ids {
		if err := s.CreateLog(ctx, id, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	const perLog = 3000
	var wg sync.WaitGroup
	var failed atomic.Value
	fail := func(err error) { failed.CompareAndSwap(nil, err) }
	for _, id := range ids {
		wg.Go(func() {
			for first := 1; first <= perLog; first += 250 {
				entries := make([]storage.Entry, 250)
				for i := range entries {
					entries[i] = record(first + i)
				}
				if _, err := s.Append(ctx, id, entries); err != nil {
					fail(err)
					return
				}
			}
		})
		for r := range 3 {
			wg.Go(func() {
				max := []int{1000, 10000, 50}[r]
				deadline := time.Now().Add(30 * time.Second)
				for seq := uint64(1); seq <= perLog; {
					if time.Now().After(deadline) {
						fail(fmt.Errorf("%s: reader stuck at %d", id, seq))
						return
					}
					res, err := s.Read(ctx, id, seq, max, 64*1024)
					if err != nil {
						fail(err)
						return
					}
					if len(res.Records) == 0 {
						time.Sleep(time.Millisecond) // at the tip: let the writer go on
					}
					for i, r := range res.Records {
						if want := record(int(seq) + i); r.Seq != seq+uint64(i) || !bytes.Equal(r.Data, want.Data) {
							fail(fmt.Errorf("%s: record %d = seq %d %q", id, seq+uint64(i), r.Seq, r.Data))
							return
						}
					}
					seq += uint64(len(res.Records))
				}
			})
		}
	}
	// A log deleted under its readers.
	const doomed = "conc/doomed"
	if err := s.CreateLog(ctx, doomed, time.Hour); err != nil {
		t.Fatal(err)
	}
	appendSeq(t, s, doomed, 1, 5000, 1000)
	for range 2 {
		wg.Go(func() {
			for seq := uint64(1); ; {
				res, err := s.Read(ctx, doomed, seq, 1000, 0)
				if errors.Is(err, storage.ErrLogNotFound) {
					return
				}
				if err != nil {
					fail(err)
					return
				}
				if seq += uint64(len(res.Records)); seq > 5000 {
					seq = 1
				}
			}
		})
	}
	time.Sleep(10 * time.Millisecond)
	if err := s.DeleteLog(ctx, doomed); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	if idle, all := storage.CursorStats(s); idle != all || all > 6 {
		t.Fatalf("cursors: %d idle of %d (bound 6)", idle, all)
	}
}

// TestRead_External runs cursor reads against a NATS server reached over
// TCP; Close deletes the idle cursors' consumers there.
func TestRead_External(t *testing.T) {
	ns, err := natsserver.NewServer(&natsserver.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	ctx := t.Context()
	s, err := storage.Open(ctx, storage.Options{NATSURL: ns.ClientURL(), Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			s.Close()
		}
	}()
	const id = "ext/shardId-000000000000"
	if err := s.CreateLog(ctx, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	appendSeq(t, s, id, 1, 2500, 500)
	for seq := uint64(1); seq <= 2500; {
		got, err := s.Read(ctx, id, seq, 1000, 0)
		if err != nil {
			t.Fatal(err)
		}
		want, err := storage.ReadDirect(ctx, s, id, seq, 1000, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := sameResult(got, want); err != nil {
			t.Fatalf("read at %d: %v", seq, err)
		}
		checkRecords(t, got.Records, seq)
		seq += uint64(len(got.Records))
	}
	if n := consumers(t, s, id); n != 1 {
		t.Fatalf("%d consumers, want 1", n)
	}
	closed = true
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := storage.Open(ctx, storage.Options{NATSURL: ns.ClientURL(), Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if n := consumers(t, s2, id); n != 0 {
		t.Fatalf("%d consumers after Close, want 0", n)
	}
}

func TestAckMeta(t *testing.T) {
	tests := []struct {
		reply, consumer string
		seq, dseq       uint64
		ts              int64
		pending         uint64
		ok              bool
	}{
		{"$JS.ACK.PSL_x.psr_1.1.42.7.1700000000123456789.9", "psr_1", 42, 7, 1700000000123456789, 9, true},
		{"$JS.ACK._.ACCHASH.PSL_x.psr_2.1.43.8.1700000000123456789.0.Rnd", "psr_2", 43, 8, 1700000000123456789, 0, true},
		{"$JS.ACK.dom.ACCHASH.PSL_x.psr_3.1.44.9.5.1", "psr_3", 44, 9, 5, 1, true},
		{"$JS.ACK.PSL_x.psr_1.1.x.7.1.9", "psr_1", 0, 0, 0, 0, false},
		{"$JS.ACK.PSL_x.psr_1.1.42.y.1.9", "psr_1", 0, 0, 0, 0, false},
		{"$JS.ACK.PSL_x.psr_1.1.42", "psr_1", 0, 0, 0, 0, false},
		{"_INBOX.abc", "", 0, 0, 0, 0, false},
	}
	for _, tc := range tests {
		seq, dseq, ts, pending, ok := storage.AckMeta(tc.reply)
		if ok != tc.ok || ok && (seq != tc.seq || dseq != tc.dseq || ts != tc.ts || pending != tc.pending) {
			t.Errorf("AckMeta(%q) = %d %d %d %d %v", tc.reply, seq, dseq, ts, pending, ok)
		}
		if c := storage.AckConsumer(tc.reply); c != tc.consumer {
			t.Errorf("AckConsumer(%q) = %q, want %q", tc.reply, c, tc.consumer)
		}
	}
}

func TestRead_CursorGone(t *testing.T) {
	s := openOpts(t, storage.Options{})
	ctx := t.Context()
	const id = "gone/shardId-000000000000"
	if err := s.CreateLog(ctx, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	appendSeq(t, s, id, 1, 3000, 1000)
	if _, err := s.Read(ctx, id, 1, 1000, 0); err != nil {
		t.Fatal(err)
	}
	// The server lost the consumer (it expired, or a restart dropped it):
	// the Read at its position is answered anyway, and the cursor is gone.
	name, _, _ := storage.LogNames(id)
	st, err := s.JetStream().Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	for n := range st.ConsumerNames(ctx).Name() {
		if err := st.DeleteConsumer(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.Read(ctx, id, 1001, 1000, 0)
	if err != nil || len(res.Records) != 1000 {
		t.Fatalf("Read after the consumer vanished = %d records, %v", len(res.Records), err)
	}
	checkRecords(t, res.Records, 1001)
	if _, all := storage.CursorStats(s); all != 0 {
		t.Fatalf("%d cursors, want 0", all)
	}
	// A log deleted while a reader holds its cursor: the cursor does not
	// come back.
	if _, err := s.Read(ctx, id, 2001, 1000, 0); err != nil {
		t.Fatal(err)
	}
	release, ok := storage.HoldCursor(s, id, 3001)
	if !ok {
		t.Fatal("no cursor waiting at 3001")
	}
	if err := s.DeleteLog(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, all := storage.CursorStats(s); all != 1 {
		t.Fatalf("%d cursors while one is held, want 1", all)
	}
	release(3001)
	if idle, all := storage.CursorStats(s); idle != 0 || all != 0 {
		t.Fatalf("%d idle of %d cursors after the held one came back, want 0", idle, all)
	}
}

// TestRead_MaxBytesSweep reads through one cursor with byte budgets that
// differ by one byte from read to read, so that some pull requests are
// served exactly to their last byte (which the server ends without a
// status).
func TestRead_MaxBytesSweep(t *testing.T) {
	s := openOpts(t, storage.Options{})
	ctx := t.Context()
	const id = "sweep/shardId-000000000000"
	if err := s.CreateLog(ctx, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	entries := make([]storage.Entry, 1000)
	for i := range entries {
		entries[i] = storage.Entry{PartitionKey: "k", Data: bytes.Repeat([]byte{'d'}, 100)}
	}
	for range 8 {
		if _, err := s.Append(ctx, id, entries); err != nil {
			t.Fatal(err)
		}
	}
	seq := uint64(1)
	for i := range 500 {
		maxBytes := 1000 + i
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		res, err := s.Read(rctx, id, seq, 1000, maxBytes)
		cancel()
		if err != nil {
			t.Fatalf("read %d at %d with maxBytes %d: %v", i, seq, maxBytes, err)
		}
		n := len(res.Records)
		if n == 0 || n*100 > maxBytes || res.Records[0].Seq != seq || res.Pending != 8000-res.Records[n-1].Seq {
			t.Fatalf("read %d at %d with maxBytes %d: %d records, pending %d", i, seq, maxBytes, n, res.Pending)
		}
		seq += uint64(n)
	}
	if idle, all := storage.CursorStats(s); idle != 1 || all != 1 {
		t.Fatalf("%d idle of %d cursors, want the one", idle, all)
	}
}

func TestRead_SmallReads(t *testing.T) {
	s := openOpts(t, storage.Options{})
	ctx := t.Context()
	const id = "small/shardId-000000000000"
	if err := s.CreateLog(ctx, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	appendSeq(t, s, id, 1, 3000, 1000)
	read := func(seq uint64, max int) int {
		t.Helper()
		res, err := s.Read(ctx, id, seq, max, 0)
		if err != nil || len(res.Records) == 0 {
			t.Fatalf("Read at %d = %d records, %v", seq, len(res.Records), err)
		}
		checkRecords(t, res.Records, seq)
		return len(res.Records)
	}
	cursors := func() int {
		_, all := storage.CursorStats(s)
		return all
	}
	// One-off reads at scattered positions leave no cursors.
	for _, seq := range []uint64{1, 500, 2500, 1200, 7} {
		read(seq, 200)
	}
	if n := cursors(); n != 0 {
		t.Fatalf("%d cursors after one-off reads", n)
	}
	// Nor does a sequential reader taking fewer than 100 records a time.
	for seq := uint64(1); seq < 1000; {
		seq += uint64(read(seq, 99))
	}
	if n := cursors(); n != 0 {
		t.Fatalf("%d cursors after sequential reads of 99", n)
	}
	// A sequential reader taking 100 gets one from its second read on.
	for seq := uint64(1); seq < 1000; {
		seq += uint64(read(seq, 100))
	}
	if idle, all := storage.CursorStats(s); idle != 1 || all != 1 || consumers(t, s, id) != 1 {
		t.Fatalf("%d idle of %d cursors after sequential reads of 100, want 1", idle, all)
	}
}
