package sqs_test

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/penstock/penstock/internal/penstocktest"
)

// queryCall posts a query-protocol request as older SDKs do (form body,
// SigV4 credential scope "sqs", no X-Amz-Target) and returns status and body.
func queryCall(t *testing.T, endpoint string, form url.Values) (int, string) {
	t.Helper()
	form.Set("Version", "2012-11-05")
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestQueryProtocol(t *testing.T) {
	t.Parallel()
	srv := penstocktest.Start(t, nil)
	base := srv.URL()
	status, body := queryCall(t, base+"/", url.Values{"Action": {"CreateQueue"}, "QueueName": {"legacy"},
		"Attribute.1.Name": {"VisibilityTimeout"}, "Attribute.1.Value": {"40"}})
	var created struct {
		URL string `xml:"CreateQueueResult>QueueUrl"`
	}
	if err := xml.Unmarshal([]byte(body), &created); status != 200 || err != nil || !strings.HasSuffix(created.URL, "/000000000000/legacy") {
		t.Fatalf("CreateQueue: %d %s", status, body)
	}
	// Query clients post to the queue URL.
	status, body = queryCall(t, created.URL, url.Values{"Action": {"SendMessage"}, "MessageBody": {"hello & <xml>"},
		"MessageAttribute.1.Name": {"k"}, "MessageAttribute.1.Value.DataType": {"String"}, "MessageAttribute.1.Value.StringValue": {"v"}})
	var sent struct {
		ID      string `xml:"SendMessageResult>MessageId"`
		MD5     string `xml:"SendMessageResult>MD5OfMessageBody"`
		AttrMD5 string `xml:"SendMessageResult>MD5OfMessageAttributes"`
	}
	if err := xml.Unmarshal([]byte(body), &sent); status != 200 || err != nil || sent.ID == "" || sent.MD5 != md5Hex("hello & <xml>") || sent.AttrMD5 == "" {
		t.Fatalf("SendMessage: %d %s", status, body)
	}
	status, body = queryCall(t, base+"/", url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {created.URL}, "WaitTimeSeconds": {"5"},
		"AttributeName.1": {"All"}, "MessageAttributeName.1": {"All"}})
	var got struct {
		Messages []struct {
			ID      string `xml:"MessageId"`
			Handle  string `xml:"ReceiptHandle"`
			Body    string `xml:"Body"`
			AttrMD5 string `xml:"MD5OfMessageAttributes"`
			Attrs   []struct {
				Name  string `xml:"Name"`
				Value string `xml:"Value"`
			} `xml:"Attribute"`
			MsgAttrs []struct {
				Name  string `xml:"Name"`
				Value string `xml:"Value>StringValue"`
				Type  string `xml:"Value>DataType"`
			} `xml:"MessageAttribute"`
		} `xml:"ReceiveMessageResult>Message"`
	}
	if err := xml.Unmarshal([]byte(body), &got); status != 200 || err != nil || len(got.Messages) != 1 {
		t.Fatalf("ReceiveMessage: %d %s", status, body)
	}
	m := got.Messages[0]
	if m.ID != sent.ID || m.Body != "hello & <xml>" || m.AttrMD5 != sent.AttrMD5 || len(m.MsgAttrs) != 1 || m.MsgAttrs[0].Value != "v" || m.MsgAttrs[0].Type != "String" {
		t.Errorf("received %+v", m)
	}
	count := ""
	for _, a := range m.Attrs {
		if a.Name == "ApproximateReceiveCount" {
			count = a.Value
		}
	}
	if count != "1" {
		t.Errorf("ApproximateReceiveCount=%q in %+v", count, m.Attrs)
	}
	status, body = queryCall(t, created.URL, url.Values{"Action": {"DeleteMessageBatch"},
		"DeleteMessageBatchRequestEntry.1.Id": {"a"}, "DeleteMessageBatchRequestEntry.1.ReceiptHandle": {m.Handle},
		"DeleteMessageBatchRequestEntry.2.Id": {"b"}, "DeleteMessageBatchRequestEntry.2.ReceiptHandle": {"garbage"}})
	var del struct {
		OK     []string `xml:"DeleteMessageBatchResult>DeleteMessageBatchResultEntry>Id"`
		Failed []string `xml:"DeleteMessageBatchResult>BatchResultErrorEntry>Code"`
	}
	if err := xml.Unmarshal([]byte(body), &del); status != 200 || err != nil || len(del.OK) != 1 || len(del.Failed) != 1 || del.Failed[0] != "ReceiptHandleIsInvalid" {
		t.Fatalf("DeleteMessageBatch: %d %s", status, body)
	}
	status, body = queryCall(t, created.URL, url.Values{"Action": {"GetQueueAttributes"}, "AttributeName.1": {"VisibilityTimeout"}})
	if status != 200 || !strings.Contains(body, "<Attribute><Name>VisibilityTimeout</Name><Value>40</Value></Attribute>") {
		t.Fatalf("GetQueueAttributes: %d %s", status, body)
	}
	status, body = queryCall(t, base+"/", url.Values{"Action": {"GetQueueUrl"}, "QueueName": {"missing"}})
	var e struct {
		Type string `xml:"Error>Type"`
		Code string `xml:"Error>Code"`
	}
	if err := xml.Unmarshal([]byte(body), &e); status != 400 || err != nil || e.Code != "AWS.SimpleQueueService.NonExistentQueue" || e.Type != "Sender" {
		t.Fatalf("GetQueueUrl of a missing queue: %d %s", status, body)
	}
	status, body = queryCall(t, created.URL, url.Values{"Action": {"DeleteQueue"}})
	if status != 200 || !strings.Contains(body, "<DeleteQueueResponse") {
		t.Fatalf("DeleteQueue: %d %s", status, body)
	}
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
