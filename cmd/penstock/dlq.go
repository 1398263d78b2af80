package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/penstock/penstock/internal/kclient"
)

// runDLQ dispatches "penstock dlq <subcommand>".
func runDLQ(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] != "replay" {
		fmt.Fprintln(e.stderr, "usage: penstock dlq replay --queue URL|NAME [--to-stream | --invoke FUNCTION] [--delete]")
		return errUsage
	}
	return runDLQReplay(ctx, args[1:], e)
}

type dlqFlags struct {
	clientFlags
	queue    string
	toStream bool
	invoke   string
	delete   bool
	max      int
	wait     int
}

// runDLQReplay reads on-failure records (Kinesis event source mapping dead
// letters) from an SQS queue, fetches the records each one points at from
// the stream, and puts them back on the stream or invokes a function with
// them. Without --to-stream or --invoke it prints the records (a dry run).
func runDLQReplay(ctx context.Context, args []string, e env) error {
	var f dlqFlags
	fs := flag.NewFlagSet("penstock dlq replay", flag.ContinueOnError)
	f.register(fs)
	fs.StringVar(&f.queue, "queue", "", "dead-letter queue: URL or name (required)")
	fs.BoolVar(&f.toStream, "to-stream", false, "put the records back on their stream (PutRecords, same partition keys)")
	fs.StringVar(&f.invoke, "invoke", "", "invoke this function with a Kinesis event holding each dead letter's records")
	fs.BoolVar(&f.delete, "delete", false, "delete each dead letter once its records are replayed")
	fs.IntVar(&f.max, "max", 0, "stop after this many dead letters (0 = until the queue is empty)")
	fs.IntVar(&f.wait, "wait", 1, "seconds to long-poll before deciding the queue is empty (0..20)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: penstock dlq replay --queue URL|NAME [--endpoint URL] [--to-stream | --invoke FUNCTION] [--delete]\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, e); err != nil {
		return err
	}
	switch {
	case f.queue == "":
		return errors.New("dlq replay: --queue is required")
	case f.toStream && f.invoke != "":
		return errors.New("dlq replay: --to-stream and --invoke exclude each other")
	case f.delete && !f.toStream && f.invoke == "":
		return errors.New("dlq replay: --delete needs --to-stream or --invoke (a dry run deletes nothing)")
	case f.wait < 0 || f.wait > 20:
		return fmt.Errorf("dlq replay: --wait %d: must be 0..20", f.wait)
	}
	r := &replayer{f: f, e: e, cfg: f.awsConfig(e)}
	r.sqs = sqs.NewFromConfig(r.cfg)
	r.kinesis = f.client(e, 4)
	r.lambda = lambda.NewFromConfig(r.cfg)
	return r.run(ctx)
}

