package sns

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/penstock/penstock/internal/awsapi"
	"github.com/penstock/penstock/internal/sqs"
)

const certPath = "/_penstock/sns/SimpleNotificationService-penstock.pem"

// notification is the JSON envelope SNS delivers to SQS (without
// RawMessageDelivery) and HTTP subscribers. Field order follows AWS.
type notification struct {
	Type              string                  `json:"Type"`
	MessageId         string                  `json:"MessageId"`
	Token             string                  `json:"Token,omitempty"`
	TopicArn          string                  `json:"TopicArn"`
	Subject           string                  `json:"Subject,omitempty"`
	Message           string                  `json:"Message"`
	SubscribeURL      string                  `json:"SubscribeURL,omitempty"`
	Timestamp         string                  `json:"Timestamp"`
	SignatureVersion  string                  `json:"SignatureVersion"`
	Signature         string                  `json:"Signature"`
	SigningCertURL    string                  `json:"SigningCertURL"`
	UnsubscribeURL    string                  `json:"UnsubscribeURL,omitempty"`
	MessageAttributes map[string]envelopeAttr `json:"MessageAttributes,omitempty"`
}

type envelopeAttr struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

// sign fills Signature with a SignatureVersion 1 (SHA1withRSA) signature
// over AWS's canonical string, with penstock's own key; the certificate is
// served at SigningCertURL.
func (s *Service) sign(n *notification) {
	var b strings.Builder
	add := func(k, v string) { b.WriteString(k + "\n" + v + "\n") }
	add("Message", n.Message)
	add("MessageId", n.MessageId)
	if n.Type == "Notification" {
		if n.Subject != "" {
			add("Subject", n.Subject)
		}
		add("Timestamp", n.Timestamp)
		add("TopicArn", n.TopicArn)
		add("Type", n.Type)
	} else {
		add("SubscribeURL", n.SubscribeURL)
		add("Timestamp", n.Timestamp)
		add("Token", n.Token)
		add("TopicArn", n.TopicArn)
		add("Type", n.Type)
	}
	sum := sha1.Sum([]byte(b.String()))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA1, sum[:])
	if err != nil {
		s.log.Error("sns: signing notification", "err", err)
		return
	}
	n.SignatureVersion = "1"
	n.Signature = base64.StdEncoding.EncodeToString(sig)
}

