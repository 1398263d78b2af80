package sns

import (
	"context"
	"crypto/rsa"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penstock/penstock/internal/awsapi"
	"github.com/penstock/penstock/internal/sqs"
	"github.com/penstock/penstock/internal/storage"
)

const xmlns = "http://sns.amazonaws.com/doc/2010-03-31/"

// Queues is what SNS needs from SQS to deliver to queue subscribers.
type Queues interface {
	Send(ctx context.Context, queueARN, body string, attrs map[string]sqs.MessageAttribute) (string, error)
}

// Options configures New.
type Options struct {
	Store             *storage.Store
	Queues            Queues
	Region, AccountID string
	Logger            *slog.Logger
	Now               func() time.Time // nil = time.Now
	// HTTPClient posts to http/https subscribers (nil = a client with a
	// 15 s timeout, as AWS's delivery timeout).
	HTTPClient *http.Client
	// HTTPAttempts is how many times one notification is posted to an HTTP
	// endpoint before it is dropped (0 = 4: the first try and 3 retries,
	// AWS's default delivery policy). HTTPBackoff is the first retry delay,
	// doubled per retry up to HTTPMaxBackoff (0 = 1 s and 20 s).
	HTTPAttempts                int
	HTTPBackoff, HTTPMaxBackoff time.Duration
	// HTTPWorkers bounds concurrent HTTP deliveries (0 = 8).
	HTTPWorkers int
}

// Service serves the SNS query protocol and delivers notifications.
type Service struct {
	o      Options
	topics jetstream.KeyValue
	subs   jetstream.KeyValue
	log    *slog.Logger
	now    func() time.Time
	key    *rsa.PrivateKey
	cert   []byte             // PEM of the self-signed signing certificate
	httpq  jetstream.Consumer // SNS_http deliveries (httpdelivery.go)
	// lastEndpoint is the endpoint the latest API request was addressed to:
	// the base of SigningCertURL/UnsubscribeURL for Go API publishes, which
	// have no request of their own.
	lastEndpoint atomic.Value // string
}

// New opens the topic and subscription buckets and the signing key.
func New(ctx context.Context, o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("sns: Options.Store is required")
	}
	s := &Service{o: o, log: o.Logger, now: o.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.o.HTTPClient == nil {
		s.o.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if s.o.HTTPAttempts <= 0 {
		s.o.HTTPAttempts = 4
	}
	if s.o.HTTPBackoff <= 0 {
		s.o.HTTPBackoff = time.Second
	}
	if s.o.HTTPMaxBackoff <= 0 {
		s.o.HTTPMaxBackoff = 20 * time.Second
	}
	if s.o.HTTPWorkers <= 0 {
		s.o.HTTPWorkers = 8
	}
	var err error
	if s.topics, err = o.Store.KV(ctx, "SNS_topics"); err != nil {
		return nil, fmt.Errorf("sns: %w", err)
	}
	if s.subs, err = o.Store.KV(ctx, "SNS_subscriptions"); err != nil {
		return nil, fmt.Errorf("sns: %w", err)
	}
	if err := s.loadKey(ctx); err != nil {
		return nil, fmt.Errorf("sns: %w", err)
	}
	if err := s.openHTTPQueue(ctx); err != nil {
		return nil, fmt.Errorf("sns: %w", err)
	}
	return s, nil
}

type handler func(s *Service, r *http.Request, p params) (any, error)

var actions = map[string]handler{
	"CreateTopic":               (*Service).createTopic,
	"DeleteTopic":               (*Service).deleteTopic,
	"ListTopics":                (*Service).listTopics,
	"GetTopicAttributes":        (*Service).getTopicAttributes,
	"SetTopicAttributes":        (*Service).setTopicAttributes,
	"Subscribe":                 (*Service).subscribe,
	"ConfirmSubscription":       (*Service).confirmSubscription,
	"Unsubscribe":               (*Service).unsubscribe,
	"ListSubscriptions":         (*Service).listSubscriptions,
	"ListSubscriptionsByTopic":  (*Service).listSubscriptionsByTopic,
	"GetSubscriptionAttributes": (*Service).getSubscriptionAttributes,
	"SetSubscriptionAttributes": (*Service).setSubscriptionAttributes,
	"Publish":                   (*Service).publish,
	"PublishBatch":              (*Service).publishBatch,
	"TagResource":               (*Service).tagResource,
	"UntagResource":             (*Service).untagResource,
	"ListTagsForResource":       (*Service).listTagsForResource,
}

// ServeHTTP serves the query protocol: form-encoded POST (or GET with a
// query string, as SubscribeURL/UnsubscribeURL links are) with Action=...,
// XML responses. GET /_penstock/sns/signing-cert.pem serves the signing
// certificate SigningCertURL points at.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == certPath {
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(s.cert)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.writeError(w, errInvalid("malformed request: %v", err))
		return
	}
	p := params(r.Form)
	action := p.get("Action")
	s.endpoint(r)
	h := actions[action]
	if h == nil {
		s.writeError(w, errInvalidAction(action))
		return
	}
	out, err := h(s, r, p)
	if err != nil {
		s.writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write([]byte(xml.Header))
	enc := xml.NewEncoder(w)
	start := xml.StartElement{Name: xml.Name{Local: action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: xmlns}}}
	_ = enc.EncodeToken(start)
	if out != nil {
		_ = enc.EncodeElement(out, xml.StartElement{Name: xml.Name{Local: action + "Result"}})
	}
	_ = enc.EncodeElement(struct {
		RequestID string `xml:"RequestId"`
	}{awsapi.RequestID()}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}})
	_ = enc.EncodeToken(start.End())
	_ = enc.Flush()
}

// params is a parsed query-protocol request.
type params map[string][]string

func (p params) get(k string) string {
	if v := p[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// entries decodes "<prefix>.entry.N.key/value" maps (Attributes).
func (p params) entries(prefix string) map[string]string {
	out := map[string]string{}
	for i := 1; ; i++ {
		k := p.get(fmt.Sprintf("%s.entry.%d.key", prefix, i))
		if k == "" {
			return out
		}
		out[k] = p.get(fmt.Sprintf("%s.entry.%d.value", prefix, i))
	}
}

// messageAttributesAt decodes <prefix>MessageAttributes.entry.N.Name /
// Value.DataType / Value.StringValue / Value.BinaryValue (base64).
func (p params) messageAttributesAt(prefix string) map[string]msgAttr {
	out := map[string]msgAttr{}
	for i := 1; ; i++ {
		pre := fmt.Sprintf("%sMessageAttributes.entry.%d.", prefix, i)
		n := p.get(pre + "Name")
		if n == "" {
			return out
		}
		out[n] = msgAttr{Type: p.get(pre + "Value.DataType"), String: p.get(pre + "Value.StringValue"), Binary: p.get(pre + "Value.BinaryValue")}
	}
}

type msgAttr struct {
	Type   string
	String string
	Binary string // base64
}

func (s *Service) endpoint(r *http.Request) string {
	host := r.Host
	if host == "" {
		host = "localhost:4566"
	}
	s.lastEndpoint.Store("http://" + host)
	return "http://" + host
}

// apiEndpoint is the endpoint for notifications published through the Go API.
func (s *Service) apiEndpoint() string {
	if e, ok := s.lastEndpoint.Load().(string); ok {
		return e
	}
	return "http://localhost:4566"
}

func topicName(arn string) (string, bool) {
	p := strings.Split(arn, ":")
	if len(p) != 6 || p[0] != "arn" || p[2] != "sns" {
		return "", false
	}
	return p[5], true
}
