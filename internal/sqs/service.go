package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penstock/penstock/internal/awsapi"
	"github.com/penstock/penstock/internal/storage"
)

// Options configures New.
type Options struct {
	Store             *storage.Store
	Region, AccountID string
	Logger            *slog.Logger
	// Now is the clock for timestamps (CreatedTimestamp, SentTimestamp...);
	// nil = time.Now. Visibility timeouts run on JetStream's own timers.
	Now func() time.Time
}

// Service serves the SQS JSON protocol and the Go API destinations use.
type Service struct {
	store   *storage.Store
	js      jetstream.JetStream
	kv      jetstream.KeyValue
	region  string
	account string
	log     *slog.Logger
	now     func() time.Time

	mu     sync.Mutex
	queues map[string]*queueState // open queues by name; rebuilt lazily from KV

	stop chan struct{} // closed when Run's context ends: long polls return
}

// Run returns when ctx ends; long polls in progress then return within a
// poll slice (empty), so the HTTP server can shut down promptly.
func (s *Service) Run(ctx context.Context) error {
	<-ctx.Done()
	close(s.stop)
	return nil
}

func (s *Service) stopping() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// New opens (creating if absent) the queue metadata bucket.
func New(ctx context.Context, o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("sqs: Options.Store is required")
	}
	kv, err := o.Store.KV(ctx, "SQS_queues")
	if err != nil {
		return nil, fmt.Errorf("sqs: %w", err)
	}
	s := &Service{
		store: o.Store, js: o.Store.JetStream(), kv: kv,
		region: o.Region, account: o.AccountID,
		log: o.Logger, now: o.Now, queues: map[string]*queueState{}, stop: make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// operation handles one decoded JSON request.
type operation func(s *Service, ctx context.Context, r *http.Request, in json.RawMessage) (any, error)

var operations = map[string]operation{
	"CreateQueue":                  (*Service).createQueue,
	"GetQueueUrl":                  (*Service).getQueueURL,
	"ListQueues":                   (*Service).listQueues,
	"DeleteQueue":                  (*Service).deleteQueue,
	"GetQueueAttributes":           (*Service).getQueueAttributes,
	"SetQueueAttributes":           (*Service).setQueueAttributes,
	"SendMessage":                  (*Service).sendMessage,
	"SendMessageBatch":             (*Service).sendMessageBatch,
	"ReceiveMessage":               (*Service).receiveMessage,
	"DeleteMessage":                (*Service).deleteMessage,
	"DeleteMessageBatch":           (*Service).deleteMessageBatch,
	"ChangeMessageVisibility":      (*Service).changeMessageVisibility,
	"ChangeMessageVisibilityBatch": (*Service).changeMessageVisibilityBatch,
	"PurgeQueue":                   (*Service).purgeQueue,
	"TagQueue":                     (*Service).tagQueue,
	"UntagQueue":                   (*Service).untagQueue,
	"ListQueueTags":                (*Service).listQueueTags,
	"ListDeadLetterSourceQueues":   (*Service).listDeadLetterSourceQueues,
}

// ServeHTTP serves the JSON protocol (X-Amz-Target: AmazonSQS.<Op>), which
// both aws-sdk-go-v2 and the installed AWS CLI use, and the query protocol
// (query.go) for older clients.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if target == "" {
		s.serveQuery(w, r)
		return
	}
	op, ok := strings.CutPrefix(target, "AmazonSQS.")
	if !ok {
		s.writeError(w, apiError("InvalidAction", "unknown target %s", target))
		return
	}
	h := operations[op]
	if h == nil {
		s.writeError(w, apiError("InvalidAction", "The action %s is not valid for this endpoint.", op))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		s.writeError(w, apiError("InvalidParameterValue", "reading request body: %v", err))
		return
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	out, err := h(s, r.Context(), r, body)
	if err != nil {
		s.writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-RequestId", awsapi.RequestID())
	if out == nil {
		out = struct{}{}
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Service) writeError(w http.ResponseWriter, err error) {
	var ae *awsapi.Error
	if !errors.As(err, &ae) {
		s.log.Error("sqs internal error", "err", err)
		ae = apiError("InternalError", "%v", err)
	}
	spec, ok := catalogue[ae.Code]
	if !ok {
		spec = catalogue["InternalError"]
	}
	fault := "Sender"
	if !spec.sender {
		fault = "Receiver"
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-RequestId", awsapi.RequestID())
	w.Header().Set("x-amzn-query-error", spec.queryCode+";"+fault)
	w.WriteHeader(ae.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"__type":  "com.amazonaws.sqs#" + spec.shape,
		"message": ae.Message,
	})
}

// decode unmarshals the request body into v.
func decode(in json.RawMessage, v any) error {
	if err := json.Unmarshal(in, v); err != nil {
		return apiError("InvalidParameterValue", "malformed request: %v", err)
	}
	return nil
}
