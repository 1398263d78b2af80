package sqs_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/penstock/penstock/internal/penstocktest"
)

func newClient(t *testing.T) *sqs.Client {
	t.Helper()
	srv := penstocktest.Start(t, nil)
	return sqs.NewFromConfig(penstocktest.AWSConfig(srv))
}

func mustCreate(t *testing.T, c *sqs.Client, name string, attrs map[string]string) string {
	t.Helper()
	out, err := c.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("CreateQueue(%s): %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestQueueLifecycle(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	ctx := t.Context()
	url := mustCreate(t, c, "orders", map[string]string{"VisibilityTimeout": "45"})
	if got, want := url[len(url)-len("/000000000000/orders"):], "/000000000000/orders"; got != want {
		t.Fatalf("QueueUrl=%s, want suffix %s", url, want)
	}
	// Same attributes: idempotent. Different: QueueAlreadyExists.
	if again := mustCreate(t, c, "orders", map[string]string{"VisibilityTimeout": "45"}); again != url {
		t.Fatalf("second CreateQueue url=%s, want %s", again, url)
	}
	_, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders"), Attributes: map[string]string{"VisibilityTimeout": "10"}})
	var exists *types.QueueNameExists
	if !errors.As(err, &exists) || errorCode(err) != "QueueAlreadyExists" {
		t.Fatalf("CreateQueue with other attributes: err=%v (code %q), want QueueNameExists/QueueAlreadyExists", err, errorCode(err))
	}
	mustCreate(t, c, "orders-dlq", nil)
	mustCreate(t, c, "audit", nil)

	gu, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("orders")})
	if err != nil || aws.ToString(gu.QueueUrl) != url {
		t.Fatalf("GetQueueUrl=%v,%v want %s", gu, err, url)
	}
	lq, err := c.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("orders")})
	if err != nil || len(lq.QueueUrls) != 2 {
		t.Fatalf("ListQueues(orders)=%v,%v want 2 urls", lq, err)
	}
	ga, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"QueueArn": "arn:aws:sqs:us-east-1:000000000000:orders", "VisibilityTimeout": "45",
		"MessageRetentionPeriod": "345600", "ApproximateNumberOfMessages": "0",
		"ApproximateNumberOfMessagesNotVisible": "0", "DelaySeconds": "0",
	} {
		if got := ga.Attributes[k]; got != want {
			t.Errorf("attribute %s=%q, want %q", k, got, want)
		}
	}
	if ts, _ := strconv.ParseInt(ga.Attributes["CreatedTimestamp"], 10, 64); time.Since(time.Unix(ts, 0)) > time.Minute {
		t.Errorf("CreatedTimestamp=%q, want about now", ga.Attributes["CreatedTimestamp"])
	}
	if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{"MessageRetentionPeriod": "120"}}); err != nil {
		t.Fatal(err)
	}
	ga, _ = c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{"MessageRetentionPeriod"}})
	if got := ga.Attributes["MessageRetentionPeriod"]; got != "120" || len(ga.Attributes) != 1 {
		t.Errorf("after SetQueueAttributes: %v, want only MessageRetentionPeriod=120", ga.Attributes)
	}
	if _, err := c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: &url}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("orders")})
	var missing *types.QueueDoesNotExist
	if !errors.As(err, &missing) || errorCode(err) != "AWS.SimpleQueueService.NonExistentQueue" {
		t.Fatalf("GetQueueUrl after delete: %v (code %q), want QueueDoesNotExist", err, errorCode(err))
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	ctx := t.Context()
	url := mustCreate(t, c, "q", nil)
	gone := url + "-missing"
	cases := []struct {
		name string
		call func() error
		code string
	}{
		{"send to missing queue", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &gone, MessageBody: aws.String("x")})
			return err
		}, "AWS.SimpleQueueService.NonExistentQueue"},
		{"receive from missing queue", func() error {
			_, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &gone})
			return err
		}, "AWS.SimpleQueueService.NonExistentQueue"},
		{"bad receipt handle", func() error {
			_, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: aws.String("garbage")})
			return err
		}, "ReceiptHandleIsInvalid"},
		{"max messages 11", func() error {
			_, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 11})
			return err
		}, "InvalidParameterValue"},
		{"unknown attribute", func() error {
			_, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{"Nope": "1"}})
			return err
		}, "InvalidAttributeName"},
		{"visibility out of range", func() error {
			_, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{"VisibilityTimeout": "50000"}})
			return err
		}, "InvalidAttributeValue"},
		{"redrive to a missing queue", func() error {
			_, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{
				"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:nope","maxReceiveCount":3}`}})
			return err
		}, "InvalidParameterValue"},
		{"empty batch", func() error {
			_, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: []types.SendMessageBatchRequestEntry{}})
			return err
		}, "AWS.SimpleQueueService.EmptyBatchRequest"},
		{"duplicate batch ids", func() error {
			_, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: []types.SendMessageBatchRequestEntry{
				{Id: aws.String("a"), MessageBody: aws.String("1")}, {Id: aws.String("a"), MessageBody: aws.String("2")}}})
			return err
		}, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"},
		{"delete missing queue", func() error {
			_, err := c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: &gone})
			return err
		}, "AWS.SimpleQueueService.NonExistentQueue"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if got := errorCode(err); got != tc.code {
				t.Fatalf("error %v: code %q, want %q", err, got, tc.code)
			}
		})
	}
}

func TestSendReceiveDelete(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	ctx := t.Context()
	url := mustCreate(t, c, "work", nil)
	attrs := map[string]types.MessageAttributeValue{
		"color": {DataType: aws.String("String"), StringValue: aws.String("blue")},
		"count": {DataType: aws.String("Number"), StringValue: aws.String("3")},
		"blob":  {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2, 255}},
	}
	sent, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("hello ✓"), MessageAttributes: attrs})
	if err != nil {
		t.Fatal(err) // the SDK verifies MD5OfMessageBody
	}
	// MD5OfMessageAttributes for these attributes, as AWS computes it (value
	// cross-checked with botocore's algorithm in the test below).
	if got, want := aws.ToString(sent.MD5OfMessageAttributes), attributesMD5ForTest(attrs); got != want {
		t.Fatalf("MD5OfMessageAttributes=%s, want %s", got, want)
	}
	batch, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("m1"), MessageBody: aws.String("one")},
		{Id: aws.String("m2"), MessageBody: aws.String("two")},
		{Id: aws.String("bad"), MessageBody: aws.String("\x00")},
	}})
	if err != nil || len(batch.Successful) != 2 || len(batch.Failed) != 1 || aws.ToString(batch.Failed[0].Code) != "InvalidMessageContents" {
		t.Fatalf("SendMessageBatch=%+v,%v want 2 ok, 1 InvalidMessageContents", batch, err)
	}
	got := map[string]types.Message{}
	penstocktest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10,
			MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}})
		if err != nil {
			return err
		}
		for _, m := range out.Messages {
			got[aws.ToString(m.Body)] = m
		}
		if len(got) != 3 {
			return fmt.Errorf("received %d distinct messages, want 3", len(got))
		}
		return nil
	})
	m := got["hello ✓"]
	if aws.ToString(m.MessageId) != aws.ToString(sent.MessageId) {
		t.Errorf("MessageId=%s, want %s", aws.ToString(m.MessageId), aws.ToString(sent.MessageId))
	}
	if aws.ToString(m.MD5OfMessageAttributes) != aws.ToString(sent.MD5OfMessageAttributes) || len(m.MessageAttributes) != 3 {
		t.Errorf("received attributes %v md5 %s", m.MessageAttributes, aws.ToString(m.MD5OfMessageAttributes))
	}
	if string(m.MessageAttributes["blob"].BinaryValue) != "\x00\x01\x02\xff" {
		t.Errorf("binary attribute=%v", m.MessageAttributes["blob"].BinaryValue)
	}
	if m.Attributes["ApproximateReceiveCount"] != "1" || m.Attributes["SentTimestamp"] == "" || m.Attributes["ApproximateFirstReceiveTimestamp"] == "" {
		t.Errorf("system attributes=%v", m.Attributes)
	}
	ga, _ := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
	if ga.Attributes["ApproximateNumberOfMessagesNotVisible"] != "3" || ga.Attributes["ApproximateNumberOfMessages"] != "0" {
		t.Errorf("counts in flight=%v, want 0 visible 3 not visible", ga.Attributes)
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	del, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &url, Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("a"), ReceiptHandle: got["one"].ReceiptHandle},
		{Id: aws.String("b"), ReceiptHandle: got["two"].ReceiptHandle},
		{Id: aws.String("c"), ReceiptHandle: aws.String("nope")},
	}})
	if err != nil || len(del.Successful) != 2 || len(del.Failed) != 1 || aws.ToString(del.Failed[0].Code) != "ReceiptHandleIsInvalid" {
		t.Fatalf("DeleteMessageBatch=%+v,%v", del, err)
	}
	penstocktest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		ga, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{"All"}})
		if err != nil {
			return err
		}
		if ga.Attributes["ApproximateNumberOfMessages"] != "0" || ga.Attributes["ApproximateNumberOfMessagesNotVisible"] != "0" {
			return fmt.Errorf("counts after delete %v", ga.Attributes)
		}
		return nil
	})
}

func TestLongPollReturnsOnArrival(t *testing.T) {
	t.Parallel()
	srv := penstocktest.Start(t, nil)
	c := sqs.NewFromConfig(penstocktest.AWSConfig(srv))
	ctx := t.Context()
	url := mustCreate(t, c, "lp", nil)
	type result struct {
		out *sqs.ReceiveMessageOutput
		err error
		at  time.Time
	}
	done := make(chan result, 1)
	go func() {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 20})
		done <- result{out, err, time.Now()}
	}()
	// Wait until the poll is parked on the queue's consumer (a waiting pull
	// request), then send: the receive must return well before its 20 s.
	penstocktest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		select {
		case r := <-done:
			t.Fatalf("long poll returned before any message: %+v", r)
		default:
		}
		cons, err := srv.Store().JetStream().Consumer(ctx, "SQS_lp", "sqs")
		if err != nil {
			return err
		}
		ci, err := cons.Info(ctx)
		if err != nil {
			return err
		}
		if ci.NumWaiting == 0 {
			return fmt.Errorf("no waiting pull request yet")
		}
		return nil
	})
	sentAt := time.Now()
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("wake")}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || len(r.out.Messages) != 1 || aws.ToString(r.out.Messages[0].Body) != "wake" {
			t.Fatalf("long poll=%+v,%v", r.out, r.err)
		}
		t.Logf("long poll returned %v after the send", r.at.Sub(sentAt))
	case <-time.After(15 * time.Second):
		t.Fatal("long poll did not return when the message arrived")
	}
	// An empty long poll of 1 second returns empty after about a second.
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 1})
	if err != nil || len(out.Messages) != 0 {
		t.Fatalf("empty long poll=%+v,%v", out, err)
	}
}

func TestVisibilityTimeout(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	ctx := t.Context()
	url := mustCreate(t, c, "vis", map[string]string{"VisibilityTimeout": "1"})
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("again")}); err != nil {
		t.Fatal(err)
	}
	first, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 5})
	if err != nil || len(first.Messages) != 1 {
		t.Fatalf("first receive=%+v,%v", first, err)
	}
	// Visible again once the 1 s timeout passes, with receive count 2.
	// (Invisibility itself is checked with a 30 s timeout in
	// TestChangeMessageVisibility: 1 s is too short to check under load.)
	second, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 10,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"}})
	if err != nil || len(second.Messages) != 1 {
		t.Fatalf("second receive=%+v,%v", second, err)
	}
	if got := second.Messages[0].Attributes["ApproximateReceiveCount"]; got != "2" {
		t.Errorf("ApproximateReceiveCount=%s, want 2", got)
	}
	// ChangeMessageVisibility 0 makes it visible at once; a stale/garbage
	// handle is rejected.
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: second.Messages[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	third, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 5, VisibilityTimeout: 600})
	if err != nil || len(third.Messages) != 1 {
		t.Fatalf("receive after ChangeMessageVisibility(0)=%+v,%v", third, err)
	}
	// Receive-level VisibilityTimeout 600 overrides the queue's 1 s: still
	// invisible after the 1 s queue timeout would have passed.
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 2})
	if err != nil || len(out.Messages) != 0 {
		t.Fatalf("receive after VisibilityTimeout=600 override=%+v,%v want none", out, err)
	}
	if _, err := c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: &url}); err != nil {
		t.Fatal(err)
	}
	ga, _ := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"}})
	if ga.Attributes["ApproximateNumberOfMessages"] != "0" || ga.Attributes["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Errorf("after purge %v", ga.Attributes)
	}
}

func TestRedrivePolicy(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	ctx := t.Context()
	dlq := mustCreate(t, c, "dead", nil)
	src := mustCreate(t, c, "src", map[string]string{"VisibilityTimeout": "0",
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dead","maxReceiveCount":"2"}`})
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &src, MessageBody: aws.String("poison")}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &src, WaitTimeSeconds: 5})
		if err != nil || len(out.Messages) != 1 {
			t.Fatalf("receive %d=%+v,%v", i, out, err)
		}
	}
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &src, WaitTimeSeconds: 1})
	if err != nil || len(out.Messages) != 0 {
		t.Fatalf("third receive=%+v,%v want none (moved)", out, err)
	}
	dead, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &dlq, WaitTimeSeconds: 5})
	if err != nil || len(dead.Messages) != 1 || aws.ToString(dead.Messages[0].Body) != "poison" {
		t.Fatalf("dead-letter queue=%+v,%v", dead, err)
	}
}

