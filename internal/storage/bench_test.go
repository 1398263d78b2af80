package storage_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/penstock/penstock/internal/storage"
)

// The benchmarks below measure the storage ceiling that penstock's Kinesis
// API is compared against (`scripts/bench-compare.sh` runs them in the same
// invocation as the HTTP load generator):
//
//   - Raw/AtomicBatch: 500 × 1 KiB messages per JetStream atomic batch, 4
//     batches in flight, spoken directly on the NATS connection (no penstock
//     code), durability "always".
//   - Raw/AtomicBatchSharded: the same records laid out as penstock lays
//     out a PutRecords on a 4-shard stream: 4 batches of 125, one per
//     shard stream, concurrently (see the benchmark).
//   - Store/Append: the same load as Raw/AtomicBatch through Store.Append.
//   - Raw/DirectGet: read back 1,000 records per batch Direct Get.
//   - Store/Read: the same reads through Store.Read, a sequential reader,
//     so through a read cursor (pull consumer); Store/ReadDirect: the same
//     reads answered by Store.Read's batch Direct Get path.
//   - Store/Tail: the same records through a Tail (ordered consumer).
//
// Each reports records/s as a custom metric, and the CPU time of the whole
// process (client and embedded server) per record, which a busy machine
// disturbs less than the rate.

const (
	benchBatch    = 500
	benchInflight = 4
	benchRecord   = 1024
)

