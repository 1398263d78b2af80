package kclient

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"golang.org/x/sync/errgroup"

	"github.com/penstock/penstock/internal/kclient/wire"
)

// LoadResult is what one load run measured.
type LoadResult struct {
	Records   int64
	Bytes     int64 // data bytes (partition keys not counted)
	Requests  int64
	Retried   int64 // records re-sent after a per-record failure (put)
	Elapsed   time.Duration
	Latencies []time.Duration // one per request, sorted
	// CPU is the user+system CPU time this process (the load generator)
	// used during the run, all its goroutines included; -1 if unknown.
	CPU time.Duration
}

// RecordsPerSec is Records over Elapsed.
func (r LoadResult) RecordsPerSec() float64 { return float64(r.Records) / r.Elapsed.Seconds() }

// MiBPerSec is data bytes over Elapsed, in MiB/s.
func (r LoadResult) MiBPerSec() float64 { return float64(r.Bytes) / (1 << 20) / r.Elapsed.Seconds() }

// Percentile returns the q-quantile (0..1) of the request latencies.
func (r LoadResult) Percentile(q float64) time.Duration {
	return Percentile(r.Latencies, q)
}

// Percentile returns the q-quantile of sorted durations (nearest rank).
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// PutLoad is a PutRecords load: Producers goroutines each send batches of
// Batch records of RecordSize random bytes with random partition keys,
// until Records are written or Duration has passed (whichever is set and
// comes first; at least one must be set).
type PutLoad struct {
	// Client sends the PutRecords requests, unless Wire is set: then the
	// lean client (package wire) does and Client is not used.
	Client     *kinesis.Client
	Wire       *wire.Client
	Stream     string
	Producers  int
	Records    int64 // 0 = no count limit
	RecordSize int
	Batch      int
	Duration   time.Duration // 0 = no time limit
}

// Run runs the load and measures it.
func (l PutLoad) Run(ctx context.Context) (LoadResult, error) {
	if l.Records <= 0 && l.Duration <= 0 {
		return LoadResult{}, fmt.Errorf("put load: give a record count or a duration")
	}
	if l.Producers < 1 || l.Batch < 1 || l.Batch > MaxBatchRecords || l.RecordSize < 1 || l.RecordSize > MaxRecordBytes-32 {
		return LoadResult{}, fmt.Errorf("put load: bad parameters: %d producers, batch %d, record size %d", l.Producers, l.Batch, l.RecordSize)
	}
	if int64(l.Batch)*int64(l.RecordSize+32) > MaxBatchBytes {
		return LoadResult{}, fmt.Errorf("put load: %d records of %d bytes exceed the 5 MiB PutRecords limit", l.Batch, l.RecordSize)
	}
	payload := make([]byte, l.RecordSize)
	_, _ = rand.Read(payload)
	keys := randomKeys(4096)

	var claimed atomic.Int64
	claim := func() int { // records for the next batch; 0 = done
		if l.Records <= 0 {
			return l.Batch
		}
		end := claimed.Add(int64(l.Batch))
		if over := end - l.Records; over > 0 {
			return max(0, l.Batch-int(over))
		}
		return l.Batch
	}
	results := make([]LoadResult, l.Producers)
	runCtx := ctx
	if l.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, l.Duration)
		defer cancel()
	}
	cpu := processCPU()
	start := time.Now()
	g, gctx := errgroup.WithContext(runCtx)
	for i := range l.Producers {
		g.Go(func() error {
			put := l.producer(payload, keys)
			res := &results[i]
			for k := i * 7; ; k++ {
				n := claim()
				if n == 0 || gctx.Err() != nil {
					return nil
				}
				pr, err := put(gctx, k*l.Batch, n)
				if err != nil {
					if runCtx.Err() != nil && ctx.Err() == nil {
						return nil // the duration is up; this batch is not counted
					}
					return err
				}
				res.Latencies = append(res.Latencies, pr.Latencies...)
				res.Requests += int64(pr.Requests)
				res.Retried += int64(pr.Retried)
				res.Records += int64(n)
				res.Bytes += int64(n * l.RecordSize)
			}
		})
	}
	err := g.Wait()
	total := merge(results, time.Since(start))
	total.CPU = cpuSince(cpu)
	return total, err
}

