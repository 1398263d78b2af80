package destination_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/penstock/penstock/internal/destination"
	"github.com/penstock/penstock/internal/esm"
	"github.com/penstock/penstock/internal/penstocktest"
)

// recorded holds the on-failure records AWS produced
// (spec/aws-recordings/localstack-kinesis-esm.snapshot.json).
type recorded struct {
	SQSBody         map[string]any `json:"sqs_body"`
	SNSNotification map[string]any `json:"sns_notification"`
	S3Object        map[string]any `json:"s3_object"`
}

func loadRecorded(t testing.TB) recorded {
	t.Helper()
	b, err := os.ReadFile("testdata/recorded.json")
	if err != nil {
		t.Fatal(err)
	}
	var r recorded
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// shape lists every JSON path of v with its JSON type: two documents with
// the same shape have the same fields, nesting and types.
func shape(v any, path string, out map[string]string) map[string]string {
	if out == nil {
		out = map[string]string{}
	}
	switch x := v.(type) {
	case map[string]any:
		out[path] = "object"
		for k, e := range x {
			shape(e, path+"."+k, out)
		}
	case []any:
		out[path] = "array"
		if len(x) > 0 {
			shape(x[0], path+"[]", out)
		}
	case string:
		out[path] = "string"
	case float64:
		out[path] = "number"
	case bool:
		out[path] = "bool"
	case nil:
		out[path] = "null"
	}
	return out
}

func sameShape(t *testing.T, what string, got, want any) {
	t.Helper()
	g, w := shape(got, "", nil), shape(want, "", nil)
	var diffs []string
	for k, v := range w {
		if g[k] != v {
			diffs = append(diffs, fmt.Sprintf("%s: got %q, recorded %q", k, g[k], v))
		}
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: not in the recording", k))
		}
	}
	slices.Sort(diffs)
	if len(diffs) > 0 {
		t.Errorf("%s differs from the AWS recording:\n  %s", what, strings.Join(diffs, "\n  "))
	}
}

const (
	mappingUUID = "4a2a5b1e-6f0e-4c1e-9a43-2a9f0a1b2c3d"
	shardID     = "shardId-000000000000"
)

// delivery is an on-failure record shaped as the engine builds it, from
// the recorded SQS body with the placeholders filled in.
func delivery(t testing.TB, r recorded) esm.Delivery {
	t.Helper()
	b, _ := json.Marshal(r.SQSBody)
	s := string(b)
	for k, v := range map[string]string{
		"<partition>": "aws", "<region>": "us-east-1", "111111111111": "000000000000", "<resource:2>": "events",
		"<resource:3>": "consumer", "<uuid:2>": "9a0b6f0c-4b35-4c8e-8d4a-1d2e3f405162",
		"<timestamp:2022-07-13T13:48:01.000Z>": "2022-07-13T13:48:01.000Z",
		"<start-sequence-number:1>":            "49654444444444444444444444444444444444444444444444444442",
	} {
		s = strings.ReplaceAll(s, k, v)
	}
	payload := `{"Records":[{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"custom","sequenceNumber":"49654444444444444444444444444444444444444444444444444442","data":"eyJpbnB1dCI6ICJoZWxsbyJ9","approximateArrivalTimestamp":1657720081.0},"eventSource":"aws:kinesis","eventVersion":"1.0","eventID":"shardId-000000000000:49654444444444444444444444444444444444444444444444444442","eventName":"aws:kinesis:record","invokeIdentityArn":"arn:aws:iam::000000000000:role/r","awsRegion":"us-east-1","eventSourceARN":"arn:aws:kinesis:us-east-1:000000000000:stream/events"}]}`
	return esm.Delivery{Record: json.RawMessage(s), Payload: json.RawMessage(payload), MappingUUID: mappingUUID, ShardID: shardID}
}

