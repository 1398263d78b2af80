package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/penstock/penstock/internal/kclient"
	"github.com/penstock/penstock/internal/kclient/wire"
)

const streamTimeout = 2 * time.Minute // create/delete waits

// runBench is `penstock bench put|get|e2e`: put and get are load generators
// for any Kinesis endpoint; e2e (bench_e2e.go) measures penstock's event
// source mappings in process.
func runBench(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(e.stderr, "usage: penstock bench put|get|e2e [flags]\n\n"+
			"  put  concurrent PutRecords producers into a fresh stream (any Kinesis endpoint)\n"+
			"  get  read a filled stream back with GetRecords, every shard at once (any Kinesis endpoint)\n"+
			"  e2e  records through an event source mapping to a no-op function (in-process penstock)\n\n"+
			"run 'penstock bench put -h' for the flags")
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	if args[0] == "e2e" {
		return runBenchE2E(ctx, args[1:], e)
	}
	var b benchFlags
	fs := flag.NewFlagSet("penstock bench "+args[0], flag.ContinueOnError)
	b.register(fs)
	switch args[0] {
	case "put", "get":
	default:
		return fmt.Errorf("bench: unknown load %q (want put, get or e2e)", args[0])
	}
	if err := parseFlags(fs, args[1:], e); err != nil {
		return err
	}
	if err := b.validate(fs); err != nil {
		return fmt.Errorf("bench %s: %w", args[0], err)
	}
	conns := max(b.producers, b.shards) + 4
	c := b.client(e, conns)
	var w *wire.Client
	if b.clientKind == "lean" {
		var err error
		if w, err = b.wire(e, conns); err != nil {
			return fmt.Errorf("bench %s: %w", args[0], err)
		}
		defer w.CloseIdleConnections()
	}
	var rep *benchReport
	var err error
	if args[0] == "put" {
		rep, err = b.put(ctx, c, w, e)
	} else {
		rep, err = b.get(ctx, c, w, e)
	}
	if rep != nil && len(rep.Runs) > 0 {
		if perr := rep.print(e.stdout, b.json); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return fmt.Errorf("bench %s: %w", args[0], err)
	}
	return nil
}

type benchFlags struct {
	clientFlags
	stream     string
	producers  int
	records    int64
	recordSize int
	batch      int
	shards     int
	limit      int
	duration   time.Duration
	runs       int
	keep       bool
	json       bool
	serverPID  int
	clientKind string // lean or sdk: which client carries the data path
}

func (b *benchFlags) register(fs *flag.FlagSet) {
	b.clientFlags.register(fs)
	fs.StringVar(&b.stream, "stream", "", "use this existing stream (never deleted) instead of creating a fresh one per run")
	fs.IntVar(&b.producers, "producers", 4, "concurrent PutRecords producers (put; get uses them to fill the stream)")
	fs.Int64Var(&b.records, "records", 100000, "records per run (put) or to fill the stream with (get); with --duration and no --records, unlimited")
	fs.IntVar(&b.recordSize, "record-size", 1024, "data bytes per record")
	fs.IntVar(&b.batch, "batch", 500, "records per PutRecords request (1..500)")
	fs.IntVar(&b.shards, "shards", 4, "shards of the stream the bench creates")
	fs.IntVar(&b.limit, "limit", 10000, "GetRecords Limit (get)")
	fs.DurationVar(&b.duration, "duration", 0, "stop a put run after this long (0 = when --records are written)")
	fs.IntVar(&b.runs, "runs", 1, "repeat the measurement this many times and report each run and the medians")
	fs.BoolVar(&b.keep, "keep", false, "do not delete the streams the bench created")
	fs.BoolVar(&b.json, "json", false, "print the report as JSON")
	fs.StringVar(&b.clientKind, "client", "lean", "data-path client: lean (hand-written awsJson, little CPU of its own) or sdk (aws-sdk-go-v2); streams are always created with the SDK")
	fs.IntVar(&b.serverPID, "server-pid", 0, "also report the CPU time this local process (the server) used during each measured run (Linux /proc)")
}

func (b *benchFlags) validate(fs *flag.FlagSet) error {
	if b.duration > 0 && !flagGiven(fs, "records") {
		b.records = 0
	}
	switch {
	case b.producers < 1:
		return errors.New("--producers must be at least 1")
	case b.records < 0, b.records == 0 && b.duration <= 0:
		return errors.New("--records must be positive (or give --duration)")
	case b.batch < 1 || b.batch > kclient.MaxBatchRecords:
		return fmt.Errorf("--batch must be 1..%d", kclient.MaxBatchRecords)
	case b.shards < 1:
		return errors.New("--shards must be at least 1")
	case b.limit < 1 || b.limit > 10000:
		return errors.New("--limit must be 1..10000")
	case b.runs < 1:
		return errors.New("--runs must be at least 1")
	case b.recordSize < 1 || b.recordSize > kclient.MaxRecordBytes-32:
		return errors.New("--record-size must be 1..1048544")
	case b.clientKind != "lean" && b.clientKind != "sdk":
		return fmt.Errorf("--client %q: want lean or sdk", b.clientKind)
	}
	if b.serverPID != 0 {
		if _, err := processCPU(b.serverPID); err != nil {
			return fmt.Errorf("--server-pid: %w", err)
		}
	}
	return nil
}

