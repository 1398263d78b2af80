package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrQueueNotFound is what the Go API returns for a missing queue.
var ErrQueueNotFound = errors.New("sqs: queue does not exist")

const consumerName = "sqs"

// Attribute defaults, as AWS documents them for a new standard queue.
var defaultAttributes = map[string]string{
	"VisibilityTimeout":             "30",
	"MessageRetentionPeriod":        "345600",
	"DelaySeconds":                  "0",
	"MaximumMessageSize":            "262144",
	"ReceiveMessageWaitTimeSeconds": "0",
	"SqsManagedSseEnabled":          "true",
}

// settable lists the attributes CreateQueue/SetQueueAttributes accept, with
// their validation.
var settable = map[string]func(string) error{
	"VisibilityTimeout":             intRange(0, 43200),
	"MessageRetentionPeriod":        intRange(60, 1209600),
	"DelaySeconds":                  intRange(0, 900),
	"MaximumMessageSize":            intRange(1024, 1048576),
	"ReceiveMessageWaitTimeSeconds": intRange(0, 20),
	"Policy":                        func(string) error { return nil },
	"RedrivePolicy":                 validRedrive,
	"RedriveAllowPolicy":            func(string) error { return nil },
	"SqsManagedSseEnabled":          oneOf("true", "false"),
	"KmsMasterKeyId":                func(string) error { return nil },
	"KmsDataKeyReusePeriodSeconds":  intRange(60, 86400),
}

func intRange(lo, hi int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("must be an integer between %d and %d", lo, hi)
		}
		return nil
	}
}

func oneOf(vals ...string) func(string) error {
	return func(v string) error {
		for _, x := range vals {
			if v == x {
				return nil
			}
		}
		return fmt.Errorf("must be one of %v", vals)
	}
}

type redrivePolicy struct {
	DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	MaxReceiveCount     any    `json:"maxReceiveCount"` // AWS accepts "5" or 5
}

func (p redrivePolicy) max() int {
	switch v := p.MaxReceiveCount.(type) {
	case float64:
		return int(v)
	case string:
		n, _ := strconv.Atoi(v)
		return n
	}
	return 0
}

func validRedrive(v string) error {
	if v == "" {
		return nil
	}
	var p redrivePolicy
	if err := json.Unmarshal([]byte(v), &p); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	if p.DeadLetterTargetArn == "" || p.max() < 1 || p.max() > 1000 {
		return errors.New("needs deadLetterTargetArn and maxReceiveCount 1..1000")
	}
	return nil
}

// meta is a queue's record in the SQS_queues KV bucket.
type meta struct {
	Name         string            `json:"name"`
	Created      int64             `json:"created"`      // unix seconds
	LastModified int64             `json:"lastModified"` // unix seconds
	Attributes   map[string]string `json:"attributes"`   // set attributes only
	Tags         map[string]string `json:"tags,omitempty"`
}

func (m *meta) attr(name string) string {
	if v, ok := m.Attributes[name]; ok {
		return v
	}
	return defaultAttributes[name]
}

func (m *meta) seconds(name string) time.Duration {
	n, _ := strconv.Atoi(m.attr(name))
	return time.Duration(n) * time.Second
}

var nameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

func streamName(q string) string { return "SQS_" + q }

func (s *Service) queueURL(host, name string) string {
	if host == "" {
		host = "localhost:4566"
	}
	return "http://" + host + "/" + s.account + "/" + name
}

// ARN returns the ARN of the named queue.
func (s *Service) ARN(name string) string {
	return "arn:aws:sqs:" + s.region + ":" + s.account + ":" + name
}

// nameFromURL accepts a queue URL (any host) or a bare name.
func (s *Service) nameFromURL(u string) (string, error) {
	if u == "" {
		return "", apiError("MissingParameter", "The request must contain the parameter QueueUrl.")
	}
	if !strings.Contains(u, "/") {
		return u, nil
	}
	parts := strings.Split(strings.TrimRight(u, "/"), "/")
	if len(parts) < 2 {
		return "", apiError("InvalidAddress", "The address %s is not valid for this endpoint.", u)
	}
	if acct := parts[len(parts)-2]; acct != s.account && acct != "queue" {
		return "", errNoQueue()
	}
	return parts[len(parts)-1], nil
}

