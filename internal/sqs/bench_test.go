package sqs_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/penstock/penstock/internal/penstocktest"
)

// BenchmarkSendReceiveDelete: one message through the SDK per op (send,
// receive, delete: three round trips, one fsync'd publish and one ack).
func BenchmarkSendReceiveDelete(b *testing.B) {
	srv := penstocktest.Start(b, nil)
	c := sqs.NewFromConfig(penstocktest.AWSConfig(srv))
	ctx := b.Context()
	url := aws.ToString(must(c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("bench")})).QueueUrl)
	body := aws.String(`{"requestContext":{"condition":"RetryAttemptsExhausted"},"KinesisBatchInfo":{"batchSize":1}}`)
	b.ResetTimer()
	for b.Loop() {
		must(c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: body}))
		out := must(c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 5}))
		if len(out.Messages) != 1 {
			b.Fatalf("received %d", len(out.Messages))
		}
		must(c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: out.Messages[0].ReceiptHandle}))
	}
}

// BenchmarkBatch10: SendMessageBatch of 10, ReceiveMessage of 10,
// DeleteMessageBatch of 10 per op.
func BenchmarkBatch10(b *testing.B) {
	srv := penstocktest.Start(b, nil)
	c := sqs.NewFromConfig(penstocktest.AWSConfig(srv))
	ctx := b.Context()
	url := aws.ToString(must(c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("bench")})).QueueUrl)
	entries := make([]types.SendMessageBatchRequestEntry, 10)
	for i := range entries {
		entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), MessageBody: aws.String(fmt.Sprintf("message %d", i))}
	}
	b.ResetTimer()
	for b.Loop() {
		must(c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &url, Entries: entries}))
		got := 0
		for got < 10 {
			out := must(c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10, WaitTimeSeconds: 5}))
			del := make([]types.DeleteMessageBatchRequestEntry, len(out.Messages))
			for i, m := range out.Messages {
				del[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle}
			}
			if len(del) > 0 {
				must(c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &url, Entries: del}))
			}
			got += len(out.Messages)
		}
	}
	b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "msgs/s")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
