package esm_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"go.uber.org/goleak"

	"github.com/penstock/penstock/internal/penstocktest"
	"github.com/penstock/penstock/internal/server"
)

// fnZip is the test function (testdata/fn) built once, zipped as bootstrap.
var fnZip []byte

func TestMain(m *testing.M) {
	if dir := os.Getenv("PENSTOCK_ESM_CHILD_DIR"); dir != "" {
		os.Exit(runChildServer(dir, os.Getenv("PENSTOCK_ESM_CHILD_ADDR")))
	}
	dir, err := os.MkdirTemp("", "penstock-esm-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", "build", "-o", bin, "./testdata/fn")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building testdata/fn: %v\n%s", err, out)
			return 1
		}
		b, err := os.ReadFile(bin)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
		h.SetMode(0o755)
		w, _ := zw.CreateHeader(h)
		_, _ = w.Write(b)
		_ = zw.Close()
		fnZip = buf.Bytes()
		code := m.Run()
		if code == 0 {
			// Every engine, poller and lane goroutine stops with its Run.
			if err := goleak.Find(
				// Idle keep-alive connections of the SDK clients outlive the servers.
				goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
				goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
				goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
			); err != nil {
				fmt.Fprintln(os.Stderr, "goroutine leak:", err)
				return 1
			}
		}
		return code
	}()
	os.Exit(code)
}

// clients are real aws-sdk-go-v2 clients for one server.
type clients struct {
	k   *kinesis.Client
	l   *lambda.Client
	q   *sqs.Client
	url string
}

func newClients(srv *server.Server) clients {
	return clientsAt(srv.URL())
}

func clientsAt(url string) clients {
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDPENSTOCKTEST", "secret", "")}
	return clients{k: kinesis.NewFromConfig(cfg), l: lambda.NewFromConfig(cfg), q: sqs.NewFromConfig(cfg), url: url}
}

// setup creates a stream, the test function writing to out, and returns the stream ARN.
func (c clients) setup(t *testing.T, ctx context.Context, stream string, shards int, out string) string {
	return c.setupTB(t, ctx, stream, shards, out)
}

func (c clients) setupTB(t testing.TB, ctx context.Context, stream string, shards int, out string) string {
	t.Helper()
	if _, err := c.k.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(int32(shards))}); err != nil {
		t.Fatal(err)
	}
	var arn string
	penstocktest.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		d, err := c.k.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		if err != nil {
			return err
		}
		if d.StreamDescriptionSummary.StreamStatus != ktypes.StreamStatusActive {
			return fmt.Errorf("stream %s", d.StreamDescriptionSummary.StreamStatus)
		}
		arn = *d.StreamDescriptionSummary.StreamARN
		return nil
	})
	if _, err := c.l.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("fn"), Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String("arn:aws:iam::000000000000:role/lambda-role"), Code: &ltypes.FunctionCode{ZipFile: fnZip},
		Timeout:     aws.Int32(10),
		Environment: &ltypes.Environment{Variables: map[string]string{"FN_OUT": out}},
	}); err != nil {
		t.Fatal(err)
	}
	return arn
}

func (c clients) put(t *testing.T, ctx context.Context, stream string, data ...string) {
	t.Helper()
	for len(data) > 0 {
		n := min(len(data), 500)
		var es []ktypes.PutRecordsRequestEntry
		for i, d := range data[:n] {
			es = append(es, ktypes.PutRecordsRequestEntry{Data: []byte(d), PartitionKey: aws.String(fmt.Sprint("pk-", i%7))})
		}
		out, err := c.k.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: es})
		if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
			t.Fatalf("PutRecords: %v %+v", err, out)
		}
		data = data[n:]
	}
}

// seen reads the function's log: how many times each record was delivered.
func seen(t *testing.T, out string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(out)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	m := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		for _, d := range strings.Fields(line) {
			m[d]++
		}
	}
	return m
}

func data(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%04d", prefix, i)
	}
	return out
}

// TestE2E_PoisonToSQS: the whole pipeline through real clients: Kinesis
// stream, Go function, mapping with bisect, retries and an SQS on-failure
// destination. The poison record ends in the queue with AWS's record shape;
// every other record reaches the function.
func TestE2E_PoisonToSQS(t *testing.T) {
	srv := penstocktest.Start(t, nil)
	ctx := t.Context()
	c := newClients(srv)
	out := filepath.Join(t.TempDir(), "fn.log")
	arn := c.setup(t, ctx, "orders", 2, out)
	q, err := c.q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("dlq")})
	if err != nil {
		t.Fatal(err)
	}
	qa, err := c.q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.l.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
		EventSourceArn: aws.String(arn), FunctionName: aws.String("fn"), StartingPosition: ltypes.EventSourcePositionTrimHorizon,
		BatchSize: aws.Int32(50), MaximumRetryAttempts: aws.Int32(1), BisectBatchOnFunctionError: aws.Bool(true),
		FunctionResponseTypes: []ltypes.FunctionResponseType{ltypes.FunctionResponseTypeReportBatchItemFailures},
		DestinationConfig:     &ltypes.DestinationConfig{OnFailure: &ltypes.OnFailure{Destination: aws.String(qa.Attributes["QueueArn"])}},
	})
	if err != nil {
		t.Fatal(err)
	}
	records := append(data("ok", 100), "fail-poison")
	records = append(records, data("after", 20)...)
	c.put(t, ctx, "orders", records...)
	var msg map[string]any
	penstocktest.CheckFor(t, 30*time.Second, 10*time.Millisecond, func() error {
		r, err := c.q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10})
		if err != nil {
			return err
		}
		if len(r.Messages) == 0 {
			return fmt.Errorf("no dead letter yet")
		}
		return json.Unmarshal([]byte(*r.Messages[0].Body), &msg)
	})
	rc, _ := msg["requestContext"].(map[string]any)
	bi, _ := msg["KinesisBatchInfo"].(map[string]any)
	if rc["condition"] != "RetryAttemptsExhausted" || rc["approximateInvokeCount"] != float64(2) || bi["batchSize"] != float64(1) || bi["streamArn"] != arn {
		t.Errorf("dead letter = %v", msg)
	}
	penstocktest.CheckFor(t, 30*time.Second, 10*time.Millisecond, func() error {
		s := seen(t, out)
		for _, d := range records {
			if s[d] == 0 {
				return fmt.Errorf("%s never delivered", d)
			}
		}
		return nil
	})
	g, err := c.l.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: m.UUID})
	if err != nil || *g.State != "Enabled" {
		t.Errorf("Get = %v %v", g.State, err)
	}
	penstocktest.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error { // counted just after the send
		met := srv.Mappings().Metrics(*m.UUID).Snapshot()
		if met.OnFailureDestinationDeliveredEventCount != 1 || met.Errors == 0 || met.PolledEventCount != int64(len(records)) {
			return fmt.Errorf("metrics = %+v", met)
		}
		return nil
	})
}
