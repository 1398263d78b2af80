package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/penstock/penstock/internal/penstocktest"
)

func TestParseDeadLetter(t *testing.T) {
	record := `{"requestContext":{"condition":"RetryAttemptsExhausted"},"version":"1.0","KinesisBatchInfo":{"shardId":"shardId-000000000001","startSequenceNumber":"100","endSequenceNumber":"200","batchSize":2,"streamArn":"arn:aws:kinesis:us-east-1:000000000000:stream/s"}}`
	envelope, _ := json.Marshal(map[string]string{"Type": "Notification", "MessageId": "m", "Message": record})
	withPayload := `{"version":"1.0","KinesisBatchInfo":{"shardId":"shardId-000000000001","startSequenceNumber":"100","endSequenceNumber":"100","batchSize":1,"streamArn":"arn:aws:kinesis:us-east-1:000000000000:stream/s"},"payload":{"Records":[{"kinesis":{"partitionKey":"pk","sequenceNumber":"100","data":"aGk=","approximateArrivalTimestamp":1657720081.5}}]}}`
	dl, err := parseDeadLetter(withPayload)
	if err != nil || len(dl.records) != 1 || string(dl.records[0].Data) != "hi" || aws.ToString(dl.records[0].PartitionKey) != "pk" ||
		dl.records[0].ApproximateArrivalTimestamp.UnixMilli() != 1657720081500 {
		t.Fatalf("dead letter with payload: %+v, %v", dl, err)
	}
	cases := []struct {
		name, body string
		want       batchInfo
		err        bool
	}{
		{"sqs record", record, batchInfo{"shardId-000000000001", "100", "200", 2, "arn:aws:kinesis:us-east-1:000000000000:stream/s"}, false},
		{"sns envelope", string(envelope), batchInfo{"shardId-000000000001", "100", "200", 2, "arn:aws:kinesis:us-east-1:000000000000:stream/s"}, false},
		{"not json", "hello", batchInfo{}, true},
		{"other json", `{"a":1}`, batchInfo{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dl, err := parseDeadLetter(tc.body)
			if got := dl.info; (err != nil) != tc.err || got != tc.want || dl.records != nil {
				t.Fatalf("parseDeadLetter=%+v,%v want %+v (error %v)", got, err, tc.want, tc.err)
			}
		})
	}
}

// dlqFixture: a stream with five records and a queue holding one dead
// letter for records 1..3, as the mapping engine writes it.
type dlqFixture struct {
	url      string
	k        *kinesis.Client
	q        *sqs.Client
	l        *lambda.Client
	queueURL string
	seqs     []string
}

func newDLQFixture(t *testing.T) dlqFixture {
	t.Helper()
	url, k := startKinesis(t)
	f := dlqFixture{url: url, k: k}
	acfg := k.Options()
	f.q = sqs.New(sqs.Options{Region: acfg.Region, Credentials: acfg.Credentials, BaseEndpoint: aws.String(url)})
	f.l = lambda.New(lambda.Options{Region: acfg.Region, Credentials: acfg.Credentials, BaseEndpoint: aws.String(url)})
	ctx := t.Context()
	if _, err := k.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("orders"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	penstocktest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		out, err := k.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("orders")})
		if err != nil {
			return err
		}
		if out.StreamDescriptionSummary.StreamStatus != ktypes.StreamStatusActive {
			return fmt.Errorf("stream %s", out.StreamDescriptionSummary.StreamStatus)
		}
		return nil
	})
	for i := range 5 {
		out, err := k.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("orders"), PartitionKey: aws.String(fmt.Sprintf("key-%d", i)),
			Data: []byte(fmt.Sprintf("record-%d", i))})
		if err != nil {
			t.Fatal(err)
		}
		f.seqs = append(f.seqs, aws.ToString(out.SequenceNumber))
	}
	q, err := f.q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	f.queueURL = aws.ToString(q.QueueUrl)
	body := fmt.Sprintf(`{"requestContext":{"requestId":"r","functionArn":"arn:aws:lambda:us-east-1:000000000000:function:f","condition":"RetryAttemptsExhausted","approximateInvokeCount":3},"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},"version":"1.0","timestamp":"2026-11-21T21:05:09.123Z","KinesisBatchInfo":{"shardId":"shardId-000000000000","startSequenceNumber":%q,"endSequenceNumber":%q,"approximateArrivalOfFirstRecord":"2026-11-21T21:05:08.000Z","approximateArrivalOfLastRecord":"2026-11-21T21:05:08.000Z","batchSize":3,"streamArn":"arn:aws:kinesis:us-east-1:000000000000:stream/orders"}}`,
		f.seqs[1], f.seqs[3])
	if _, err := f.q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &f.queueURL, MessageBody: &body}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f dlqFixture) queueDepth(t *testing.T) string {
	out, err := f.q.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{QueueUrl: &f.queueURL,
		AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Attributes["ApproximateNumberOfMessages"] + "/" + out.Attributes["ApproximateNumberOfMessagesNotVisible"]
}

func TestDLQReplay(t *testing.T) {
	f := newDLQFixture(t)
	ctx := t.Context()

	// Dry run: prints the three records, leaves the dead letter visible.
	out, _ := runTool(t, f.url, "", "dlq", "replay", "--queue", "orders-dlq", "--wait", "0")
	var keys []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r map[string]string
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("dry-run line %q: %v", line, err)
		}
		keys = append(keys, r["partitionKey"])
	}
	if strings.Join(keys, ",") != "key-1,key-2,key-3" {
		t.Fatalf("dry run printed keys %v, want key-1..key-3", keys)
	}
	if d := f.queueDepth(t); d != "1/0" {
		t.Fatalf("after dry run queue (visible/in flight)=%s, want 1/0", d)
	}

	// --to-stream --delete: the records are appended again, same keys, and
	// the dead letter is gone.
	runTool(t, f.url, "", "dlq", "replay", "--queue", f.queueURL, "--to-stream", "--delete", "--wait", "0")
	it, err := f.k.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("orders"), ShardId: aws.String("shardId-000000000000"),
		ShardIteratorType: ktypes.ShardIteratorTypeAfterSequenceNumber, StartingSequenceNumber: aws.String(f.seqs[4])})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := f.k.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs.Records {
		got = append(got, aws.ToString(r.PartitionKey)+"="+string(r.Data))
	}
	if strings.Join(got, " ") != "key-1=record-1 key-2=record-2 key-3=record-3" {
		t.Fatalf("replayed records %v", got)
	}
	if d := f.queueDepth(t); d != "0/0" {
		t.Fatalf("after --delete queue=%s, want 0/0", d)
	}
}