func benchStore(b *testing.B) (*storage.Store, string) {
	b.Helper()
	s, err := storage.Open(context.Background(), storage.Options{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	id := "bench/shardId-000000000000"
	if err := s.CreateLog(context.Background(), id, 24*time.Hour); err != nil {
		b.Fatal(err)
	}
	return s, id
}

// runBatches runs b.N batches with benchInflight workers and reports records/s.
func runBatches(b *testing.B, batch func() error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, benchInflight)
	b.SetBytes(benchBatch * benchRecord)
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU(b)
	for range benchInflight {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := batch(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.ReportMetric(float64(b.N*benchBatch)/el.Seconds(), "records/s")
	reportCPU(b, cpu0, b.N*benchBatch)
}

func BenchmarkRaw_AtomicBatch(b *testing.B) {
	s, id := benchStore(b)
	nc := s.Conn()
	subj := logSubject(b, s, id)
	payload := make([]byte, benchRecord)
	runBatches(b, func() error { return rawAtomicBatch(nc, subj, payload, benchBatch) })
}

// rawAtomicBatch publishes n messages of payload to subj as one JetStream
// atomic batch and waits for its acknowledgement, with nothing but the
// NATS client in between.
func rawAtomicBatch(nc *nats.Conn, subj string, payload []byte, n int) error {
	bid := nuid.Next()
	for i := 1; i <= n; i++ {
		m := &nats.Msg{Subject: subj, Data: payload, Header: nats.Header{}}
		m.Header.Set("Nats-Batch-Id", bid)
		m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i))
		if i < n {
			if err := nc.PublishMsg(m); err != nil {
				return err
			}
			continue
		}
		m.Header.Set("Nats-Batch-Commit", "1")
		resp, err := nc.RequestMsg(m, 30*time.Second)
		if err != nil {
			return err
		}
		var ack struct {
			Error *struct{ Description string } `json:"error"`
		}
		if err := json.Unmarshal(resp.Data, &ack); err != nil || ack.Error != nil {
			return fmt.Errorf("batch ack %s: %v", resp.Data, err)
		}
	}
	return nil
}

// BenchmarkRaw_AtomicBatchSharded is Raw_AtomicBatch with the data laid out
// as penstock lays out a PutRecords of 500 records on a 4-shard stream: each
// operation is 4 atomic batches of 125 messages, one per shard's stream,
// published concurrently, and done when all 4 are acknowledged. Same 4
// operations in flight, same records/s metric.
func BenchmarkRaw_AtomicBatchSharded(b *testing.B) {
	s, id := benchStore(b)
	nc := s.Conn()
	const shards = 4
	subjs := shardSubjects(b, s, id, shards)
	payload := make([]byte, benchRecord)
	runBatches(b, func() error {
		return onEachShard(subjs, func(subj string) error {
			return rawAtomicBatch(nc, subj, payload, benchBatch/shards)
		})
	})
}

// shardSubjects creates n-1 more logs beside id (n shards in all) and
// returns the subjects of all n.
func shardSubjects(b *testing.B, s *storage.Store, id string, n int) []string {
	subjs := []string{logSubject(b, s, id)}
	for i := 1; i < n; i++ {
		sid := fmt.Sprintf("bench/shardId-%012d", i)
		if err := s.CreateLog(context.Background(), sid, 24*time.Hour); err != nil {
			b.Fatal(err)
		}
		subjs = append(subjs, logSubject(b, s, sid))
	}
	return subjs
}

// onEachShard runs write once per subject, concurrently, and returns when
// all are done.
func onEachShard(subjs []string, write func(subj string) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(subjs))
	for i, subj := range subjs {
		wg.Go(func() { errs[i] = write(subj) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// BenchmarkRaw_PackedSharded is not a layout penstock uses. It measures the
// alternative that DESIGN.md's storage model rules out (a record is one
// message): the same 4 × 125 records per operation as
// Raw_AtomicBatchSharded, but each shard's 125 records packed into one
// JetStream message, published with a plain synced publish (durability
// "always": one write and one fsync, no atomic-batch staging). It is here
// so that the cost of that rule can be measured with one command:
//
//	go test ./internal/storage -run '^$' -bench 'Raw_(AtomicBatch|AtomicBatchSharded|PackedSharded)$' -benchtime 200x
func BenchmarkRaw_PackedSharded(b *testing.B) {
	s, id := benchStore(b)
	nc := s.Conn()
	const shards = 4
	subjs := shardSubjects(b, s, id, shards)
	// 125 records, each stored as penstock stores one (uvarint key length,
	// key, data) behind its uvarint length.
	var packed, rec []byte
	for i := range benchBatch / shards {
		pk := "pk-" + strconv.Itoa(i)
		rec = binary.AppendUvarint(rec[:0], uint64(len(pk)))
		rec = append(rec, pk...)
		rec = append(rec, make([]byte, benchRecord)...)
		packed = binary.AppendUvarint(packed, uint64(len(rec)))
		packed = append(packed, rec...)
	}
	runBatches(b, func() error {
		return onEachShard(subjs, func(subj string) error {
			resp, err := nc.Request(subj, packed, 30*time.Second)
			if err == nil && bytes.Contains(resp.Data, []byte(`"error"`)) {
				err = fmt.Errorf("publish ack %s", resp.Data)
			}
			return err
		})
	})
}

func BenchmarkStore_Append(b *testing.B) {
	s, id := benchStore(b)
	entries := make([]storage.Entry, benchBatch)
	for i := range entries {
		entries[i] = storage.Entry{PartitionKey: "pk-" + strconv.Itoa(i), Data: make([]byte, benchRecord)}
	}
	runBatches(b, func() error {
		_, err := s.Append(context.Background(), id, entries)
		return err
	})
}

// fill appends n records of benchRecord bytes.
func fill(b *testing.B, s *storage.Store, id string, n int) {
	entries := make([]storage.Entry, benchBatch)
	for i := range entries {
		entries[i] = storage.Entry{PartitionKey: "pk", Data: make([]byte, benchRecord)}
	}
	for done := 0; done < n; done += benchBatch {
		if _, err := s.Append(context.Background(), id, entries); err != nil {
			b.Fatal(err)
		}
	}
}

const readBatch = 1000

// processCPU is the CPU time (user and system) this process used so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process CPU time per record since cpu0.
func reportCPU(b *testing.B, cpu0 time.Duration, records int) {
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(records), "cpu-µs/record")
}

func benchRead(b *testing.B, read func(s *storage.Store, id string, seq uint64) (int, error)) {
	s, id := benchStore(b)
	const total = 100_000
	fill(b, s, id, total)
	b.ResetTimer()
	cpu0 := processCPU(b)
	start := time.Now()
	seq := uint64(1)
	for i := 0; i < b.N; i++ {
		if seq > total {
			seq = 1
		}
		n, err := read(s, id, seq)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatalf("read at %d returned nothing", seq)
		}
		seq += uint64(n)
	}
	el := time.Since(start)
	b.ReportMetric(float64(b.N*readBatch)/el.Seconds(), "records/s")
	reportCPU(b, cpu0, b.N*readBatch)
}

func BenchmarkRaw_DirectGet(b *testing.B) {
	// One long-lived reply subscription, as a careful raw client would use.
	var sub *nats.Subscription
	var inbox string
	benchRead(b, func(s *storage.Store, id string, seq uint64) (int, error) {
		nc := s.Conn()
		if sub == nil {
			inbox = nc.NewRespInbox()
			var err error
			if sub, err = nc.SubscribeSync(inbox); err != nil {
				return 0, err
			}
			if err := sub.SetPendingLimits(-1, -1); err != nil {
				return 0, err
			}
		}
		req := fmt.Sprintf(`{"seq":%d,"batch":%d}`, seq, readBatch)
		if err := nc.PublishRequest("$JS.API.DIRECT.GET."+logStream(b, s, id), inbox, []byte(req)); err != nil {
			return 0, err
		}
		n := 0
		for {
			m, err := sub.NextMsg(30 * time.Second)
			if err != nil {
				return 0, err
			}
			if len(m.Data) == 0 && m.Header.Get("Status") != "" {
				return n, nil
			}
			n++
		}
	})
}

// BenchmarkStore_Read reads sequentially, readBatch (>= the cursor
// threshold) at a time: every Read but the first of each pass is served by
// the cursor the previous one left.
func BenchmarkStore_Read(b *testing.B) {
	benchRead(b, func(s *storage.Store, id string, seq uint64) (int, error) {
		res, err := s.Read(context.Background(), id, seq, readBatch, 0)
		return len(res.Records), err
	})
}

// BenchmarkStore_ReadDirect makes the same reads through Store.Read's batch
// Direct Get path.
func BenchmarkStore_ReadDirect(b *testing.B) {
	benchRead(b, func(s *storage.Store, id string, seq uint64) (int, error) {
		res, err := storage.ReadDirect(context.Background(), s, id, seq, readBatch, 0)
		return len(res.Records), err
	})
}

func logStream(b *testing.B, s *storage.Store, id string) string {
	name, _, _ := storage.LogNames(id)
	return name
}

func logSubject(b *testing.B, s *storage.Store, id string) string {
	_, subj, _ := storage.LogNames(id)
	return subj
}

// BenchmarkStore_Tail reads the same 100,000 records as BenchmarkStore_Read
// through a Tail (ordered consumer), 1000 records per op.
func BenchmarkStore_Tail(b *testing.B) {
	s, id := benchStore(b)
	const total = 100_000
	fill(b, s, id, total)
	b.ResetTimer()
	cpu0 := processCPU(b)
	start := time.Now()
	var tl *storage.Tail
	got := 0
	for i := 0; i < b.N; i++ {
		if tl == nil || got >= total {
			if tl != nil {
				tl.Close()
			}
			var err error
			if tl, err = s.Tail(context.Background(), id, 1, 20_000); err != nil {
				b.Fatal(err)
			}
			got = 0
		}
		for want := min(readBatch, total-got); want > 0; {
			res, err := tl.Next(want, 0)
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Records) == 0 {
				<-tl.C
				continue
			}
			want -= len(res.Records)
			got += len(res.Records)
		}
	}
	el := time.Since(start)
	if tl != nil {
		tl.Close()
	}
	b.ReportMetric(float64(b.N*readBatch)/el.Seconds(), "records/s")
	reportCPU(b, cpu0, b.N*readBatch)
}
