package sns_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/penstock/penstock/internal/penstocktest"
)

type env struct {
	sns *sns.Client
	sqs *sqs.Client
	url string
}

func start(t *testing.T) env {
	t.Helper()
	srv := penstocktest.Start(t, nil)
	cfg := penstocktest.AWSConfig(srv)
	return env{sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg), srv.URL()}
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func (e env) queue(t *testing.T, name string) (url, arn string) {
	t.Helper()
	out, err := e.sqs.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.QueueUrl), "arn:aws:sqs:us-east-1:000000000000:" + name
}

func (e env) receiveOne(t *testing.T, url string) sqstypes.Message {
	t.Helper()
	out, err := e.sqs.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 5, MessageAttributeNames: []string{"All"}})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive from %s: %+v, %v", url, out, err)
	}
	return out.Messages[0]
}

func TestTopicsAndSubscriptions(t *testing.T) {
	e := start(t)
	ctx := t.Context()
	ct, err := e.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("alerts")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(ct.TopicArn)
	if arn != "arn:aws:sns:us-east-1:000000000000:alerts" {
		t.Fatalf("TopicArn=%s", arn)
	}
	again, err := e.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("alerts")})
	if err != nil || aws.ToString(again.TopicArn) != arn {
		t.Fatalf("CreateTopic again=%v,%v", again, err)
	}
	if _, err := e.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("other")}); err != nil {
		t.Fatal(err)
	}
	lt, err := e.sns.ListTopics(ctx, &sns.ListTopicsInput{})
	if err != nil || len(lt.Topics) != 2 {
		t.Fatalf("ListTopics=%+v,%v", lt, err)
	}
	_, qarn := e.queue(t, "sink")
	sub, err := e.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &arn, Protocol: aws.String("sqs"), Endpoint: &qarn})
	if err != nil || !strings.HasPrefix(aws.ToString(sub.SubscriptionArn), arn+":") {
		t.Fatalf("Subscribe=%+v,%v", sub, err)
	}
	ga, err := e.sns.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: &arn})
	if err != nil || ga.Attributes["SubscriptionsConfirmed"] != "1" || ga.Attributes["TopicArn"] != arn || ga.Attributes["Owner"] != "000000000000" {
		t.Fatalf("GetTopicAttributes=%v,%v", ga, err)
	}
	ls, err := e.sns.ListSubscriptions(ctx, &sns.ListSubscriptionsInput{})
	if err != nil || len(ls.Subscriptions) != 1 || aws.ToString(ls.Subscriptions[0].Endpoint) != qarn || aws.ToString(ls.Subscriptions[0].Protocol) != "sqs" {
		t.Fatalf("ListSubscriptions=%+v,%v", ls, err)
	}
	lbt, err := e.sns.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String("arn:aws:sns:us-east-1:000000000000:other")})
	if err != nil || len(lbt.Subscriptions) != 0 {
		t.Fatalf("ListSubscriptionsByTopic(other)=%+v,%v", lbt, err)
	}
	if _, err := e.sns.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: sub.SubscriptionArn}); err != nil {
		t.Fatal(err)
	}
	ls, _ = e.sns.ListSubscriptions(ctx, &sns.ListSubscriptionsInput{})
	if len(ls.Subscriptions) != 0 {
		t.Fatalf("after Unsubscribe: %+v", ls.Subscriptions)
	}
	if _, err := e.sns.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: &arn}); err != nil {
		t.Fatal(err)
	}
	// Deleting again is not an error (as AWS).
	if _, err := e.sns.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: &arn}); err != nil {
		t.Fatal(err)
	}

	errCases := []struct {
		name string
		call func() error
		want string
		typ  any
	}{
		{"publish to missing topic", func() error {
			_, err := e.sns.Publish(ctx, &sns.PublishInput{TopicArn: &arn, Message: aws.String("x")})
			return err
		}, "NotFound", &snstypes.NotFoundException{}},
		{"attributes of missing topic", func() error {
			_, err := e.sns.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: &arn})
			return err
		}, "NotFound", &snstypes.NotFoundException{}},
		{"bad topic name", func() error {
			_, err := e.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("bad name!")})
			return err
		}, "InvalidParameter", &snstypes.InvalidParameterException{}},
		{"empty message", func() error {
			_, err := e.sns.Publish(ctx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:000000000000:other"), Message: aws.String("")})
			return err
		}, "InvalidParameter", &snstypes.InvalidParameterException{}},
		{"unsupported protocol", func() error {
			_, err := e.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String("arn:aws:sns:us-east-1:000000000000:other"), Protocol: aws.String("carrier-pigeon"), Endpoint: aws.String("x")})
			return err
		}, "InvalidParameter", &snstypes.InvalidParameterException{}},
		{"unsubscribe missing", func() error {
			_, err := e.sns.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String("arn:aws:sns:us-east-1:000000000000:other:00000000-0000-0000-0000-000000000000")})
			return err
		}, "NotFound", &snstypes.NotFoundException{}},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if got := code(err); got != tc.want {
				t.Fatalf("err=%v code=%q want %q", err, got, tc.want)
			}
		})
	}
}