func TestRouterDeliversEachKind(t *testing.T) {
	rec := loadRecorded(t)
	srv := penstocktest.Start(t, nil)
	cfg := penstocktest.AWSConfig(srv)
	sq, tp := sqs.NewFromConfig(cfg), sns.NewFromConfig(cfg)
	bk := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	ctx := t.Context()
	router := srv.Destinations()
	d := delivery(t, rec)

	qURL := must(sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("dlq")})).QueueUrl
	fanURL := must(sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("fan")})).QueueUrl
	topic := must(tp.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("failures")})).TopicArn
	must(tp.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic, Protocol: aws.String("sqs"), Endpoint: aws.String("arn:aws:sqs:us-east-1:000000000000:fan")}))
	must(bk.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("failures")}))

	t.Run("sqs", func(t *testing.T) {
		arn := "arn:aws:sqs:us-east-1:000000000000:dlq"
		if err := router.Check(ctx, arn); err != nil {
			t.Fatal(err)
		}
		if err := router.Deliver(ctx, arn, d); err != nil {
			t.Fatal(err)
		}
		out := must(sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: qURL, WaitTimeSeconds: 5}))
		if len(out.Messages) != 1 {
			t.Fatalf("got %d messages", len(out.Messages))
		}
		body := aws.ToString(out.Messages[0].Body)
		if body != string(d.Record) {
			t.Errorf("body=%s\nwant the record bytes %s", body, d.Record)
		}
		var got any
		_ = json.Unmarshal([]byte(body), &got)
		sameShape(t, "SQS body", got, rec.SQSBody)
	})
	t.Run("sns", func(t *testing.T) {
		if err := router.Check(ctx, aws.ToString(topic)); err != nil {
			t.Fatal(err)
		}
		if err := router.Deliver(ctx, aws.ToString(topic), d); err != nil {
			t.Fatal(err)
		}
		out := must(sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: fanURL, WaitTimeSeconds: 5}))
		if len(out.Messages) != 1 {
			t.Fatalf("got %d messages", len(out.Messages))
		}
		var n map[string]any
		if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &n); err != nil {
			t.Fatal(err)
		}
		if n["Message"] != string(d.Record) {
			t.Errorf("Message=%v\nwant the record %s", n["Message"], d.Record)
		}
		if u, _ := n["SigningCertURL"].(string); !strings.HasPrefix(u, srv.URL()+"/") {
			t.Errorf("SigningCertURL %q is not on this server (%s)", u, srv.URL())
		}
		// The recording shows Message parsed; compare it the same way.
		var msg any
		_ = json.Unmarshal([]byte(n["Message"].(string)), &msg)
		n["Message"] = msg
		sameShape(t, "SNS notification", n, rec.SNSNotification)
	})
	t.Run("s3", func(t *testing.T) {
		at := time.Date(2026, 11, 21, 21, 5, 9, 0, time.UTC)
		r := router.WithClock(func() time.Time { return at })
		if err := r.Check(ctx, "arn:aws:s3:::failures"); err != nil {
			t.Fatal(err)
		}
		if err := r.Deliver(ctx, "arn:aws:s3:::failures", d); err != nil {
			t.Fatal(err)
		}
		list := must(bk.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("failures"), Prefix: aws.String("aws/lambda/")}))
		if len(list.Contents) != 1 {
			t.Fatalf("got %d objects", len(list.Contents))
		}
		key := aws.ToString(list.Contents[0].Key)
		re := regexp.MustCompile(`^aws/lambda/` + mappingUUID + `/` + shardID + `/2026/11/21/2026-11-21T21\.05\.09-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
		if !re.MatchString(key) {
			t.Errorf("key %s does not match %s", key, re)
		}
		obj := must(bk.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("failures"), Key: &key}))
		b, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("object is not JSON: %v", err)
		}
		sameShape(t, "S3 object", got, rec.S3Object)
		var payload any
		_ = json.Unmarshal(d.Payload, &payload)
		if fmt.Sprint(got["payload"]) != fmt.Sprint(payload) {
			t.Errorf("payload=%v\nwant %v", got["payload"], payload)
		}
	})
}

// TestIncludeRecordsExtension: with Delivery.IncludeRecords (the mapping
// tag penstock:include-records=true) SQS bodies and SNS messages are the
// record plus "payload"; without it they stay AWS-shaped.
func TestIncludeRecordsExtension(t *testing.T) {
	rec := loadRecorded(t)
	srv := penstocktest.Start(t, nil)
	cfg := penstocktest.AWSConfig(srv)
	sq, tp := sqs.NewFromConfig(cfg), sns.NewFromConfig(cfg)
	ctx := t.Context()
	qURL := must(sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("dlq")})).QueueUrl
	fanURL := must(sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("fan")})).QueueUrl
	topic := must(tp.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("failures")})).TopicArn
	sub := must(tp.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic, Protocol: aws.String("sqs"), Endpoint: aws.String("arn:aws:sqs:us-east-1:000000000000:fan")}))
	must(tp.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: sub.SubscriptionArn,
		AttributeName: aws.String("RawMessageDelivery"), AttributeValue: aws.String("true")}))
	d := delivery(t, rec)
	d.IncludeRecords = true
	var want map[string]any
	_ = json.Unmarshal(d.Record, &want)
	var payload any
	_ = json.Unmarshal(d.Payload, &payload)
	want["payload"] = payload
	for name, c := range map[string]struct{ arn, url string }{
		"sqs": {"arn:aws:sqs:us-east-1:000000000000:dlq", aws.ToString(qURL)},
		"sns": {aws.ToString(topic), aws.ToString(fanURL)},
	} {
		t.Run(name, func(t *testing.T) {
			if err := srv.Destinations().Deliver(ctx, c.arn, d); err != nil {
				t.Fatal(err)
			}
			out := must(sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &c.url, WaitTimeSeconds: 5}))
			if len(out.Messages) != 1 {
				t.Fatalf("got %d messages", len(out.Messages))
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(aws.ToString(out.Messages[0].Body)), &got); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("dead letter=%v\nwant the record plus payload %v", got, want)
			}
			if !strings.HasPrefix(aws.ToString(out.Messages[0].Body), string(d.Record[:len(d.Record)-1])+",") {
				t.Errorf("the record's own bytes are not kept: %s", aws.ToString(out.Messages[0].Body))
			}
		})
	}
}

func TestRouterCheck(t *testing.T) {
	srv := penstocktest.Start(t, nil)
	router := srv.Destinations()
	cfg := penstocktest.AWSConfig(srv)
	must(sqs.NewFromConfig(cfg).CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("dlq")}))
	must(sns.NewFromConfig(cfg).CreateTopic(t.Context(), &sns.CreateTopicInput{Name: aws.String("topic")}))
	cases := []struct {
		arn  string
		want error
	}{
		{"arn:aws:sqs:us-east-1:000000000000:missing", destination.ErrNotFound},
		{"arn:aws:sqs:eu-west-1:000000000000:dlq", destination.ErrNotFound},   // exists in us-east-1 only
		{"arn:aws:sns:us-east-1:111111111111:topic", destination.ErrNotFound}, // another account
		{"arn:aws:sns:us-east-1:000000000000:missing", destination.ErrNotFound},
		{"arn:aws:s3:::missing-bucket", destination.ErrNotFound},
		{"arn:aws:lambda:us-east-1:000000000000:function:f", destination.ErrUnsupported},
		{"arn:aws:s3:::bucket/prefix", destination.ErrUnsupported},
		{"not-an-arn", destination.ErrUnsupported},
	}
	for _, tc := range cases {
		t.Run(tc.arn, func(t *testing.T) {
			err := router.Check(t.Context(), tc.arn)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check=%v, want %v", err, tc.want)
			}
			if err := router.Deliver(t.Context(), tc.arn, esm.Delivery{Record: json.RawMessage(`{}`)}); err == nil {
				t.Fatalf("Deliver to %s succeeded", tc.arn)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func errorsAs[T error](err error, target *T) bool { return errors.As(err, target) }
