package destination_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/penstock/penstock/internal/penstocktest"
)

// BenchmarkDeliver: one on-failure record delivered in process, per kind
// (SNS with one SQS subscriber).
func BenchmarkDeliver(b *testing.B) {
	srv := penstocktest.Start(b, nil)
	cfg := penstocktest.AWSConfig(srv)
	ctx := b.Context()
	must(sqs.NewFromConfig(cfg).CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("dlq")}))
	tp := sns.NewFromConfig(cfg)
	topic := must(tp.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("t")})).TopicArn
	must(tp.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic, Protocol: aws.String("sqs"), Endpoint: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")}))
	must(s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bench-bucket")}))
	d := delivery(b, loadRecorded(b))
	for name, arn := range map[string]string{"sqs": "arn:aws:sqs:us-east-1:000000000000:dlq", "sns": aws.ToString(topic), "s3": "arn:aws:s3:::bench-bucket"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if err := srv.Destinations().Deliver(ctx, arn, d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