// loadKey reads the signing key and certificate from the SNS_meta bucket,
// creating them on first start.
func (s *Service) loadKey(ctx context.Context) error {
	kv, err := s.o.Store.KV(ctx, "SNS_meta")
	if err != nil {
		return err
	}
	if e, err := kv.Get(ctx, "signing"); err == nil {
		var v struct{ Key, Cert []byte }
		if err := json.Unmarshal(e.Value(), &v); err == nil {
			if k, err := x509.ParsePKCS1PrivateKey(v.Key); err == nil {
				s.key, s.cert = k, v.Cert
				return nil
			}
		}
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("reading signing key: %w", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generating signing key: %w", err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sns.penstock.local"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("creating signing certificate: %w", err)
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	b, _ := json.Marshal(struct{ Key, Cert []byte }{x509.MarshalPKCS1PrivateKey(key), cert})
	if _, err := kv.Create(ctx, "signing", b); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("storing signing key: %w", err)
	} else if err != nil {
		return s.loadKey(ctx) // another node created it first
	}
	s.key, s.cert = key, cert
	return nil
}

func (s *Service) timestamp() string {
	return s.now().UTC().Format("2006-01-02T15:04:05.000Z")
}

func (s *Service) publish(r *http.Request, p params) (any, error) {
	arn := p.get("TopicArn")
	if arn == "" {
		arn = p.get("TargetArn")
	}
	if p.get("PhoneNumber") != "" {
		return nil, errInvalid("Invalid parameter: penstock does not deliver SMS")
	}
	msg, err := parseMessage(p, "")
	if err != nil {
		return nil, err
	}
	id, err := s.fanOut(r.Context(), s.endpoint(r), arn, msg.text, msg.perProto, msg.subject, msg.attrs)
	if err != nil {
		return nil, err
	}
	return struct {
		MessageId string `xml:"MessageId"`
	}{id}, nil
}

// message is one Publish (or PublishBatch entry) request.
type message struct {
	text, subject string
	perProto      map[string]string // MessageStructure=json: per-protocol messages
	attrs         map[string]msgAttr
}

// parseMessage reads Message, Subject, MessageStructure and
// MessageAttributes under prefix ("" or "PublishBatchRequestEntries.member.N.").
func parseMessage(p params, prefix string) (message, error) {
	m := message{text: p.get(prefix + "Message"), subject: p.get(prefix + "Subject"), attrs: p.messageAttributesAt(prefix)}
	if m.text == "" {
		return m, errInvalid("Invalid parameter: Empty message")
	}
	if len(m.text) > 256*1024 {
		return m, errInvalid("Invalid parameter: Message too long")
	}
	if len(m.subject) > 100 || strings.ContainsAny(m.subject, "\n\r") {
		return m, errInvalid("Invalid parameter: Subject")
	}
	if p.get(prefix+"MessageStructure") == "json" {
		var per map[string]string
		if err := json.Unmarshal([]byte(m.text), &per); err != nil || per["default"] == "" {
			return m, errInvalid("Invalid parameter: Message Structure - No default entry in JSON message body")
		}
		m.text, m.perProto = per["default"], per
	}
	return m, nil
}

// publishBatch serves PublishBatch: up to 10 entries with distinct ids,
// each published on its own; failures are reported per entry.
func (s *Service) publishBatch(r *http.Request, p params) (any, error) {
	ctx := r.Context()
	arn := p.get("TopicArn")
	if _, err := s.loadTopic(ctx, arn); err != nil {
		return nil, err
	}
	type ok struct {
		ID        string `xml:"Id"`
		MessageID string `xml:"MessageId"`
	}
	type failed struct {
		ID          string `xml:"Id"`
		Code        string `xml:"Code"`
		Message     string `xml:"Message"`
		SenderFault bool   `xml:"SenderFault"`
	}
	res := struct {
		Successful []ok     `xml:"Successful>member"`
		Failed     []failed `xml:"Failed>member"`
	}{Successful: []ok{}, Failed: []failed{}}
	seen := map[string]bool{}
	var ids []string
	for i := 1; ; i++ {
		id := p.get(fmt.Sprintf("PublishBatchRequestEntries.member.%d.Id", i))
		if id == "" {
			break
		}
		if seen[id] {
			return nil, awsapi.Errorf("BatchEntryIdsNotDistinct", http.StatusBadRequest, "Two or more batch entries in the request have the same Id.")
		}
		seen[id] = true
		ids = append(ids, id)
	}
	switch {
	case len(ids) == 0:
		return nil, awsapi.Errorf("EmptyBatchRequest", http.StatusBadRequest, "The batch request doesn't contain any entries.")
	case len(ids) > 10:
		return nil, awsapi.Errorf("TooManyEntriesInBatchRequest", http.StatusBadRequest, "The batch request contains more entries than permissible.")
	}
	endpoint := s.endpoint(r)
	for i, id := range ids {
		msg, err := parseMessage(p, fmt.Sprintf("PublishBatchRequestEntries.member.%d.", i+1))
		var mid string
		if err == nil {
			mid, err = s.fanOut(ctx, endpoint, arn, msg.text, msg.perProto, msg.subject, msg.attrs)
		}
		if err != nil {
			f := failed{ID: id, Code: "InternalError", Message: err.Error()}
			var ae *awsapi.Error
			if errors.As(err, &ae) {
				f.Code, f.Message, f.SenderFault = ae.Code, ae.Message, ae.Status < 500
			}
			res.Failed = append(res.Failed, f)
			continue
		}
		res.Successful = append(res.Successful, ok{id, mid})
	}
	return res, nil
}

// Publish is the Go API: it publishes message to the topic as Publish does
// and returns the MessageId. A missing topic wraps ErrTopicNotFound.
func (s *Service) Publish(ctx context.Context, topicARN, message string) (string, error) {
	id, err := s.fanOut(ctx, s.apiEndpoint(), topicARN, message, nil, "", nil)
	if err != nil {
		if ae := asNotFound(err); ae {
			return "", fmt.Errorf("%w: %s", ErrTopicNotFound, topicARN)
		}
		return "", fmt.Errorf("publishing to %s: %w", topicARN, err)
	}
	return id, nil
}

// Exists reports whether the topic exists (nil) or an error wrapping
// ErrTopicNotFound.
func (s *Service) Exists(ctx context.Context, topicARN string) error {
	if _, err := s.loadTopic(ctx, topicARN); err != nil {
		if asNotFound(err) {
			return fmt.Errorf("%w: %s", ErrTopicNotFound, topicARN)
		}
		return err
	}
	return nil
}

// fanOut delivers one message to every confirmed subscription: SQS
// subscribers synchronously (the Publish fails if a queue write fails, so
// a published message is in every queue), HTTP subscribers through the
// retrying workers.
func (s *Service) fanOut(ctx context.Context, endpoint, arn, defaultMsg string, perProto map[string]string, subject string, attrs map[string]msgAttr) (string, error) {
	if !utf8.ValidString(defaultMsg) {
		return "", errInvalid("Invalid parameter: Message must be valid UTF-8")
	}
	t, err := s.loadTopic(ctx, arn)
	if err != nil {
		return "", err
	}
	subs, err := s.topicSubs(ctx, t.ARN)
	if err != nil {
		return "", err
	}
	id := uuid.NewString()
	ts := s.timestamp()
	for _, sub := range subs {
		if !sub.Confirmed {
			continue
		}
		msg := defaultMsg
		if v, ok := perProto[sub.Protocol]; ok {
			msg = v
		}
		if !sub.wants(msg, attrs) {
			continue
		}
		n := notification{Type: "Notification", MessageId: id, TopicArn: t.ARN, Subject: subject, Message: msg,
			Timestamp: ts, SigningCertURL: endpoint + certPath,
			UnsubscribeURL: endpoint + "/?Action=Unsubscribe&SubscriptionArn=" + url.QueryEscape(sub.ARN)}
		if len(attrs) > 0 {
			n.MessageAttributes = map[string]envelopeAttr{}
			for k, a := range attrs {
				v := a.String
				if strings.HasPrefix(a.Type, "Binary") {
					v = a.Binary
				}
				n.MessageAttributes[k] = envelopeAttr{Type: a.Type, Value: v}
			}
		}
		s.sign(&n)
		body := msg
		if !sub.raw() {
			b, _ := json.Marshal(n)
			body = string(b)
		}
		switch sub.Protocol {
		case "sqs":
			var qattrs map[string]sqs.MessageAttribute
			if sub.raw() && len(attrs) > 0 {
				qattrs = map[string]sqs.MessageAttribute{}
				for k, a := range attrs {
					qa := sqs.MessageAttribute{DataType: a.Type, StringValue: a.String}
					if strings.HasPrefix(a.Type, "Binary") {
						qa = sqs.MessageAttribute{DataType: a.Type}
						qa.BinaryValue, _ = base64.StdEncoding.DecodeString(a.Binary)
					}
					qattrs[k] = qa
				}
			}
			if s.o.Queues == nil {
				return "", errors.New("sns: no SQS service to deliver to")
			}
			if _, err := s.o.Queues.Send(ctx, sub.Endpoint, body, qattrs); err != nil {
				// AWS would retry and eventually drop; penstock reports it to
				// the publisher's log and carries on with the other subscribers.
				s.log.Warn("sns: delivering to queue", "subscription", sub.ARN, "queue", sub.Endpoint, "err", err)
			}
		case "http", "https":
			if err := s.enqueue(ctx, httpDelivery{URL: sub.Endpoint, Body: []byte(body), Type: "Notification",
				ID: id, Topic: t.ARN, Sub: sub.ARN, Raw: sub.raw()}); err != nil {
				return "", err
			}
		}
	}
	return id, nil
}

// enqueueConfirmation posts a SubscriptionConfirmation to a new HTTP subscriber.
func (s *Service) enqueueConfirmation(ctx context.Context, endpoint string, sub *subscription) {
	n := notification{Type: "SubscriptionConfirmation", MessageId: uuid.NewString(), Token: sub.Token, TopicArn: sub.TopicArn,
		Message:      "You have chosen to subscribe to the topic " + sub.TopicArn + ".\nTo confirm the subscription, visit the SubscribeURL included in this message.",
		SubscribeURL: endpoint + "/?Action=ConfirmSubscription&TopicArn=" + url.QueryEscape(sub.TopicArn) + "&Token=" + sub.Token,
		Timestamp:    s.timestamp(), SigningCertURL: endpoint + certPath}
	s.sign(&n)
	b, _ := json.Marshal(n)
	if err := s.enqueue(ctx, httpDelivery{URL: sub.Endpoint, Body: b, Type: n.Type, ID: n.MessageId, Topic: sub.TopicArn}); err != nil {
		s.log.Warn("sns: queueing subscription confirmation", "endpoint", sub.Endpoint, "err", err)
	}
}

func asNotFound(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NotFound:")
}
