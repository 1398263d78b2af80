package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/penstock/penstock/internal/kclient"
)

type putFlags struct {
	clientFlags
	stream     string
	key        string
	randomKey  bool
	batch      int
	linger     time.Duration
	printSeq   bool
	maxRetries int
}

// runPut is `penstock put`: each line of stdin becomes one record.
func runPut(ctx context.Context, args []string, e env) error {
	var f putFlags
	fs := flag.NewFlagSet("penstock put", flag.ContinueOnError)
	f.register(fs)
	fs.StringVar(&f.stream, "stream", "", "stream to write to (required)")
	fs.StringVar(&f.key, "partition-key", "", "partition key of every record (keeps them in order on one shard)")
	fs.BoolVar(&f.randomKey, "random-key", false, "a random partition key per record (spreads records over shards); the default without --partition-key")
	fs.IntVar(&f.batch, "batch", kclient.MaxBatchRecords, "records per PutRecords request (1..500)")
	fs.DurationVar(&f.linger, "linger", 100*time.Millisecond, "send a partial batch once stdin has been quiet this long")
	fs.BoolVar(&f.printSeq, "print-seq", false, "print the shard and sequence number of each record, in input order")
	fs.IntVar(&f.maxRetries, "max-retries", 20, "rounds of retries of records a PutRecords reply marks as failed")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: penstock put --stream NAME [--partition-key K | --random-key] [--batch N] < lines\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	switch {
	case f.stream == "":
		return errors.New("put: --stream is required")
	case f.key != "" && f.randomKey:
		return errors.New("put: --partition-key and --random-key exclude each other")
	case f.batch < 1 || f.batch > kclient.MaxBatchRecords:
		return fmt.Errorf("put: --batch %d: must be 1..%d", f.batch, kclient.MaxBatchRecords)
	case len(f.key) > 256:
		return errors.New("put: --partition-key: at most 256 characters")
	}
	p := &kclient.Putter{Client: f.client(e, 2), Stream: f.stream, MaxRetries: f.maxRetries}
	return f.copy(ctx, p, e.stdin, e.stdout, e.stderr)
}

type line struct {
	data []byte
	err  error
}

// readLines sends stdin's lines to out and closes it at EOF. It stops early
// when ctx ends (a Read already blocked on stdin returns with the process).
func readLines(ctx context.Context, r io.Reader, out chan<- line) {
	defer close(out)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), kclient.MaxRecordBytes+2)
	n := 0
	for sc.Scan() {
		n++
		l := line{data: append([]byte{}, sc.Bytes()...)} // never nil: an empty line is an empty record
		select {
		case out <- l:
		case <-ctx.Done():
			return
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("line %d is longer than a record may be (1 MiB): %w", n+1, err)
		}
		select {
		case out <- line{err: fmt.Errorf("reading stdin: %w", err)}:
		case <-ctx.Done():
		}
	}
}

func (f *putFlags) copy(ctx context.Context, p *kclient.Putter, stdin io.Reader, stdout, stderr io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lines := make(chan line, f.batch)
	go readLines(ctx, stdin, lines)

	start := time.Now()
	out := bufio.NewWriter(stdout)
	var batch []types.PutRecordsRequestEntry
	var size, records, bytes, requests, retried int
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		res, err := p.Put(ctx, batch)
		requests += res.Requests
		retried += res.Retried
		if err != nil {
			return fmt.Errorf("put: %w", err)
		}
		records += len(batch)
		bytes += size
		if f.printSeq {
			for i := range batch {
				fmt.Fprintf(out, "%s %s\n", res.ShardIDs[i], res.SequenceNumbers[i])
			}
			if err := out.Flush(); err != nil {
				return fmt.Errorf("put: writing stdout: %w", err)
			}
		}
		batch, size = batch[:0], 0
		return nil
	}
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	defer linger.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("put: interrupted after %d records (%d read but not sent): %w", records, len(batch), ctx.Err())
		case <-linger.C:
			if err := flush(); err != nil {
				return err
			}
		case l, ok := <-lines:
			if !ok {
				if err := flush(); err != nil {
					return err
				}
				fmt.Fprintf(stderr, "penstock put: %d records (%d bytes) to %s in %s: %d requests, %d records retried\n",
					records, bytes, p.Stream, time.Since(start).Round(time.Millisecond), requests, retried)
				return nil
			}
			if l.err != nil {
				if err := flush(); err != nil {
					return err
				}
				return fmt.Errorf("put: %w", l.err)
			}
			entry := types.PutRecordsRequestEntry{Data: l.data, PartitionKey: aws.String(f.partitionKey())}
			es := kclient.EntrySize(entry)
			if es > kclient.MaxRecordBytes {
				return fmt.Errorf("put: record %d is %d bytes with its partition key; the limit is 1 MiB", records+len(batch)+1, es)
			}
			if size+es > kclient.MaxBatchBytes {
				if err := flush(); err != nil {
					return err
				}
			}
			batch = append(batch, entry)
			size += es
			if len(batch) >= f.batch {
				if err := flush(); err != nil {
					return err
				}
				linger.Stop()
			} else if len(batch) == 1 {
				linger.Reset(f.linger)
			}
		}
	}
}

func (f *putFlags) partitionKey() string {
	if f.key != "" {
		return f.key
	}
	return randomKey()
}

func randomKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