func (b *benchFlags) putLoad(c *kinesis.Client, w *wire.Client, stream string) kclient.PutLoad {
	return kclient.PutLoad{
		Client: c, Wire: w, Stream: stream, Producers: b.producers, Records: b.records,
		RecordSize: b.recordSize, Batch: b.batch, Duration: b.duration,
	}
}

// freshStream creates a stream for a run unless --stream names one, and
// returns it with the function that removes it (a no-op with --keep).
func (b *benchFlags) freshStream(ctx context.Context, c *kinesis.Client, e env) (string, func() error, error) {
	if b.stream != "" {
		return b.stream, func() error { return nil }, nil
	}
	name := "penstock-bench-" + randomKey()[:12]
	if err := kclient.CreateStream(ctx, c, name, int32(b.shards), streamTimeout); err != nil {
		return "", nil, err
	}
	return name, func() error {
		if b.keep {
			fmt.Fprintf(e.stderr, "kept stream %s\n", name)
			return nil
		}
		return kclient.DeleteStream(context.WithoutCancel(ctx), c, name, streamTimeout)
	}, nil
}

func (b *benchFlags) report(op string) *benchReport {
	return &benchReport{
		Op: op, Endpoint: b.endpoint,
		Params: benchParams{
			Producers: b.producers, Records: b.records, RecordSize: b.recordSize, Batch: b.batch,
			Shards: b.shards, Limit: b.limit, Duration: b.duration.String(), Runs: b.runs, Stream: b.stream,
			Client: b.clientKind,
		},
	}
}

func (b *benchFlags) put(ctx context.Context, c *kinesis.Client, w *wire.Client, e env) (*benchReport, error) {
	rep := b.report("put")
	rep.Params.Limit = 0
	for range b.runs {
		stream, cleanup, err := b.freshStream(ctx, c, e)
		if err != nil {
			return rep, err
		}
		var res kclient.LoadResult
		cpu, err := b.measure(func() (err error) { res, err = b.putLoad(c, w, stream).Run(ctx); return err })
		err = errors.Join(err, cleanup())
		if err != nil {
			return rep, err
		}
		rep.add(res, cpu)
	}
	return rep, nil
}

func (b *benchFlags) get(ctx context.Context, c *kinesis.Client, w *wire.Client, e env) (*benchReport, error) {
	rep := b.report("get")
	rep.Params.Duration = ""
	stream, cleanup, err := b.freshStream(ctx, c, e)
	if err != nil {
		return rep, err
	}
	fill := int64(-1) // records we know the stream holds; -1 when reading a given stream
	if b.stream == "" {
		res, err := b.putLoad(c, w, stream).Run(ctx)
		if err != nil {
			return rep, errors.Join(fmt.Errorf("filling %s: %w", stream, err), cleanup())
		}
		fill = res.Records
		fmt.Fprintf(e.stderr, "filled %s with %d records in %s (%.0f records/s)\n", stream, res.Records,
			res.Elapsed.Round(time.Millisecond), res.RecordsPerSec())
	}
	for range b.runs {
		var res kclient.LoadResult
		cpu, err := b.measure(func() (err error) {
			res, err = kclient.GetLoad{Client: c, Wire: w, Stream: stream, Limit: int32(b.limit)}.Run(ctx)
			return err
		})
		if err == nil && fill >= 0 && res.Records != fill {
			err = fmt.Errorf("read %d records back from %s, wrote %d", res.Records, stream, fill)
		}
		if err != nil {
			return rep, errors.Join(err, cleanup())
		}
		rep.add(res, cpu)
	}
	return rep, cleanup()
}

// measure runs f and returns the CPU time the --server-pid process used
// meanwhile (-1 without --server-pid). The bench's own CPU time comes with
// each load's result (LoadResult.CPU).
func (b *benchFlags) measure(f func() error) (time.Duration, error) {
	if b.serverPID == 0 {
		return -1, f()
	}
	before, err := processCPU(b.serverPID)
	if err != nil {
		return -1, err
	}
	if err := f(); err != nil {
		return -1, err
	}
	after, err := processCPU(b.serverPID)
	if err != nil {
		return -1, err
	}
	return after - before, nil
}
