package kinesis

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Enhanced fan-out consumers live in their stream's metadata.
type consumerMeta struct {
	Name    string            `json:"name"`
	Created time.Time         `json:"created"` // whole seconds: the ARN carries them
	Status  string            `json:"status"`  // CREATING, ACTIVE, DELETING
	ReadyAt time.Time         `json:"readyAt,omitzero"`
	Tags    map[string]string `json:"tags,omitempty"`
}

const maxConsumersPerStream = 20

var (
	reConsumerName = anchored(`[a-zA-Z0-9_.-]+`)
	reConsumerARN  = anchored(`^(arn):aws.*:kinesis:.*:\d{12}:.*stream\/[a-zA-Z0-9_.-]+\/consumer\/[a-zA-Z0-9_.-]+:[0-9]+`)
	consumerARNRe  = regexp.MustCompile(`^arn:aws[a-z-]*:kinesis:([a-z0-9-]+):(\d{12}):stream/([a-zA-Z0-9_.-]+)/consumer/([a-zA-Z0-9_.-]+):(\d+)$`)
)

func (s *Service) consumerARN(stream string, c *consumerMeta) string {
	return s.arn(stream) + "/consumer/" + c.Name + ":" + strconv.FormatInt(c.Created.Unix(), 10)
}

func (m *streamMeta) consumer(name string) *consumerMeta {
	for i := range m.Consumers {
		if m.Consumers[i].Name == name {
			return &m.Consumers[i]
		}
	}
	return nil
}

func (s *Service) consumerOut(stream string, c *consumerMeta) map[string]any {
	return map[string]any{
		"ConsumerName": c.Name, "ConsumerARN": s.consumerARN(stream, c),
		"ConsumerStatus": c.Status, "ConsumerCreationTimestamp": c.Created,
	}
}

// consumerRef names a consumer by ConsumerARN, or by StreamARN + ConsumerName.
type consumerRef struct {
	arn, streamARN, name *string
}

func readConsumerRef(r *reader, v *validator) consumerRef {
	ref := consumerRef{streamARN: r.str("StreamARN"), name: r.str("ConsumerName"), arn: r.str("ConsumerARN")}
	_ = r.str("StreamId")
	v.str("streamARN", ref.streamARN, false, 1, 2048, reStreamARN)
	v.str("consumerName", ref.name, false, 1, 128, reConsumerName)
	v.str("consumerARN", ref.arn, false, 1, 2048, reConsumerARN)
	return ref
}

// findConsumer resolves a consumer reference to its stream and consumer.
// A consumer ARN must also match the consumer's creation time.
func (s *Service) findConsumer(ctx context.Context, ref consumerRef) (*streamMeta, *consumerMeta, error) {
	var streamName, consumerName string
	var created int64 = -1
	switch {
	case ref.arn != nil:
		m := consumerARNRe.FindStringSubmatch(*ref.arn)
		if m == nil {
			return nil, nil, errInvalidArgument("Invalid ConsumerARN %s.", *ref.arn)
		}
		if m[1] != s.o.Region || m[2] != s.o.AccountID {
			return nil, nil, errorf(codeResourceNotFound, "Consumer %s not found.", *ref.arn)
		}
		streamName, consumerName = m[3], m[4]
		created, _ = strconv.ParseInt(m[5], 10, 64)
	case ref.streamARN != nil && ref.name != nil:
		name, aerr := s.resolve(streamRef{arn: ref.streamARN})
		if aerr != nil {
			return nil, nil, aerr
		}
		streamName, consumerName = name, *ref.name
	default:
		return nil, nil, errInvalidArgument("Either ConsumerARN or both ConsumerName and StreamARN must be provided.")
	}
	m, _, err := s.reg.get(ctx, streamName)
	if err != nil {
		return nil, nil, err
	}
	if m == nil {
		return nil, nil, errStreamNotFound(streamName, s.o.AccountID)
	}
	c := m.consumer(consumerName)
	if c == nil || (created >= 0 && c.Created.Unix() != created) {
		what := consumerName
		if ref.arn != nil {
			what = *ref.arn
		}
		return nil, nil, errorf(codeResourceNotFound, "Consumer %s under stream %s under account %s not found.", what, streamName, s.o.AccountID)
	}
	return m, c, nil
}

