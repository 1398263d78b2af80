package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/penstock/penstock/internal/esm"
	"github.com/penstock/penstock/internal/server"
	"github.com/penstock/penstock/internal/storage"
)

// runBenchE2E is `penstock bench e2e`: records put into a 4-shard stream
// travel through an event source mapping to a no-op Go function. For each
// batch size it reports end-to-end latency (record arrival in storage →
// the engine starting the invoke that carries it) at a fixed put rate, and
// how fast a filled stream drains (records/s).
//
// The function is this binary: its bootstrap runs
// `penstock bench e2e --as-function`, an aws-lambda-go handler that does
// nothing, so no Go toolchain is needed.
func runBenchE2E(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("penstock bench e2e", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var (
		asFunction = fs.Bool("as-function", false, "run as the no-op Lambda function (used by the bench's bootstrap)")
		rate       = fs.Int("rate", 1000, "records/s for the latency phase")
		duration   = fs.Duration("duration", 10*time.Second, "length of the latency phase per batch size")
		drain      = fs.Int("drain", 200000, "records to fill the stream with for the drain phase (batch size 1 uses a tenth)")
		batches    = fs.String("batch-sizes", "1,100,10000", "batch sizes to measure")
		shards     = fs.Int("shards", 4, "shards of the stream")
		dataDir    = fs.String("data-dir", "", "data directory of the in-process server (default: a temp dir)")
		durability = fs.String("durability", storage.DurabilityAlways, "in-process storage durability: always or fast")
		endpoint   = fs.String("endpoint", "", "run against this penstock (on this machine: the function is this binary) instead of an in-process server")
		cpuProfile = fs.String("cpuprofile", "", "write a CPU profile of each drain phase to <file>-<batch size>")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *asFunction {
		if out := e.getenv("PENSTOCK_BENCH_OUT"); out != "" {
			lambda.StartWithOptions(reportingHandler(out), lambda.WithContext(ctx))
			return nil
		}
		lambda.StartWithOptions(noopHandler{}, lambda.WithContext(ctx))
		return nil
	}
	var sizes []int
	for _, s := range strings.Split(*batches, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil || n < 1 || n > 10000 {
			return fmt.Errorf("bench e2e: bad batch size %q", s)
		}
		sizes = append(sizes, n)
	}
	if *endpoint != "" {
		out, err := os.CreateTemp("", "penstock-bench-e2e-*.log")
		if err != nil {
			return err
		}
		out.Close()
		defer os.Remove(out.Name())
		b := &e2eBench{url: *endpoint, region: "us-east-1", shards: *shards, e: e, out: out.Name()}
		return b.run(ctx, sizes, *rate, *duration, *drain)
	}
	dir := *dataDir
	if dir == "" {
		d, err := os.MkdirTemp("", "penstock-bench-e2e")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	cfg := server.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = dir
	cfg.Durability = *durability
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	srv, err := server.New(sctx, cfg, nil)
	if err != nil {
		return fmt.Errorf("bench e2e: starting server: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(sctx) }()
	defer func() { stop(); <-done }()
	b := &e2eBench{url: srv.URL(), region: srv.Config().Region, engine: srv.Mappings(), shards: *shards, e: e, profile: *cpuProfile}
	return b.run(ctx, sizes, *rate, *duration, *drain)
}

func (b *e2eBench) run(ctx context.Context, sizes []int, rate int, duration time.Duration, drain int) error {
	e := b.e
	if err := b.init(ctx); err != nil {
		return fmt.Errorf("bench e2e: %w", err)
	}
	if b.engine == nil {
		fmt.Fprintln(e.stderr, "latency measured in the function: handler start − approximateArrivalTimestamp (millisecond resolution)")
	}
	const row = "%10v %7v %8v %11v %11v %11v %8v %16v\n"
	fmt.Fprintf(e.stdout, row, "batch size", "rate/s", "records", "p50", "p99", "max", "drained", "drain records/s")
	for i, size := range sizes {
		lat, err := b.latency(ctx, fmt.Sprintf("lat-%d-%d", i, time.Now().UnixNano()), size, rate, duration)
		if err != nil {
			return fmt.Errorf("bench e2e: latency at batch size %d: %w", size, err)
		}
		n := drain
		if size == 1 {
			n = max(n/10, 1)
		}
		rps, err := b.drain(ctx, fmt.Sprintf("drain-%d-%d", i, time.Now().UnixNano()), size, n)
		if err != nil {
			return fmt.Errorf("bench e2e: drain at batch size %d: %w", size, err)
		}
		fmt.Fprintf(e.stdout, row, size, rate, lat.n, fmtMs(lat.p50), fmtMs(lat.p99), fmtMs(lat.max), n, fmt.Sprintf("%.0f", rps))
	}
	return nil
}

func fmtMs(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d.Microseconds())/1000) }

type e2eBench struct {
	url, region string
	engine      *esm.Engine // nil with --endpoint: the function reports to out
	out         string
	streams     map[string]string // mapping UUID -> stream name (--endpoint)
	fn          string            // the function's name
	shards      int
	e           env
	// profile: CPU profile of each drain phase to <profile>-<batch size>.
	profile string
	k       *kinesis.Client
	l       *awslambda.Client

	mu      sync.Mutex
	samples map[string][]time.Duration // by mapping UUID
	counts  map[string]*atomic.Int64
}

func (b *e2eBench) init(ctx context.Context) error {
	cfg := aws.Config{Region: b.region, BaseEndpoint: aws.String(b.url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "secret", "")}
	b.k = kinesis.NewFromConfig(cfg)
	b.l = awslambda.NewFromConfig(cfg)
	b.samples = map[string][]time.Duration{}
	b.counts = map[string]*atomic.Int64{}
	b.streams = map[string]string{}
	b.fn = fmt.Sprintf("bench-noop-%d", time.Now().UnixNano())
	var env *ltypes.Environment
	if b.engine == nil {
		env = &ltypes.Environment{Variables: map[string]string{"PENSTOCK_BENCH_OUT": b.out}}
	} else {
		b.engine.SetObserver(b.observe)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	exe, _ = filepath.Abs(exe)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "#!/bin/sh\nexec '%s' bench e2e --as-function\n", strings.ReplaceAll(exe, "'", `'\''`))
	if err := zw.Close(); err != nil {
		return err
	}
	_, err = b.l.CreateFunction(ctx, &awslambda.CreateFunctionInput{
		FunctionName: aws.String(b.fn), Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String("arn:aws:iam::000000000000:role/bench"), Code: &ltypes.FunctionCode{ZipFile: buf.Bytes()},
		MemorySize: aws.Int32(128), Timeout: aws.Int32(60), Environment: env,
	})
	return err
}

// observe is the engine's invoke observer (in-process mode).
func (b *e2eBench) observe(uuid string, start time.Time, arrivals []time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.counts[uuid]; c != nil {
		c.Add(int64(len(arrivals)))
	}
	if s, ok := b.samples[uuid]; ok {
		for _, a := range arrivals {
			s = append(s, start.Sub(a))
		}
		b.samples[uuid] = s
	}
}

func (b *e2eBench) stream(ctx context.Context, name string) (string, error) {
	if _, err := b.k.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(int32(b.shards))}); err != nil {
		return "", err
	}
	for ctx.Err() == nil {
		d, err := b.k.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err != nil {
			return "", err
		}
		if d.StreamDescriptionSummary.StreamStatus == ktypes.StreamStatusActive {
			return *d.StreamDescriptionSummary.StreamARN, nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return "", ctx.Err()
}

// mapping creates the mapping and waits until it is Enabled.
func (b *e2eBench) mapping(ctx context.Context, arn string, size int, sample bool) (string, error) {
	out, err := b.l.CreateEventSourceMapping(ctx, &awslambda.CreateEventSourceMappingInput{
		EventSourceArn: aws.String(arn), FunctionName: aws.String(b.fn),
		StartingPosition: ltypes.EventSourcePositionTrimHorizon, BatchSize: aws.Int32(int32(size)),
	})
	if err != nil {
		return "", err
	}
	id := *out.UUID
	b.mu.Lock()
	b.streams[id] = arn[strings.LastIndex(arn, "/")+1:]
	b.counts[id] = &atomic.Int64{}
	if sample {
		b.samples[id] = make([]time.Duration, 0, 1<<16)
	}
	b.mu.Unlock()
	for ctx.Err() == nil {
		g, err := b.l.GetEventSourceMapping(ctx, &awslambda.GetEventSourceMappingInput{UUID: &id})
		if err != nil {
			return "", err
		}
		if *g.State == "Enabled" {
			return id, nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return "", ctx.Err()
}

func (b *e2eBench) count(id string) int64 {
	if b.engine == nil {
		n, _ := b.reported(id)
		return n
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.counts[id].Load()
}

// reported reads what the function wrote for the mapping's stream: records
// invoked and per-record latencies (--endpoint mode).
func (b *e2eBench) reported(id string) (int64, []time.Duration) {
	b.mu.Lock()
	stream := b.streams[id]
	b.mu.Unlock()
	data, err := os.ReadFile(b.out)
	if err != nil {
		return 0, nil
	}
	var n int64
	var lat []time.Duration
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != stream {
			continue
		}
		var c int64
		fmt.Sscan(f[1], &c)
		n += c
		for _, x := range f[2:] {
			var us int64
			if _, err := fmt.Sscan(x, &us); err == nil {
				lat = append(lat, time.Duration(us)*time.Microsecond)
			}
		}
	}
	return n, lat
}

// noopHandler is the benchmark's no-op function. As a lambda.Handler it
// gets the event as received from the Runtime API (GET /next, read in
// full) and returns {} without decoding it: a function that ignores its
// input. (A func handler makes aws-lambda-go decode the event with
// encoding/json first, ~180–250 ms for a 3.3 MB 10,000-record event on
// this host, which measured the decoder, not the engine.)
type noopHandler struct{}

func (noopHandler) Invoke(context.Context, []byte) ([]byte, error) { return []byte("{}"), nil }

// reportingHandler is the --endpoint function: per invoke it appends
// "<stream> <records> <latency µs>..." to out, the latency being handler
// start − approximateArrivalTimestamp (millisecond resolution). The start
// is taken when the handler gets the raw event, before decoding it.
type reportingHandler string

func (out reportingHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	start := time.Now()
	var ev events.KinesisEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	if err := out.report(start, ev); err != nil {
		return nil, err
	}
	return []byte("{}"), nil
}

func (out reportingHandler) report(start time.Time, ev events.KinesisEvent) error {
	if len(ev.Records) == 0 {
		return nil
	}
	arn := ev.Records[0].EventSourceArn
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %d", arn[strings.LastIndex(arn, "/")+1:], len(ev.Records))
	if len(ev.Records) <= 1000 {
		for _, r := range ev.Records {
			fmt.Fprintf(&sb, " %d", start.Sub(r.Kinesis.ApproximateArrivalTimestamp.Time).Microseconds())
		}
	}
	sb.WriteByte('\n')
	f, err := os.OpenFile(string(out), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(sb.String())
	return err
}

func (b *e2eBench) waitCount(ctx context.Context, id string, n int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for b.count(id) < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d records invoked after %s", b.count(id), n, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

type latencies struct {
	n             int
	p50, p99, max time.Duration
}

// latency puts rate records/s (one PutRecord per record, spread over the
// shards) for d and measures arrival → invoke start of every record.
func (b *e2eBench) latency(ctx context.Context, name string, size, rate int, d time.Duration) (latencies, error) {
	arn, err := b.stream(ctx, name)
	if err != nil {
		return latencies{}, err
	}
	id, err := b.mapping(ctx, arn, size, true)
	if err != nil {
		return latencies{}, err
	}
	// Warm up: one record per shard starts each shard's environment.
	for i := range b.shards * 4 {
		if _, err := b.k.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(name), Data: []byte("warm"), PartitionKey: aws.String(fmt.Sprint("w", i))}); err != nil {
			return latencies{}, err
		}
	}
	if err := b.waitCount(ctx, id, int64(b.shards*4), time.Minute); err != nil {
		return latencies{}, err
	}
	b.mu.Lock()
	b.samples[id] = b.samples[id][:0]
	b.mu.Unlock()
	total := int(float64(rate) * d.Seconds())
	const producers = 4
	interval := time.Duration(float64(time.Second) * producers / float64(rate))
	var wg sync.WaitGroup
	var perr error
	var pmu sync.Mutex
	start := time.Now()
	for p := range producers {
		wg.Go(func() {
			for i := p; i < total; i += producers {
				at := start.Add(time.Duration(i/producers) * interval)
				if w := time.Until(at); w > 0 {
					time.Sleep(w)
				}
				_, err := b.k.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(name),
					Data: []byte("x"), PartitionKey: aws.String(fmt.Sprint("k", i))})
				if err != nil {
					pmu.Lock()
					perr = err
					pmu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if perr != nil {
		return latencies{}, perr
	}
	if err := b.waitCount(ctx, id, int64(b.shards*4+total), time.Minute); err != nil {
		return latencies{}, err
	}
	b.stats(id)
	b.mu.Lock()
	s := slices.Clone(b.samples[id])
	delete(b.samples, id)
	b.mu.Unlock()
	if b.engine == nil {
		_, s = b.reported(id)
		s = s[min(len(s), b.shards*4):] // the warm-up records come first
	}
	if len(s) == 0 {
		return latencies{}, errors.New("no samples")
	}
	slices.Sort(s)
	return latencies{n: len(s), p50: s[len(s)/2], p99: s[len(s)*99/100], max: s[len(s)-1]}, nil
}

// drain fills a fresh stream with n records, then maps it and measures how
// fast the engine invokes them all.
func (b *e2eBench) drain(ctx context.Context, name string, size, n int) (float64, error) {
	arn, err := b.stream(ctx, name)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	per := (n + 7) / 8
	for p := range 8 {
		wg.Go(func() {
			for i := p * per; i < min(n, (p+1)*per); i += 500 {
				var es []ktypes.PutRecordsRequestEntry
				for j := i; j < min(i+500, (p+1)*per, n); j++ {
					es = append(es, ktypes.PutRecordsRequestEntry{Data: []byte("0123456789abcdef"), PartitionKey: aws.String(fmt.Sprint(j))})
				}
				out, err := b.k.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(name), Records: es})
				if err == nil && aws.ToInt32(out.FailedRecordCount) > 0 {
					err = fmt.Errorf("%d records failed", aws.ToInt32(out.FailedRecordCount))
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	if b.profile != "" {
		f, err := os.Create(fmt.Sprintf("%s-%d", b.profile, size))
		if err != nil {
			return 0, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return 0, err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	id, err := b.mapping(ctx, arn, size, false)
	if err != nil {
		return 0, err
	}
	if err := b.waitCount(ctx, id, int64(n), 10*time.Minute); err != nil {
		return 0, err
	}
	rps := float64(n) / time.Since(start).Seconds()
	b.stats(id)
	if _, err := b.l.DeleteEventSourceMapping(ctx, &awslambda.DeleteEventSourceMappingInput{UUID: &id}); err != nil {
		return 0, err
	}
	return rps, nil
}

// stats prints the mapping's counters to stderr.
func (b *e2eBench) stats(id string) {
	if b.engine == nil {
		return
	}
	m := b.engine.Metrics(id)
	if m == nil {
		return
	}
	s := m.Snapshot()
	avg := 0.0
	if s.Invocations > 0 {
		avg = float64(s.DurationTotalMs) / float64(s.Invocations)
	}
	fmt.Fprintf(b.e.stderr, "  mapping %s: invocations %d, errors %d, throttles %d, avg duration %.2f ms, records invoked %d\n",
		id[:8], s.Invocations, s.Errors, s.Throttles, avg, s.InvokedEventCount)
}
