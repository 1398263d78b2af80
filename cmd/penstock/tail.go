package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/penstock/penstock/internal/kclient"
)

// runTail is `penstock tail`: print a stream's records, shard by shard.
func runTail(ctx context.Context, args []string, e env) error {
	var cf clientFlags
	fs := flag.NewFlagSet("penstock tail", flag.ContinueOnError)
	cf.register(fs)
	stream := fs.String("stream", "", "stream to read (required)")
	from := fs.String("from", "trim-horizon", "where to start: trim-horizon, latest, at-timestamp=RFC3339, at-sequence=N, after-sequence=N")
	follow := fs.Bool("follow", false, "keep reading new records (and new shards after reshards) until interrupted")
	format := fs.String("format", "text", "text: shard, sequence number, partition key, data per line; json: one object per record; raw: data only")
	shard := fs.String("shard", "", "read only this shard and its descendants")
	limit := fs.Int("limit", 10000, "GetRecords Limit (1..10000)")
	poll := fs.Duration("poll-interval", 200*time.Millisecond, "with --follow, the pause after an empty GetRecords reply")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: penstock tail --stream NAME [--from POSITION] [--follow] [--format text|json|raw]\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	if *stream == "" {
		return errors.New("tail: --stream is required")
	}
	if *limit < 1 || *limit > 10000 {
		return fmt.Errorf("tail: --limit %d: must be 1..10000", *limit)
	}
	pos, err := kclient.ParsePosition(*from)
	if err != nil {
		return fmt.Errorf("tail: --from: %w", err)
	}
	printer, err := newRecordPrinter(*format, e.stdout)
	if err != nil {
		return err
	}
	r := &kclient.Reader{
		Client:       cf.client(e, 8),
		Stream:       *stream,
		From:         pos,
		Shard:        *shard,
		Follow:       *follow,
		Limit:        int32(*limit),
		PollInterval: *poll,
	}
	if err := r.Run(ctx, printer.batch); err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	return nil
}

type recordPrinter struct {
	format string
	w      *bufio.Writer
	enc    *json.Encoder
}

func newRecordPrinter(format string, w io.Writer) (*recordPrinter, error) {
	switch format {
	case "text", "json", "raw":
	default:
		return nil, fmt.Errorf("tail: --format %q: want text, json or raw", format)
	}
	bw := bufio.NewWriter(w)
	return &recordPrinter{format: format, w: bw, enc: json.NewEncoder(bw)}, nil
}

// jsonRecord is one record in --format json. Data is base64 as in the AWS
// CLI's output; Text is the data when it is valid UTF-8.
type jsonRecord struct {
	ShardID                     string    `json:"ShardId"`
	SequenceNumber              string    `json:"SequenceNumber"`
	PartitionKey                string    `json:"PartitionKey"`
	ApproximateArrivalTimestamp time.Time `json:"ApproximateArrivalTimestamp"`
	Data                        []byte    `json:"Data"`
	Text                        *string   `json:"Text,omitempty"`
}

func (p *recordPrinter) batch(b kclient.Batch) error {
	for _, r := range b.Records {
		if err := p.record(b.ShardID, r); err != nil {
			return fmt.Errorf("writing stdout: %w", err)
		}
	}
	if err := p.w.Flush(); err != nil {
		return fmt.Errorf("writing stdout: %w", err)
	}
	return nil
}

func (p *recordPrinter) record(shard string, r types.Record) error {
	switch p.format {
	case "json":
		jr := jsonRecord{
			ShardID:                     shard,
			SequenceNumber:              aws.ToString(r.SequenceNumber),
			PartitionKey:                aws.ToString(r.PartitionKey),
			ApproximateArrivalTimestamp: aws.ToTime(r.ApproximateArrivalTimestamp).UTC(),
			Data:                        r.Data,
		}
		if utf8.Valid(r.Data) {
			s := string(r.Data)
			jr.Text = &s
		}
		return p.enc.Encode(jr)
	case "raw":
		if _, err := p.w.Write(r.Data); err != nil {
			return err
		}
		return p.w.WriteByte('\n')
	default:
		_, err := fmt.Fprintf(p.w, "%s %s %s %s\n", shard, aws.ToString(r.SequenceNumber),
			aws.ToString(r.PartitionKey), printable(r.Data))
		return err
	}
}

// printable returns data as it is when it is one line of printable UTF-8,
// else quoted with Go escapes so one record stays one line.
func printable(data []byte) string {
	s := string(data)
	if !utf8.ValidString(s) {
		return fmt.Sprintf("%q", s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' && r != '\t' {
			return fmt.Sprintf("%q", s)
		}
	}
	return s
}