// TestChangeMessageVisibility: with the default 30 s timeout, only
// ChangeMessageVisibility can make a received message visible again.
func TestChangeMessageVisibility(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	ctx := t.Context()
	url := mustCreate(t, c, "cmv", nil)
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("m")}); err != nil {
		t.Fatal(err)
	}
	counts := func() string {
		ga, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []types.QueueAttributeName{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		return ga.Attributes["ApproximateNumberOfMessages"] + "/" + ga.Attributes["ApproximateNumberOfMessagesNotVisible"]
	}
	receive := func() []types.Message {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		return out.Messages
	}
	first := receive()
	if len(first) != 1 || counts() != "0/1" {
		t.Fatalf("first receive %d messages, counts %s", len(first), counts())
	}
	if got := receive(); len(got) != 0 {
		t.Fatalf("receive while invisible got %d", len(got))
	}
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: first[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
		t.Fatal(err)
	}
	if counts() != "1/0" {
		t.Errorf("after ChangeMessageVisibility(0) counts %s, want 1/0", counts())
	}
	var again []types.Message
	penstocktest.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if again = receive(); len(again) != 1 {
			return fmt.Errorf("message not visible again")
		}
		return nil
	})
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: again[0].ReceiptHandle, VisibilityTimeout: 600}); err != nil {
		t.Fatal(err)
	}
	if got := receive(); len(got) != 0 || counts() != "0/1" {
		t.Fatalf("after ChangeMessageVisibility(600): received %d, counts %s", len(got), counts())
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: again[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if counts() != "0/0" {
		t.Errorf("after delete counts %s", counts())
	}
}

// TestDelaySeconds: a delayed message (per message, or the queue's
// DelaySeconds) is invisible until its delay ends, counted as delayed, and
// its first receive has ApproximateReceiveCount 1.
func TestDelaySeconds(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	ctx := t.Context()
	url := mustCreate(t, c, "delayed", nil)
	queueDelayed := mustCreate(t, c, "queue-delayed", map[string]string{"DelaySeconds": "2"})
	counts := func(u string) map[string]string {
		ga, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &u, AttributeNames: []types.QueueAttributeName{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		return ga.Attributes
	}
	if _, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &queueDelayed, Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String("a")}, {Id: aws.String("b"), MessageBody: aws.String("b")}}}); err != nil {
		t.Fatal(err)
	}
	if a := counts(queueDelayed); a["ApproximateNumberOfMessagesDelayed"] != "2" || a["DelaySeconds"] != "2" {
		t.Errorf("queue with DelaySeconds=2: %v, want 2 delayed", a)
	}
	sentAt := time.Now()
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("later"), DelaySeconds: 3}); err != nil {
		t.Fatal(err)
	}
	if a := counts(url); a["ApproximateNumberOfMessagesDelayed"] != "1" || a["ApproximateNumberOfMessages"] != "0" {
		t.Errorf("right after sending: %v, want 1 delayed, 0 visible", a)
	}
	if out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url}); err != nil || len(out.Messages) != 0 {
		t.Fatalf("receive before the delay: %+v, %v, want nothing", out, err)
	}
	// A long poll returns the message once the delay ends.
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 10,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"ApproximateReceiveCount"}})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("long poll over the delay: %+v, %v", out, err)
	}
	if waited := time.Since(sentAt); waited < 3*time.Second {
		t.Errorf("delayed message visible after %v, want ≥ 3s", waited)
	}
	if got := out.Messages[0].Attributes["ApproximateReceiveCount"]; got != "1" {
		t.Errorf("ApproximateReceiveCount=%s, want 1 (pulls before the delay ended do not count)", got)
	}
	got := 0
	penstocktest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &queueDelayed, MaxNumberOfMessages: 10})
		if err != nil {
			return err
		}
		got += len(out.Messages)
		if got < 2 {
			return fmt.Errorf("%d of 2 delayed batch messages", got)
		}
		return nil
	})
	_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("x"), DelaySeconds: 901})
	if errorCode(err) != "InvalidParameterValue" {
		t.Errorf("DelaySeconds 901: %v, want InvalidParameterValue", err)
	}
}