func (c *clientFlags) awsConfig(e env) aws.Config {
	ak, sk := e.getenv("AWS_ACCESS_KEY_ID"), e.getenv("AWS_SECRET_ACCESS_KEY")
	if ak == "" || sk == "" {
		ak, sk = "penstock", "penstock"
	}
	return aws.Config{Region: c.region, BaseEndpoint: aws.String(c.endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")}
}

type replayer struct {
	f       dlqFlags
	e       env
	cfg     aws.Config
	sqs     *sqs.Client
	kinesis *kinesis.Client
	lambda  *lambda.Client
}

// batchInfo is the part of an on-failure record that locates the records.
type batchInfo struct {
	ShardID             string `json:"shardId"`
	StartSequenceNumber string `json:"startSequenceNumber"`
	EndSequenceNumber   string `json:"endSequenceNumber"`
	BatchSize           int    `json:"batchSize"`
	StreamArn           string `json:"streamArn"`
}

// deadLetter is what replay needs from an on-failure record.
type deadLetter struct {
	info batchInfo
	// records carried in "payload" (S3 objects, or SQS/SNS dead letters of
	// a mapping tagged penstock:include-records=true): replayed as they are,
	// without reading the stream.
	records []ktypes.Record
}

// parseDeadLetter reads an on-failure record from an SQS body: the record
// itself, or an SNS notification envelope whose Message is the record.
func parseDeadLetter(body string) (deadLetter, error) {
	var doc struct {
		Type    string     `json:"Type"`
		Message string     `json:"Message"`
		Info    *batchInfo `json:"KinesisBatchInfo"`
		Payload *struct {
			Records []struct {
				Kinesis struct {
					PartitionKey   string  `json:"partitionKey"`
					SequenceNumber string  `json:"sequenceNumber"`
					Data           []byte  `json:"data"`
					Arrival        float64 `json:"approximateArrivalTimestamp"`
				} `json:"kinesis"`
			} `json:"Records"`
		} `json:"payload"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		return deadLetter{}, fmt.Errorf("not JSON: %w", err)
	}
	if doc.Info == nil && doc.Type == "Notification" && doc.Message != "" {
		return parseDeadLetter(doc.Message)
	}
	if doc.Info == nil || doc.Info.StreamArn == "" || doc.Info.ShardID == "" || doc.Info.StartSequenceNumber == "" {
		return deadLetter{}, errors.New("not a Kinesis on-failure record (no KinesisBatchInfo)")
	}
	if doc.Info.EndSequenceNumber == "" {
		doc.Info.EndSequenceNumber = doc.Info.StartSequenceNumber
	}
	dl := deadLetter{info: *doc.Info}
	if doc.Payload != nil {
		for _, r := range doc.Payload.Records {
			k := r.Kinesis
			at := time.UnixMilli(int64(k.Arrival * 1000))
			dl.records = append(dl.records, ktypes.Record{PartitionKey: aws.String(k.PartitionKey),
				SequenceNumber: aws.String(k.SequenceNumber), Data: k.Data, ApproximateArrivalTimestamp: &at})
		}
	}
	return dl, nil
}

func (r *replayer) queueURL(ctx context.Context) (string, error) {
	if strings.Contains(r.f.queue, "://") {
		return r.f.queue, nil
	}
	out, err := r.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(r.f.queue)})
	if err != nil {
		return "", fmt.Errorf("dlq replay: finding queue %s: %w", r.f.queue, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

func (r *replayer) run(ctx context.Context) error {
	url, err := r.queueURL(ctx)
	if err != nil {
		return err
	}
	var letters, records, failed int
	var held []string // receipt handles to make visible again at the end
	defer func() {
		// Dead letters not deleted become visible again at once, not after
		// the visibility timeout this run held them for.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		for _, h := range held {
			_, _ = r.sqs.ChangeMessageVisibility(cctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: aws.String(h), VisibilityTimeout: 0})
		}
	}()
	for r.f.max == 0 || letters < r.f.max {
		n := int32(10)
		if r.f.max > 0 {
			n = int32(min(10, r.f.max-letters))
		}
		out, err := r.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: n,
			WaitTimeSeconds: int32(r.f.wait), VisibilityTimeout: 300})
		if err != nil {
			return fmt.Errorf("dlq replay: receiving from %s: %w", url, err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			letters++
			n, err := r.replay(ctx, m)
			if err != nil {
				failed++
				fmt.Fprintf(r.e.stderr, "dead letter %s: %v\n", aws.ToString(m.MessageId), err)
				held = append(held, aws.ToString(m.ReceiptHandle))
				continue
			}
			records += n
			if r.f.delete {
				if _, err := r.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle}); err != nil {
					return fmt.Errorf("dlq replay: deleting dead letter %s: %w", aws.ToString(m.MessageId), err)
				}
			} else {
				held = append(held, aws.ToString(m.ReceiptHandle))
			}
		}
	}
	fmt.Fprintf(r.e.stderr, "dlq replay: %d dead letters, %d records replayed, %d failed\n", letters, records, failed)
	if failed > 0 {
		return fmt.Errorf("dlq replay: %d of %d dead letters failed", failed, letters)
	}
	return nil
}

// replay handles one dead letter and returns how many records it replayed.
func (r *replayer) replay(ctx context.Context, m sqstypes.Message) (int, error) {
	dl, err := parseDeadLetter(aws.ToString(m.Body))
	if err != nil {
		return 0, err
	}
	info, recs := dl.info, dl.records
	if recs == nil {
		if recs, err = r.fetch(ctx, info); err != nil {
			return 0, err
		}
	}
	if info.BatchSize > 0 && len(recs) != info.BatchSize {
		fmt.Fprintf(r.e.stderr, "dead letter %s: found %d of %d records (the rest expired from the stream or the shard was resharded)\n",
			aws.ToString(m.MessageId), len(recs), info.BatchSize)
	}
	if len(recs) == 0 {
		return 0, errors.New("none of its records are in the stream any more")
	}
	switch {
	case r.f.toStream:
		return len(recs), r.putBack(ctx, info, recs)
	case r.f.invoke != "":
		return len(recs), r.invoke(ctx, info, recs)
	default:
		return len(recs), printRecords(r.e.stdout, info, recs)
	}
}

func seqNum(s string) (*big.Int, error) {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, fmt.Errorf("sequence number %q is not decimal", s)
	}
	return n, nil
}

// fetch reads the shard from startSequenceNumber through endSequenceNumber.
func (r *replayer) fetch(ctx context.Context, info batchInfo) ([]ktypes.Record, error) {
	end, err := seqNum(info.EndSequenceNumber)
	if err != nil {
		return nil, err
	}
	it, err := r.kinesis.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamARN: aws.String(info.StreamArn),
		ShardId: aws.String(info.ShardID), ShardIteratorType: ktypes.ShardIteratorTypeAtSequenceNumber,
		StartingSequenceNumber: aws.String(info.StartSequenceNumber)})
	if err != nil {
		return nil, fmt.Errorf("GetShardIterator %s %s at %s: %w", info.StreamArn, info.ShardID, info.StartSequenceNumber, err)
	}
	iter := it.ShardIterator
	var out []ktypes.Record
	for iter != nil {
		res, err := r.kinesis.GetRecords(ctx, &kinesis.GetRecordsInput{StreamARN: aws.String(info.StreamArn), ShardIterator: iter,
			Limit: aws.Int32(int32(min(10000, max(info.BatchSize, 100))))})
		if err != nil {
			return nil, fmt.Errorf("GetRecords %s %s: %w", info.StreamArn, info.ShardID, err)
		}
		for _, rec := range res.Records {
			n, err := seqNum(aws.ToString(rec.SequenceNumber))
			if err != nil {
				return nil, err
			}
			if n.Cmp(end) > 0 {
				return out, nil
			}
			out = append(out, rec)
		}
		if len(res.Records) == 0 && aws.ToInt64(res.MillisBehindLatest) == 0 {
			return out, nil // at the tip: the end record is gone
		}
		iter = res.NextShardIterator
	}
	return out, nil
}

func (r *replayer) putBack(ctx context.Context, info batchInfo, recs []ktypes.Record) error {
	stream := info.StreamArn[strings.LastIndex(info.StreamArn, "/")+1:]
	p := &kclient.Putter{Client: r.kinesis, Stream: stream}
	for i := 0; i < len(recs); i += kclient.MaxBatchRecords {
		var entries []ktypes.PutRecordsRequestEntry
		for _, rec := range recs[i:min(i+kclient.MaxBatchRecords, len(recs))] {
			entries = append(entries, ktypes.PutRecordsRequestEntry{Data: rec.Data, PartitionKey: rec.PartitionKey})
		}
		if _, err := p.Put(ctx, entries); err != nil {
			return fmt.Errorf("putting records back on %s: %w", stream, err)
		}
	}
	return nil
}

// kinesisEvent builds the event a Kinesis event source mapping sends.
func kinesisEvent(info batchInfo, region string, recs []ktypes.Record) ([]byte, error) {
	type kin struct {
		SchemaVersion  string  `json:"kinesisSchemaVersion"`
		PartitionKey   string  `json:"partitionKey"`
		SequenceNumber string  `json:"sequenceNumber"`
		Data           string  `json:"data"`
		Arrival        float64 `json:"approximateArrivalTimestamp"`
	}
	type record struct {
		Kinesis           kin    `json:"kinesis"`
		EventSource       string `json:"eventSource"`
		EventVersion      string `json:"eventVersion"`
		EventID           string `json:"eventID"`
		EventName         string `json:"eventName"`
		InvokeIdentityArn string `json:"invokeIdentityArn"`
		AwsRegion         string `json:"awsRegion"`
		EventSourceARN    string `json:"eventSourceARN"`
	}
	acct := ""
	if p := strings.Split(info.StreamArn, ":"); len(p) > 4 {
		acct = p[4]
	}
	ev := struct {
		Records []record `json:"Records"`
	}{}
	for _, rec := range recs {
		arrival := 0.0
		if rec.ApproximateArrivalTimestamp != nil {
			arrival = float64(rec.ApproximateArrivalTimestamp.UnixMilli()) / 1000
		}
		seq := aws.ToString(rec.SequenceNumber)
		ev.Records = append(ev.Records, record{
			Kinesis: kin{SchemaVersion: "1.0", PartitionKey: aws.ToString(rec.PartitionKey), SequenceNumber: seq,
				Data: base64.StdEncoding.EncodeToString(rec.Data), Arrival: arrival},
			EventSource: "aws:kinesis", EventVersion: "1.0", EventID: info.ShardID + ":" + seq,
			EventName: "aws:kinesis:record", InvokeIdentityArn: "arn:aws:iam::" + acct + ":role/penstock-dlq-replay",
			AwsRegion: region, EventSourceARN: info.StreamArn,
		})
	}
	return json.Marshal(ev)
}

func (r *replayer) invoke(ctx context.Context, info batchInfo, recs []ktypes.Record) error {
	payload, err := kinesisEvent(info, r.f.region, recs)
	if err != nil {
		return err
	}
	out, err := r.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(r.f.invoke), Payload: payload})
	if err != nil {
		return fmt.Errorf("invoking %s: %w", r.f.invoke, err)
	}
	if fe := aws.ToString(out.FunctionError); fe != "" {
		return fmt.Errorf("function %s failed (%s): %s", r.f.invoke, fe, out.Payload)
	}
	return nil
}

// printRecords writes one JSON object per record (dry run).
func printRecords(w io.Writer, info batchInfo, recs []ktypes.Record) error {
	enc := json.NewEncoder(w)
	for _, rec := range recs {
		if err := enc.Encode(map[string]string{"stream": info.StreamArn, "shardId": info.ShardID,
			"sequenceNumber": aws.ToString(rec.SequenceNumber), "partitionKey": aws.ToString(rec.PartitionKey),
			"data": base64.StdEncoding.EncodeToString(rec.Data)}); err != nil {
			return err
		}
	}
	return nil
}