func (s *Service) registerStreamConsumer(ctx context.Context, r *reader) (any, error) {
	var v validator
	streamARN := r.str("StreamARN")
	v.str("streamARN", streamARN, true, 1, 2048, reStreamARN)
	name := r.str("ConsumerName")
	v.str("consumerName", name, true, 1, 128, reConsumerName)
	tags, hasTags := r.strMap("Tags")
	if hasTags {
		validateTagMap(&v, "tags", tags)
	}
	if err := check(r, &v); err != nil {
		return nil, err
	}
	m, err := s.lookup(ctx, streamRef{arn: streamARN})
	if err != nil {
		return nil, err
	}
	var out map[string]any
	until, delayed := s.dwell()
	_, err = s.reg.update(ctx, m.Name, func(m *streamMeta) error {
		if m.Status != statusActive && m.Status != statusUpdating {
			return errNotActive(m.Name, s.o.AccountID, m.Status)
		}
		if m.consumer(*name) != nil {
			return errorf(codeResourceInUse, "Consumer %s under stream %s already exists for account %s.", *name, m.Name, s.o.AccountID)
		}
		if len(m.Consumers) >= maxConsumersPerStream {
			return errorf(codeLimitExceeded, "Consumer limit of %d reached for stream %s under account %s.", maxConsumersPerStream, m.Name, s.o.AccountID)
		}
		c := consumerMeta{Name: *name, Created: s.now().Truncate(time.Second), Status: statusActive, Tags: tags}
		if delayed {
			c.Status, c.ReadyAt = statusCreating, until
		}
		m.Consumers = append(m.Consumers, c)
		out = s.consumerOut(m.Name, &c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.wake()
	return map[string]any{"Consumer": out}, nil
}

func (s *Service) describeStreamConsumer(ctx context.Context, r *reader) (any, error) {
	var v validator
	ref := readConsumerRef(r, &v)
	if err := check(r, &v); err != nil {
		return nil, err
	}
	m, c, err := s.findConsumer(ctx, ref)
	if err != nil {
		return nil, err
	}
	d := s.consumerOut(m.Name, c)
	d["StreamARN"] = s.arn(m.Name)
	return map[string]any{"ConsumerDescription": d}, nil
}

func (s *Service) listStreamConsumers(ctx context.Context, r *reader) (any, error) {
	var v validator
	streamARN := r.str("StreamARN")
	v.str("streamARN", streamARN, true, 1, 2048, reStreamARN)
	next := r.str("NextToken")
	v.str("nextToken", next, false, 1, 1048576, nil)
	maxRes := r.integer("MaxResults")
	v.integer("maxResults", maxRes, false, i64(1), i64(10000))
	_ = r.timestamp("StreamCreationTimestamp")
	if err := check(r, &v); err != nil {
		return nil, err
	}
	m, err := s.lookup(ctx, streamRef{arn: streamARN})
	if err != nil {
		return nil, err
	}
	after := ""
	if next != nil {
		t, err := s.decodeToken(*next)
		if errors.Is(err, errBadToken) || (err == nil && t.Stream != m.Name) {
			return nil, errInvalidArgument("Invalid NextToken.")
		} else if err != nil {
			return nil, err
		}
		after = t.After
	}
	limit := 100
	if maxRes != nil && *maxRes < 100 {
		limit = int(*maxRes)
	}
	out := map[string]any{}
	list := []any{}
	for i := range m.Consumers {
		c := &m.Consumers[i]
		if c.Name <= after && after != "" {
			continue
		}
		if len(list) == limit {
			out["NextToken"] = encodeToken(listToken{Stream: m.Name, Epoch: m.Epoch, After: m.Consumers[i-1].Name, Issued: s.now().UnixMilli()})
			break
		}
		list = append(list, s.consumerOut(m.Name, c))
	}
	out["Consumers"] = list
	return out, nil
}

func (s *Service) deregisterStreamConsumer(ctx context.Context, r *reader) (any, error) {
	var v validator
	ref := readConsumerRef(r, &v)
	if err := check(r, &v); err != nil {
		return nil, err
	}
	m, c, err := s.findConsumer(ctx, ref)
	if err != nil {
		return nil, err
	}
	name := c.Name
	until, delayed := s.dwell()
	_, err = s.reg.update(ctx, m.Name, func(m *streamMeta) error {
		for i := range m.Consumers {
			if m.Consumers[i].Name != name {
				continue
			}
			if delayed {
				m.Consumers[i].Status, m.Consumers[i].ReadyAt = statusDeleting, until
			} else {
				m.Consumers = append(m.Consumers[:i], m.Consumers[i+1:]...)
			}
			return nil
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.subs.end(consumerKey(m.Name, c), errorf(codeResourceNotFound, "Consumer %s was deregistered.", name))
	s.wake()
	return nil, nil
}

// consumerTransitions finishes consumers' CREATING/DELETING dwells; it
// returns the next time one is due (zero when none).
func (s *Service) consumerTransitions(ctx context.Context, m *streamMeta) (time.Time, error) {
	now := s.now()
	var next time.Time
	due := false
	for _, c := range m.Consumers {
		if c.Status == statusActive {
			continue
		}
		if !c.ReadyAt.After(now) {
			due = true
		} else if next.IsZero() || c.ReadyAt.Before(next) {
			next = c.ReadyAt
		}
	}
	if !due {
		return next, nil
	}
	_, err := s.reg.update(ctx, m.Name, func(m *streamMeta) error {
		kept := m.Consumers[:0]
		for _, c := range m.Consumers {
			if c.Status != statusActive && !c.ReadyAt.After(now) {
				if c.Status == statusDeleting {
					continue
				}
				c.Status, c.ReadyAt = statusActive, time.Time{}
			}
			kept = append(kept, c)
		}
		m.Consumers = kept
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("consumer transitions of %s: %w", m.Name, err)
	}
	return next, nil
}

func consumerKey(stream string, c *consumerMeta) string {
	return stream + "/" + c.Name + ":" + strconv.FormatInt(c.Created.Unix(), 10)
}