// TestFanOutToSQS publishes to a topic with an envelope subscriber and a
// raw subscriber and checks both messages.
func TestFanOutToSQS(t *testing.T) {
	e := start(t)
	ctx := t.Context()
	ct, err := e.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("fan")})
	if err != nil {
		t.Fatal(err)
	}
	topic := aws.ToString(ct.TopicArn)
	envURL, envARN := e.queue(t, "enveloped")
	rawURL, rawARN := e.queue(t, "raw")
	if _, err := e.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &topic, Protocol: aws.String("sqs"), Endpoint: &envARN}); err != nil {
		t.Fatal(err)
	}
	rawSub, err := e.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &topic, Protocol: aws.String("sqs"), Endpoint: &rawARN})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sns.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: rawSub.SubscriptionArn,
		AttributeName: aws.String("RawMessageDelivery"), AttributeValue: aws.String("true")}); err != nil {
		t.Fatal(err)
	}
	sa, err := e.sns.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: rawSub.SubscriptionArn})
	if err != nil || sa.Attributes["RawMessageDelivery"] != "true" || sa.Attributes["Endpoint"] != rawARN {
		t.Fatalf("GetSubscriptionAttributes=%v,%v", sa, err)
	}
	pub, err := e.sns.Publish(ctx, &sns.PublishInput{TopicArn: &topic, Message: aws.String(`{"hello":"world"}`), Subject: aws.String("greeting"),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{"kind": {DataType: aws.String("String"), StringValue: aws.String("test")}}})
	if err != nil {
		t.Fatal(err)
	}
	m := e.receiveOne(t, envURL)
	var n map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &n); err != nil {
		t.Fatalf("envelope is not JSON: %v: %s", err, aws.ToString(m.Body))
	}
	for k, want := range map[string]string{"Type": "Notification", "MessageId": aws.ToString(pub.MessageId), "TopicArn": topic,
		"Subject": "greeting", "Message": `{"hello":"world"}`, "SignatureVersion": "1"} {
		if got, _ := n[k].(string); got != want {
			t.Errorf("envelope %s=%q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"Timestamp", "Signature", "SigningCertURL", "UnsubscribeURL"} {
		if s, _ := n[k].(string); s == "" {
			t.Errorf("envelope has no %s: %v", k, n)
		}
	}
	if ts, _ := n["Timestamp"].(string); len(ts) != len("2019-11-14T00:38:06.021Z") || !strings.HasSuffix(ts, "Z") {
		t.Errorf("Timestamp=%q, want ISO-8601 with milliseconds", ts)
	}
	if ma, _ := n["MessageAttributes"].(map[string]any); ma == nil || fmt.Sprint(ma["kind"]) != "map[Type:String Value:test]" {
		t.Errorf("envelope MessageAttributes=%v", n["MessageAttributes"])
	}
	verifySignature(t, n)
	r := e.receiveOne(t, rawURL)
	if aws.ToString(r.Body) != `{"hello":"world"}` {
		t.Errorf("raw body=%s", aws.ToString(r.Body))
	}
	if a := r.MessageAttributes["kind"]; aws.ToString(a.StringValue) != "test" {
		t.Errorf("raw delivery message attributes=%v", r.MessageAttributes)
	}
}

// verifySignature fetches SigningCertURL and checks the SignatureVersion 1
// signature as an SNS client library would.
func verifySignature(t *testing.T, n map[string]any) {
	t.Helper()
	resp, err := http.Get(n["SigningCertURL"].(string))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	pemBytes, _ := io.ReadAll(resp.Body)
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		t.Fatalf("SigningCertURL served %d %q, want a PEM certificate", resp.StatusCode, pemBytes)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, k := range []string{"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"} {
		if v, ok := n[k].(string); ok {
			b.WriteString(k + "\n" + v + "\n")
		}
	}
	sig, _ := base64.StdEncoding.DecodeString(n["Signature"].(string))
	sum := sha1.Sum([]byte(b.String()))
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA1, sum[:], sig); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
}