// TestAbandonedLongPoll: a long poll whose client has gone stops waiting
// (within a 1 s poll slice), so a later message is not hidden for the 30 s
// visibility timeout by a delivery to nobody. (A message reaching the poll in
// that last slice is nak'd back: take's ctx check.)
func TestAbandonedLongPoll(t *testing.T) {
	t.Parallel()
	srv := penstocktest.Start(t, nil)
	c := sqs.NewFromConfig(penstocktest.AWSConfig(srv))
	ctx := t.Context()
	url := mustCreate(t, c, "abandoned", nil)
	pollCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.ReceiveMessage(pollCtx, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 20})
	}()
	waiting := func() uint64 {
		cons, err := srv.Store().JetStream().Consumer(ctx, "SQS_abandoned", "sqs")
		if err != nil {
			t.Fatal(err)
		}
		ci, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return uint64(ci.NumWaiting)
	}
	penstocktest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if waiting() == 0 {
			return fmt.Errorf("long poll not parked yet")
		}
		return nil
	})
	cancel()
	<-done
	// The abandoned poll stops pulling within a poll slice...
	penstocktest.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if waiting() != 0 {
			return fmt.Errorf("the abandoned long poll is still waiting")
		}
		return nil
	})
	// ...so a message sent now is not swallowed by it.
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("for nobody")}); err != nil {
		t.Fatal(err)
	}
	penstocktest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url})
		if err != nil {
			return err
		}
		if len(out.Messages) != 1 {
			return fmt.Errorf("message not receivable")
		}
		return nil
	})
}