// nameFromARN parses arn:aws:sqs:<region>:<account>:<name>.
func (s *Service) nameFromARN(arn string) (string, error) {
	p := strings.Split(arn, ":")
	if len(p) != 6 || p[0] != "arn" || p[2] != "sqs" {
		return "", fmt.Errorf("sqs: %q is not a queue ARN", arn)
	}
	if p[4] != s.account || p[3] != s.region {
		return "", fmt.Errorf("%w: %s (this server is account %s in %s)", ErrQueueNotFound, arn, s.account, s.region)
	}
	return p[5], nil
}

// loadMeta reads a queue's metadata; errNoQueue when absent.
func (s *Service) loadMeta(ctx context.Context, name string) (*meta, uint64, error) {
	if !nameRe.MatchString(name) {
		return nil, 0, errNoQueue()
	}
	e, err := s.kv.Get(ctx, name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, errNoQueue()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading queue %s: %w", name, err)
	}
	var m meta
	if err := json.Unmarshal(e.Value(), &m); err != nil {
		return nil, 0, fmt.Errorf("decoding queue %s: %w", name, err)
	}
	return &m, e.Revision(), nil
}

// ensureStorage creates or updates the queue's stream and consumer to match
// its attributes.
func (s *Service) ensureStorage(ctx context.Context, m *meta) error {
	maxSize, _ := strconv.Atoi(m.attr("MaximumMessageSize"))
	_, err := s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       streamName(m.Name),
		Subjects:   []string{"sqs." + m.Name},
		Retention:  jetstream.WorkQueuePolicy,
		MaxAge:     m.seconds("MessageRetentionPeriod"),
		Storage:    jetstream.FileStorage,
		Replicas:   s.store.Replicas(),
		Discard:    jetstream.DiscardOld,
		MaxMsgSize: int32(maxSize + 64<<10), // body plus envelope and attributes
		// SendMessageBatch stores its messages as one atomic batch.
		AllowAtomicPublish: true,
	})
	if err != nil {
		return fmt.Errorf("creating stream for queue %s: %w", m.Name, err)
	}
	_, err = s.js.CreateOrUpdateConsumer(ctx, streamName(m.Name), jetstream.ConsumerConfig{
		Durable:       consumerName,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait(m.seconds("VisibilityTimeout")),
		MaxDeliver:    -1,
		MaxAckPending: 120000, // AWS's in-flight limit for standard queues
		MaxWaiting:    4096,
	})
	if err != nil {
		return fmt.Errorf("creating consumer for queue %s: %w", m.Name, err)
	}
	return nil
}

// ackWait maps a visibility timeout to the consumer's AckWait. A zero
// timeout is handled at receive time (the message is nak'd at once), so the
// consumer keeps a nominal one-second wait.
func ackWait(vis time.Duration) time.Duration {
	if vis <= 0 {
		return time.Second
	}
	return vis
}

// validateAttributes checks names and values of attributes to set.
func validateAttributes(attrs map[string]string) error {
	for k, v := range attrs {
		check, ok := settable[k]
		if !ok {
			return apiError("InvalidAttributeName", "Unknown Attribute %s.", k)
		}
		if err := check(v); err != nil {
			return apiError("InvalidAttributeValue", "Invalid value for the parameter %s. Reason: %v.", k, err)
		}
	}
	return nil
}