// pythonFunction returns a zip whose handler checks the replayed event.
func pythonFunction(t *testing.T, src string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("app.py")
	_, _ = w.Write([]byte(src))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDLQReplayInvoke(t *testing.T) {
	f := newDLQFixture(t)
	ctx := t.Context()
	check := `import base64
def handler(event, context):
    recs = event["Records"]
    got = [(r["kinesis"]["partitionKey"], base64.b64decode(r["kinesis"]["data"]).decode(), r["eventSource"], r["eventID"].split(":")[0]) for r in recs]
    want = [("key-%d" % i, "record-%d" % i, "aws:kinesis", "shardId-000000000000") for i in (1, 2, 3)]
    if got != want:
        raise Exception("unexpected event: %r" % (got,))
    return {"ok": len(recs)}
`
	fail := "def handler(event, context):\n    raise Exception('still poison')\n"
	for name, src := range map[string]string{"checker": check, "failer": fail} {
		_, err := f.l.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: ltypes.RuntimePython312,
			Handler: aws.String("app.handler"), Role: aws.String("arn:aws:iam::000000000000:role/r"),
			Code: &ltypes.FunctionCode{ZipFile: pythonFunction(t, src)}})
		if err != nil {
			t.Skipf("cannot create a python function here: %v", err)
		}
	}
	penstocktest.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		for _, n := range []string{"checker", "failer"} {
			out, err := f.l.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(n)})
			if err != nil {
				return err
			}
			if out.Configuration.State != ltypes.StateActive {
				return fmt.Errorf("%s is %s", n, out.Configuration.State)
			}
		}
		return nil
	})

	// A failing function: the replay fails and the dead letter stays.
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string {
		if k == "PENSTOCK_ENDPOINT" {
			return f.url
		}
		return ""
	}
	err := run(ctx, []string{"dlq", "replay", "--queue", "orders-dlq", "--invoke", "failer", "--delete", "--wait", "0"}, getenv, strings.NewReader(""), &stdout, &stderr)
	if err == nil || !strings.Contains(stderr.String(), "still poison") {
		t.Fatalf("replay into a failing function: err=%v stderr=%s", err, stderr.String())
	}
	if d := f.queueDepth(t); d != "1/0" {
		t.Fatalf("after a failed replay queue=%s, want 1/0 (kept, visible)", d)
	}
	_, errOut := runTool(t, f.url, "", "dlq", "replay", "--queue", "orders-dlq", "--invoke", "checker", "--delete", "--wait", "0")
	if !strings.Contains(errOut, "1 dead letters, 3 records replayed, 0 failed") {
		t.Errorf("summary: %s", errOut)
	}
	if d := f.queueDepth(t); d != "0/0" {
		t.Fatalf("after replay queue=%s, want 0/0", d)
	}
}

// TestDLQReplayFromPayload: a dead letter that carries its records
// (penstock:include-records) is replayed from the payload, even when the
// records are no longer in the stream.
func TestDLQReplayFromPayload(t *testing.T) {
	f := newDLQFixture(t)
	ctx := t.Context()
	if _, err := f.q.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: &f.queueURL}); err != nil {
		t.Fatal(err)
	}
	gone := "49999999999999999999999999999999999999999999999999999999" // never written
	body := fmt.Sprintf(`{"version":"1.0","KinesisBatchInfo":{"shardId":"shardId-000000000000","startSequenceNumber":%q,"endSequenceNumber":%q,"batchSize":1,"streamArn":"arn:aws:kinesis:us-east-1:000000000000:stream/orders"},"payload":{"Records":[{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"pk-x","sequenceNumber":%q,"data":"ZnJvbS1wYXlsb2Fk","approximateArrivalTimestamp":1657720081.0}}]}}`, gone, gone, gone)
	if _, err := f.q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &f.queueURL, MessageBody: &body}); err != nil {
		t.Fatal(err)
	}
	runTool(t, f.url, "", "dlq", "replay", "--queue", "orders-dlq", "--to-stream", "--delete", "--wait", "0")
	it, err := f.k.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("orders"), ShardId: aws.String("shardId-000000000000"),
		ShardIteratorType: ktypes.ShardIteratorTypeAfterSequenceNumber, StartingSequenceNumber: aws.String(f.seqs[4])})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := f.k.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs.Records) != 1 || string(recs.Records[0].Data) != "from-payload" || aws.ToString(recs.Records[0].PartitionKey) != "pk-x" {
		t.Fatalf("replayed records %+v", recs.Records)
	}
	if d := f.queueDepth(t); d != "0/0" {
		t.Fatalf("queue=%s, want 0/0", d)
	}
}
