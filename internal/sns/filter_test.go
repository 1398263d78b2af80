package sns_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// TestFilterPolicy: each case subscribes a queue with a policy, publishes
// one message and checks whether the queue got it.
func TestFilterPolicy(t *testing.T) {
	e := start(t)
	ctx := t.Context()
	topic := aws.ToString(must(e.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("filtered")})).TopicArn)
	str := func(v string) snstypes.MessageAttributeValue {
		return snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	num := func(v string) snstypes.MessageAttributeValue {
		return snstypes.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(v)}
	}
	arr := func(v string) snstypes.MessageAttributeValue {
		return snstypes.MessageAttributeValue{DataType: aws.String("String.Array"), StringValue: aws.String(v)}
	}
	type attrs = map[string]snstypes.MessageAttributeValue
	cases := []struct {
		name, policy, scope, body string
		attrs                     attrs
		want                      bool
	}{
		{"exact match", `{"color":["red","blue"]}`, "", "m", attrs{"color": str("blue")}, true},
		{"exact miss", `{"color":["red"]}`, "", "m", attrs{"color": str("blue")}, false},
		{"missing attribute", `{"color":["red"]}`, "", "m", nil, false},
		{"prefix", `{"color":[{"prefix":"bl"}]}`, "", "m", attrs{"color": str("blue")}, true},
		{"anything-but", `{"color":[{"anything-but":["red"]}]}`, "", "m", attrs{"color": str("blue")}, true},
		{"anything-but miss", `{"color":[{"anything-but":"blue"}]}`, "", "m", attrs{"color": str("blue")}, false},
		{"numeric range", `{"size":[{"numeric":[">",10,"<=",20]}]}`, "", "m", attrs{"size": num("20")}, true},
		{"numeric out of range", `{"size":[{"numeric":[">",10,"<=",20]}]}`, "", "m", attrs{"size": num("21")}, false},
		{"exists false", `{"color":[{"exists":false}]}`, "", "m", nil, true},
		{"and of keys", `{"color":["red"],"size":[5]}`, "", "m", attrs{"color": str("red"), "size": num("6")}, false},
		{"string array", `{"tags":["b"]}`, "", "m", attrs{"tags": arr(`["a","b"]`)}, true},
		{"$or", `{"$or":[{"color":["red"]},{"size":[{"numeric":["=",1]}]}]}`, "", "m", attrs{"size": num("1")}, true},
		{"body scope nested", `{"detail":{"state":["failed"]}}`, "MessageBody", `{"detail":{"state":"failed"}}`, nil, true},
		{"body scope miss", `{"detail":{"state":["failed"]}}`, "MessageBody", `{"detail":{"state":"ok"}}`, nil, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := "f" + string(rune('a'+i))
			url, arn := e.queue(t, name)
			sa := map[string]string{"FilterPolicy": tc.policy}
			if tc.scope != "" {
				sa["FilterPolicyScope"] = tc.scope
			}
			sub, err := e.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &topic, Protocol: aws.String("sqs"), Endpoint: &arn, Attributes: sa})
			if err != nil {
				t.Fatal(err)
			}
			defer e.sns.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: sub.SubscriptionArn})
			if _, err := e.sns.Publish(ctx, &sns.PublishInput{TopicArn: &topic, Message: aws.String(tc.body), MessageAttributes: tc.attrs}); err != nil {
				t.Fatal(err)
			}
			// Publish writes to queues before it returns: the queue's stored
			// message count is exact right away.
			ga, err := e.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url,
				AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages"}})
			if err != nil {
				t.Fatal(err)
			}
			if got := ga.Attributes["ApproximateNumberOfMessages"] == "1"; got != tc.want {
				ga, _ := e.sns.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: sub.SubscriptionArn})
				t.Fatalf("delivered=%v, want %v (subscription %v)", got, tc.want, ga.Attributes)
			}
		})
	}
	_, err := e.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &topic, Protocol: aws.String("sqs"), Endpoint: aws.String("arn:aws:sqs:us-east-1:000000000000:x"),
		Attributes: map[string]string{"FilterPolicy": `{"a":[{"bogus":1}]}`}})
	if code(err) != "InvalidParameter" {
		t.Errorf("bad filter policy: %v, want InvalidParameter", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestTopicTags(t *testing.T) {
	e := start(t)
	ctx := t.Context()
	topic := must(e.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("tagged"),
		Tags: []snstypes.Tag{{Key: aws.String("team"), Value: aws.String("data")}}})).TopicArn
	must(e.sns.TagResource(ctx, &sns.TagResourceInput{ResourceArn: topic, Tags: []snstypes.Tag{{Key: aws.String("env"), Value: aws.String("dev")}, {Key: aws.String("x"), Value: aws.String("y")}}}))
	must(e.sns.UntagResource(ctx, &sns.UntagResourceInput{ResourceArn: topic, TagKeys: []string{"x"}}))
	out := must(e.sns.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: topic}))
	got := map[string]string{}
	for _, tg := range out.Tags {
		got[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if len(got) != 2 || got["team"] != "data" || got["env"] != "dev" {
		t.Fatalf("tags=%v", got)
	}
	_, err := e.sns.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:sns:us-east-1:000000000000:nope")})
	if code(err) != "NotFound" {
		t.Errorf("tags of a missing topic: %v", err)
	}
}

func TestPublishBatch(t *testing.T) {
	e := start(t)
	ctx := t.Context()
	topic := must(e.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("batched")})).TopicArn
	url, arn := e.queue(t, "batch-sink")
	must(e.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic, Protocol: aws.String("sqs"), Endpoint: &arn,
		Attributes: map[string]string{"RawMessageDelivery": "true"}}))
	out, err := e.sns.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: topic, PublishBatchRequestEntries: []snstypes.PublishBatchRequestEntry{
		{Id: aws.String("one"), Message: aws.String("first")},
		{Id: aws.String("two"), Message: aws.String("second"), MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"k": {DataType: aws.String("String"), StringValue: aws.String("v")}}},
		{Id: aws.String("bad"), Message: aws.String("")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Successful) != 2 || len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "bad" || aws.ToString(out.Failed[0].Code) != "InvalidParameter" {
		t.Fatalf("PublishBatch=%+v", out)
	}
	got := map[string]bool{}
	for len(got) < 2 {
		r := must(e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10, WaitTimeSeconds: 5}))
		if len(r.Messages) == 0 {
			t.Fatalf("only %v delivered", got)
		}
		for _, m := range r.Messages {
			got[aws.ToString(m.Body)] = true
		}
	}
	if !got["first"] || !got["second"] {
		t.Errorf("delivered %v", got)
	}
	_, err = e.sns.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: topic, PublishBatchRequestEntries: []snstypes.PublishBatchRequestEntry{
		{Id: aws.String("a"), Message: aws.String("x")}, {Id: aws.String("a"), Message: aws.String("y")}}})
	if code(err) != "BatchEntryIdsNotDistinct" {
		t.Errorf("duplicate ids: %v", err)
	}
}