// createQueue creates the queue or returns the existing one when the given
// attributes match.
func (s *Service) create(ctx context.Context, name string, attrs, tags map[string]string) error {
	if strings.HasSuffix(name, ".fifo") || attrs["FifoQueue"] == "true" {
		return apiError("InvalidParameterValue", "penstock does not support FIFO queues.")
	}
	delete(attrs, "FifoQueue")
	if !nameRe.MatchString(name) {
		return apiError("InvalidParameterValue", "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	if err := validateAttributes(attrs); err != nil {
		return err
	}
	if err := s.checkRedriveTarget(ctx, attrs["RedrivePolicy"]); err != nil {
		return err
	}
	now := s.now().Unix()
	if err := validTags(tags); err != nil {
		return err
	}
	m := &meta{Name: name, Created: now, LastModified: now, Attributes: maps.Clone(attrs), Tags: maps.Clone(tags)}
	if m.Attributes == nil {
		m.Attributes = map[string]string{}
	}
	b, _ := json.Marshal(m)
	if _, err := s.kv.Create(ctx, name, b); err != nil {
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("creating queue %s: %w", name, err)
		}
		old, _, err := s.loadMeta(ctx, name)
		if err != nil {
			return err
		}
		for k, v := range attrs {
			if old.attr(k) != v {
				return apiError("QueueNameExists", "A queue already exists with the same name and a different value for attribute %s", k)
			}
		}
		return s.ensureStorage(ctx, old)
	}
	if err := s.ensureStorage(ctx, m); err != nil {
		_ = s.kv.Delete(ctx, name)
		return err
	}
	return nil
}

func (s *Service) remove(ctx context.Context, name string) error {
	if _, _, err := s.loadMeta(ctx, name); err != nil {
		return err
	}
	if err := s.js.DeleteStream(ctx, streamName(name)); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("deleting stream of queue %s: %w", name, err)
	}
	if err := s.kv.Purge(ctx, name); err != nil {
		return fmt.Errorf("deleting queue %s: %w", name, err)
	}
	s.mu.Lock()
	delete(s.queues, name)
	s.mu.Unlock()
	return nil
}

func (s *Service) setAttributes(ctx context.Context, name string, attrs map[string]string) error {
	if err := validateAttributes(attrs); err != nil {
		return err
	}
	if err := s.checkRedriveTarget(ctx, attrs["RedrivePolicy"]); err != nil {
		return err
	}
	return s.update(ctx, name, func(m *meta) {
		for k, v := range attrs {
			if v == "" && (k == "RedrivePolicy" || k == "Policy") {
				delete(m.Attributes, k)
				continue
			}
			m.Attributes[k] = v
		}
		m.LastModified = s.now().Unix()
	})
}

// update applies change to the queue's metadata (compare-and-set, retried
// on concurrent updates) and brings its storage in line.
func (s *Service) update(ctx context.Context, name string, change func(*meta)) error {
	for {
		m, rev, err := s.loadMeta(ctx, name)
		if err != nil {
			return err
		}
		if m.Attributes == nil {
			m.Attributes = map[string]string{}
		}
		change(m)
		b, _ := json.Marshal(m)
		if _, err := s.kv.Update(ctx, name, b, rev); err != nil {
			if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
				continue // concurrent update: retry on the new revision
			}
			return fmt.Errorf("updating queue %s: %w", name, err)
		}
		return s.ensureStorage(ctx, m)
	}
}

// names lists queue names with the prefix, sorted.
func (s *Service) names(ctx context.Context, prefix string) ([]string, error) {
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing queues: %w", err)
	}
	var out []string
	for k := range lister.Keys() {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	_ = lister.Stop() // after a full iteration Stop reports the closed subscription
	sortStrings(out)
	return out, nil
}

// validTags checks tag keys and values as AWS does (at most 50, keys
// 1..128, values 0..256 characters).
func validTags(tags map[string]string) error {
	if len(tags) > 50 {
		return apiError("InvalidParameterValue", "Too many tags: %d (at most 50).", len(tags))
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 {
			return apiError("InvalidParameterValue", "Tag key must be 1 to 128 characters and value at most 256.")
		}
	}
	return nil
}

// checkRedriveTarget refuses a RedrivePolicy whose dead-letter queue does
// not exist, as AWS does.
func (s *Service) checkRedriveTarget(ctx context.Context, policy string) error {
	if policy == "" {
		return nil
	}
	var p redrivePolicy
	if err := json.Unmarshal([]byte(policy), &p); err != nil {
		return nil // validateAttributes reported it
	}
	name, err := s.nameFromARN(p.DeadLetterTargetArn)
	if err == nil {
		_, _, err = s.loadMeta(ctx, name)
	}
	if err != nil {
		return apiError("InvalidParameterValue", "Value %s for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.", policy)
	}
	return nil
}