func TestTagsAndDeadLetterSources(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	ctx := t.Context()
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("tagged"), Tags: map[string]string{"team": "data"}})
	if err != nil {
		t.Fatal(err)
	}
	url := out.QueueUrl
	if _, err := c.TagQueue(ctx, &sqs.TagQueueInput{QueueUrl: url, Tags: map[string]string{"env": "dev", "x": "y"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagQueue(ctx, &sqs.UntagQueueInput{QueueUrl: url, TagKeys: []string{"x"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: url})
	if err != nil || len(tags.Tags) != 2 || tags.Tags["team"] != "data" || tags.Tags["env"] != "dev" {
		t.Fatalf("ListQueueTags=%v,%v", tags, err)
	}
	dlq := mustCreate(t, c, "the-dlq", nil)
	src := mustCreate(t, c, "a-source", map[string]string{"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:the-dlq","maxReceiveCount":3}`})
	mustCreate(t, c, "unrelated", nil)
	ls, err := c.ListDeadLetterSourceQueues(ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: &dlq})
	if err != nil || len(ls.QueueUrls) != 1 || ls.QueueUrls[0] != src {
		t.Fatalf("ListDeadLetterSourceQueues=%v,%v want [%s]", ls, err, src)
	}
}

// TestStorageFollowsAttributes: the queue's JetStream stream keeps messages
// for MessageRetentionPeriod (MaxAge) and its consumer's ack wait is the
// VisibilityTimeout, at creation and after SetQueueAttributes.
func TestStorageFollowsAttributes(t *testing.T) {
	t.Parallel()
	srv := penstocktest.Start(t, nil)
	c := sqs.NewFromConfig(penstocktest.AWSConfig(srv))
	ctx := t.Context()
	url := mustCreate(t, c, "stored", map[string]string{"MessageRetentionPeriod": "3600", "VisibilityTimeout": "45"})
	check := func(retention, vis time.Duration) {
		t.Helper()
		js := srv.Store().JetStream()
		st, err := js.Stream(ctx, "SQS_stored")
		if err != nil {
			t.Fatal(err)
		}
		si, err := st.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cons, err := st.Consumer(ctx, "sqs")
		if err != nil {
			t.Fatal(err)
		}
		ci, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if si.Config.MaxAge != retention || ci.Config.AckWait != vis || si.Config.Retention.String() != "WorkQueue" {
			t.Errorf("stream MaxAge %v (want %v), retention %v, consumer AckWait %v (want %v)", si.Config.MaxAge, retention, si.Config.Retention, ci.Config.AckWait, vis)
		}
	}
	check(time.Hour, 45*time.Second)
	if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: &url, Attributes: map[string]string{"MessageRetentionPeriod": "60", "VisibilityTimeout": "5"}}); err != nil {
		t.Fatal(err)
	}
	check(time.Minute, 5*time.Second)
	if _, err := c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: &url}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Store().JetStream().Stream(ctx, "SQS_stored"); err == nil {
		t.Errorf("the stream outlived DeleteQueue")
	}
}

// TestZeroVisibilityNoDuplicates: with VisibilityTimeout 0 a received
// message is visible again at once, but one answer never holds it twice.
func TestZeroVisibilityNoDuplicates(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	ctx := t.Context()
	url := mustCreate(t, c, "zero", map[string]string{"VisibilityTimeout": "0"})
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("again and again")}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{"ApproximateReceiveCount"}})
		if err != nil || len(out.Messages) != 1 {
			t.Fatalf("receive %d: %d messages, %v; want exactly 1", i, len(out.Messages), err)
		}
	}
}