// TestHTTPSubscriber confirms an HTTP subscription through its SubscribeURL
// and receives a notification after the endpoint failed once (retry).
func TestHTTPSubscriber(t *testing.T) {
	e := start(t)
	ctx := t.Context()
	var mu sync.Mutex
	var got []map[string]any
	var headers []http.Header
	failNext := true
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n map[string]any
		_ = json.NewDecoder(r.Body).Decode(&n)
		mu.Lock()
		defer mu.Unlock()
		if n["Type"] == "Notification" && failNext {
			failNext = false
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		got = append(got, n)
		headers = append(headers, r.Header.Clone())
	}))
	t.Cleanup(hs.Close)
	ct, _ := e.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("web")})
	topic := aws.ToString(ct.TopicArn)
	sub, err := e.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &topic, Protocol: aws.String("http"), Endpoint: aws.String(hs.URL + "/hook")})
	if err != nil || aws.ToString(sub.SubscriptionArn) != "pending confirmation" {
		t.Fatalf("Subscribe=%+v,%v want pending confirmation", sub, err)
	}
	var confirm map[string]any
	penstocktest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(got) == 0 {
			return errors.New("no SubscriptionConfirmation yet")
		}
		confirm = got[0]
		return nil
	})
	if confirm["Type"] != "SubscriptionConfirmation" || confirm["Token"] == "" {
		t.Fatalf("confirmation=%v", confirm)
	}
	resp, err := http.Get(confirm["SubscribeURL"].(string))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<SubscriptionArn>"+topic+":") {
		t.Fatalf("SubscribeURL answered %d %s", resp.StatusCode, body)
	}
	pub, err := e.sns.Publish(ctx, &sns.PublishInput{TopicArn: &topic, Message: aws.String("ping")})
	if err != nil {
		t.Fatal(err)
	}
	penstocktest.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(got) < 2 {
			return errors.New("notification not delivered yet")
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	n, h := got[1], headers[1]
	if n["Type"] != "Notification" || n["Message"] != "ping" || n["MessageId"] != aws.ToString(pub.MessageId) {
		t.Errorf("notification=%v", n)
	}
	if h.Get("x-amz-sns-message-type") != "Notification" || h.Get("x-amz-sns-topic-arn") != topic || !strings.HasPrefix(h.Get("x-amz-sns-subscription-arn"), topic+":") {
		t.Errorf("headers=%v", h)
	}
	if failNext {
		t.Errorf("the endpoint's first failure was not retried")
	}
}
