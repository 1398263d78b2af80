package destination_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/penstock/penstock/internal/penstocktest"
)

const poisonFunction = `import base64
def handler(event, context):
    for r in event["Records"]:
        if base64.b64decode(r["kinesis"]["data"]) == b"poison":
            raise Exception("poison record " + r["kinesis"]["sequenceNumber"])
    return {}
`

// TestE2E_OnePoisonRecordPerDestination runs three mappings (bisect,
// MaximumRetryAttempts 2) over one stream of 1000 records with one poison
// record: each mapping's on-failure destination (an SQS queue, an SNS
// topic with a queue subscribed, an S3 bucket) gets exactly one dead letter,
// naming exactly the poison record.
func TestE2E_OnePoisonRecordPerDestination(t *testing.T) {
	srv := penstocktest.Start(t, nil)
	cfg := penstocktest.AWSConfig(srv)
	k, l := kinesis.NewFromConfig(cfg), lambda.NewFromConfig(cfg)
	q, tp := sqs.NewFromConfig(cfg), sns.NewFromConfig(cfg)
	b := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	ctx := t.Context()

	if _, err := k.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("events"), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	var streamARN string
	penstocktest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		d, err := k.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("events")})
		if err != nil {
			return err
		}
		if d.StreamDescriptionSummary.StreamStatus != ktypes.StreamStatusActive {
			return fmt.Errorf("stream is %s", d.StreamDescriptionSummary.StreamStatus)
		}
		streamARN = aws.ToString(d.StreamDescriptionSummary.StreamARN)
		return nil
	})
	var zipBuf bytes.Buffer
	zw := zip.NewWriter(&zipBuf)
	w, _ := zw.Create("app.py")
	_, _ = w.Write([]byte(poisonFunction))
	_ = zw.Close()
	// One function per mapping: AWS allows one mapping per stream and function.
	for _, kind := range []string{"sqs", "sns", "s3", "sqs-records"} {
		if _, err := l.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("consumer-" + kind), Runtime: ltypes.RuntimePython312,
			Handler: aws.String("app.handler"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Timeout: aws.Int32(10),
			Code: &ltypes.FunctionCode{ZipFile: zipBuf.Bytes()}}); err != nil {
			t.Fatal(err)
		}
		penstocktest.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error {
			f, err := l.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("consumer-" + kind)})
			if err != nil {
				return err
			}
			if f.Configuration.State != ltypes.StateActive {
				return fmt.Errorf("function is %s", f.Configuration.State)
			}
			return nil
		})
	}

	dlqURL := aws.ToString(must(q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("dlq")})).QueueUrl)
	withRecordsURL := aws.ToString(must(q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("dlq-records")})).QueueUrl)
	fanURL := aws.ToString(must(q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("from-sns")})).QueueUrl)
	topic := aws.ToString(must(tp.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("failures")})).TopicArn)
	must(tp.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &topic, Protocol: aws.String("sqs"), Endpoint: aws.String("arn:aws:sqs:us-east-1:000000000000:from-sns")}))
	must(b.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("failures")}))
	dests := map[string]string{
		"sqs": "arn:aws:sqs:us-east-1:000000000000:dlq",
		"sns": topic,
		"s3":  "arn:aws:s3:::failures",
		// The penstock extension: the same SQS dead letter plus "payload".
		"sqs-records": "arn:aws:sqs:us-east-1:000000000000:dlq-records",
	}
	// A missing destination is refused at create time.
	_, err := l.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
		EventSourceArn: &streamARN, FunctionName: aws.String("consumer-sqs"), StartingPosition: ltypes.EventSourcePositionTrimHorizon,
		DestinationConfig: &ltypes.DestinationConfig{OnFailure: &ltypes.OnFailure{Destination: aws.String("arn:aws:sqs:us-east-1:000000000000:nope")}},
	})
	var ipv *ltypes.InvalidParameterValueException
	if !errorsAs(err, &ipv) {
		t.Errorf("mapping to a missing queue: %v, want InvalidParameterValueException", err)
	}

	uuids := map[string]string{}
	for kind, dest := range dests {
		m, err := l.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
			EventSourceArn: &streamARN, FunctionName: aws.String("consumer-" + kind), StartingPosition: ltypes.EventSourcePositionTrimHorizon,
			BatchSize: aws.Int32(100), MaximumRetryAttempts: aws.Int32(2), BisectBatchOnFunctionError: aws.Bool(true),
			DestinationConfig: &ltypes.DestinationConfig{OnFailure: &ltypes.OnFailure{Destination: aws.String(dest)}},
			Tags:              tags(kind),
		})
		if err != nil {
			t.Fatalf("mapping to %s: %v", kind, err)
		}
		uuids[kind] = aws.ToString(m.UUID)
	}
	const total, poisonAt = 1000, 617
	var poisonSeq, poisonShard string
	for start := 0; start < total; start += 500 {
		var es []ktypes.PutRecordsRequestEntry
		for i := start; i < start+500; i++ {
			d := fmt.Sprintf("record-%04d", i)
			if i == poisonAt {
				d = "poison"
			}
			es = append(es, ktypes.PutRecordsRequestEntry{Data: []byte(d), PartitionKey: aws.String(fmt.Sprint("pk-", i%13))})
		}
		out, err := k.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("events"), Records: es})
		if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
			t.Fatalf("PutRecords: %v %+v", err, out)
		}
		if poisonAt >= start && poisonAt < start+500 {
			poisonSeq = aws.ToString(out.Records[poisonAt-start].SequenceNumber)
			poisonShard = aws.ToString(out.Records[poisonAt-start].ShardId)
		}
	}

	penstocktest.CheckFor(t, 120*time.Second, 50*time.Millisecond, func() error {
		for kind, id := range uuids {
			m := srv.Mappings().Metrics(id).Snapshot()
			if m.PolledEventCount < total || m.OnFailureDestinationDeliveredEventCount < 1 {
				return fmt.Errorf("%s mapping: polled %d, delivered to destination %d", kind, m.PolledEventCount, m.OnFailureDestinationDeliveredEventCount)
			}
		}
		return nil
	})
	for kind, id := range uuids {
		if m := srv.Mappings().Metrics(id).Snapshot(); m.OnFailureDestinationDeliveredEventCount != 1 || m.DroppedEventCount != 0 {
			t.Errorf("%s mapping metrics: %+v, want exactly 1 record delivered to the destination, none dropped", kind, m)
		}
	}

	checkRecord := func(kind string, rec map[string]any) {
		t.Helper()
		rc, _ := rec["requestContext"].(map[string]any)
		bi, _ := rec["KinesisBatchInfo"].(map[string]any)
		if rc["condition"] != "RetryAttemptsExhausted" || rc["approximateInvokeCount"] != float64(3) {
			t.Errorf("%s dead letter requestContext=%v, want RetryAttemptsExhausted after 3 invocations", kind, rc)
		}
		if bi["batchSize"] != float64(1) || bi["startSequenceNumber"] != poisonSeq || bi["endSequenceNumber"] != poisonSeq ||
			bi["shardId"] != poisonShard || bi["streamArn"] != streamARN {
			t.Errorf("%s dead letter KinesisBatchInfo=%v, want exactly the poison record %s on %s", kind, bi, poisonSeq, poisonShard)
		}
	}
	drain := func(url string) []sqstypes.Message {
		var all []sqstypes.Message
		for {
			out := must(q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1}))
			if len(out.Messages) == 0 {
				return all
			}
			all = append(all, out.Messages...)
		}
	}
	if msgs := drain(dlqURL); len(msgs) != 1 {
		t.Errorf("SQS destination holds %d dead letters, want 1", len(msgs))
	} else {
		var rec map[string]any
		_ = json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &rec)
		checkRecord("sqs", rec)
		if _, ok := rec["payload"]; ok {
			t.Errorf("the AWS-shaped SQS dead letter carries a payload")
		}
	}
	if msgs := drain(fanURL); len(msgs) != 1 {
		t.Errorf("SNS destination delivered %d notifications, want 1", len(msgs))
	} else {
		var n struct{ Type, Message, TopicArn string }
		_ = json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &n)
		var rec map[string]any
		_ = json.Unmarshal([]byte(n.Message), &rec)
		if n.Type != "Notification" || n.TopicArn != topic {
			t.Errorf("SNS envelope %+v", n)
		}
		checkRecord("sns", rec)
	}
	if msgs := drain(withRecordsURL); len(msgs) != 1 {
		t.Errorf("SQS destination with penstock:include-records holds %d dead letters, want 1", len(msgs))
	} else {
		var rec map[string]any
		_ = json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &rec)
		checkRecord("sqs-records", rec)
		checkPayload(t, "sqs-records", rec, poisonSeq)
	}
	list := must(b.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("failures")}))
	if len(list.Contents) != 1 {
		t.Fatalf("S3 destination holds %d objects, want 1", len(list.Contents))
	}
	key := aws.ToString(list.Contents[0].Key)
	if want := "aws/lambda/" + uuids["s3"] + "/" + poisonShard + "/"; !strings.HasPrefix(key, want) {
		t.Errorf("S3 key %s, want prefix %s", key, want)
	}
	obj := must(b.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("failures"), Key: &key}))
	body, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	var rec map[string]any
	if err := json.Unmarshal(body, &rec); err != nil {
		t.Fatalf("S3 object is not JSON: %v", err)
	}
	checkRecord("s3", rec)
	checkPayload(t, "s3", rec, poisonSeq)
}

func tags(kind string) map[string]string {
	if kind == "sqs-records" {
		return map[string]string{"penstock:include-records": "true"}
	}
	return nil
}

// checkPayload checks a dead letter's "payload" is the event with exactly
// the poison record.
func checkPayload(t *testing.T, kind string, rec map[string]any, poisonSeq string) {
	t.Helper()
	payload, _ := rec["payload"].(map[string]any)
	recs, _ := payload["Records"].([]any)
	if len(recs) != 1 {
		t.Fatalf("%s payload has %d records, want the poison record", kind, len(recs))
	}
	kin, _ := recs[0].(map[string]any)["kinesis"].(map[string]any)
	if kin["sequenceNumber"] != poisonSeq || kin["data"] != "cG9pc29u" { // base64("poison")
		t.Errorf("%s payload record %v", kind, kin)
	}
}