// producer returns one producer's put function: n records of payload with
// the keys from first on, through the SDK or the lean client.
func (l PutLoad) producer(payload []byte, keys []string) func(ctx context.Context, first, n int) (PutResult, error) {
	if l.Wire != nil {
		p := &WirePutter{Client: l.Wire, Stream: l.Stream, NoSequences: true}
		entries := make([]wire.Entry, l.Batch)
		data64 := base64.StdEncoding.AppendEncode(nil, payload) // encoded once: every record carries the same payload
		return func(ctx context.Context, first, n int) (PutResult, error) {
			for j := range n {
				entries[j] = wire.Entry{Data: payload, Data64: data64, PartitionKey: keys[(first+j)%len(keys)]}
			}
			return p.Put(ctx, entries[:n])
		}
	}
	p := &Putter{Client: l.Client, Stream: l.Stream}
	entries := make([]types.PutRecordsRequestEntry, l.Batch)
	return func(ctx context.Context, first, n int) (PutResult, error) {
		for j := range n {
			entries[j] = types.PutRecordsRequestEntry{Data: payload, PartitionKey: aws.String(keys[(first+j)%len(keys)])}
		}
		return p.Put(ctx, entries[:n])
	}
}

// cpuSince is the CPU time used since processCPU returned before.
func cpuSince(before time.Duration) time.Duration {
	now := processCPU()
	if before < 0 || now < 0 {
		return -1
	}
	return now - before
}

// GetLoad reads every shard of a stream from its trim horizon until caught
// up, GetRecords with Limit on each shard concurrently. Its latencies are
// those of the GetRecords calls that returned records.
type GetLoad struct {
	// Client lists the shards; it reads them too unless Wire is set: then
	// the lean client (package wire) does.
	Client *kinesis.Client
	Wire   *wire.Client
	Stream string
	Limit  int32
}

// Run runs the load and measures it.
func (l GetLoad) Run(ctx context.Context) (LoadResult, error) {
	res := LoadResult{CPU: processCPU()} // emit runs on Run's goroutine only
	r := &Reader{Client: l.Client, Stream: l.Stream, From: TrimHorizon, Limit: l.Limit}
	start := time.Now()
	var err error
	if l.Wire != nil {
		err = runShards(ctx, r, r.wireShard(l.Wire), func(b wireBatch) error {
			res.Requests++
			res.Records += int64(b.records)
			res.Bytes += b.bytes
			res.Latencies = append(res.Latencies, b.latency)
			return nil
		})
	} else {
		err = r.Run(ctx, func(b Batch) error {
			res.Requests++
			res.Records += int64(len(b.Records))
			for _, rec := range b.Records {
				res.Bytes += int64(len(rec.Data))
			}
			res.Latencies = append(res.Latencies, b.Latency)
			return nil
		})
	}
	res.Elapsed = time.Since(start)
	res.CPU = cpuSince(res.CPU)
	sort.Slice(res.Latencies, func(i, j int) bool { return res.Latencies[i] < res.Latencies[j] })
	return res, err
}

func merge(parts []LoadResult, elapsed time.Duration) LoadResult {
	total := LoadResult{Elapsed: elapsed}
	for _, p := range parts {
		total.Records += p.Records
		total.Bytes += p.Bytes
		total.Requests += p.Requests
		total.Retried += p.Retried
		total.Latencies = append(total.Latencies, p.Latencies...)
	}
	sort.Slice(total.Latencies, func(i, j int) bool { return total.Latencies[i] < total.Latencies[j] })
	return total
}

func randomKeys(n int) []string {
	keys := make([]string, n)
	b := make([]byte, 8)
	for i := range keys {
		_, _ = rand.Read(b)
		keys[i] = hex.EncodeToString(b)
	}
	return keys
}
