package kinesis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/penstock/penstock/internal/awsapi"
)

// SubscribeToShard pushes a shard's records to an enhanced fan-out
// consumer as an AWS event stream (application/vnd.amazon.eventstream)
// over the open HTTP response, HTTP/1.1 chunked or HTTP/2, as AWS:
//
//   - the first message is an initial-response event (botocore requires it);
//   - then SubscribeToShardEvent messages, one per batch of records and at
//     least every 5 s when idle, each with ContinuationSequenceNumber and
//     MillisBehindLatest;
//   - at the end of a closed shard, a last event with ChildShards, then the
//     stream ends;
//   - the subscription ends after 5 minutes;
//   - a second subscription for the same consumer and shard within 5 s of
//     the first is refused with ResourceInUseException; later, it takes
//     over and the first ends with a ResourceInUseException event.
const (
	subscriptionLifetime = 5 * time.Minute
	subscriptionTakeover = 5 * time.Second
	heartbeatEvery       = 5 * time.Second
	maxEventBytes        = 2 << 20
	contentEventStream   = "application/vnd.amazon.eventstream"
	subscribeAnswerDelay = 10 * time.Millisecond
)

type subscriptions struct {
	mu sync.Mutex
	// active is guarded by mu; keyed by consumer key + "|" + shard id.
	active map[string]*subscription
}

type subscription struct {
	started time.Time
	kill    chan *awsapi.Error // buffered(1): ends the subscription with this exception
}

func newSubscriptions() *subscriptions {
	return &subscriptions{active: map[string]*subscription{}}
}

func (r *subscriptions) start(key string, now time.Time) (*subscription, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.active[key]; old != nil {
		if now.Sub(old.started) < subscriptionTakeover {
			return nil, errorf(codeResourceInUse, "Another active subscription exists for this consumer and shard (%s).", key[strings.LastIndexByte(key, '|')+1:])
		}
		old.end(errorf(codeResourceInUse, "Another subscription for this consumer and shard took over."))
	}
	sub := &subscription{started: now, kill: make(chan *awsapi.Error, 1)}
	r.active[key] = sub
	return sub, nil
}

func (sub *subscription) end(err *awsapi.Error) {
	select {
	case sub.kill <- err:
	default:
	}
}

func (r *subscriptions) done(key string, sub *subscription) {
	r.mu.Lock()
	if r.active[key] == sub {
		delete(r.active, key)
	}
	r.mu.Unlock()
}

// end stops every subscription of one consumer.
func (r *subscriptions) end(consumer string, err *awsapi.Error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, sub := range r.active {
		if strings.HasPrefix(k, consumer+"|") {
			sub.end(err)
		}
	}
}

// subscribeToShard validates the request and, if it is good, streams. An
// error returned before streaming is written as a normal error response.
func (s *Service) subscribeToShard(ctx context.Context, w http.ResponseWriter, r *reader) error {
	var v validator
	arn := r.str("ConsumerARN")
	v.str("consumerARN", arn, true, 1, 2048, reConsumerARN)
	shardArg := r.str("ShardId")
	v.str("shardId", shardArg, true, 1, 128, reShardID)
	var typ, seqArg *string
	var ts *time.Time
	sp := r.object("StartingPosition")
	if v.required("startingPosition", sp != nil) {
		typ = sp.str("Type")
		v.enum("startingPosition.type", typ, true, "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")
		seqArg = sp.str("SequenceNumber")
		v.str("startingPosition.sequenceNumber", seqArg, false, 0, 0, reSeqNumber)
		ts = sp.timestamp("Timestamp")
	}
	if err := check(r, &v); err != nil {
		return err
	}
	m, c, err := s.findConsumer(ctx, consumerRef{arn: arn})
	if err != nil {
		return err
	}
	if c.Status != statusActive {
		return errorf(codeResourceInUse, "Consumer %s is not ACTIVE, instead in state %s.", *arn, c.Status)
	}
	idx, err := ShardIndex(*shardArg)
	sh := m.shard(idx)
	if err != nil || sh == nil {
		return errShardNotFound(*shardArg, m.Name, s.o.AccountID)
	}
	pos, err := s.startPosition(ctx, m, sh, *typ, seqArg, ts)
	if err != nil {
		return err
	}
	key := consumerKey(m.Name, c) + "|" + sh.id()
	sub, err := s.subs.start(key, s.now())
	if err != nil {
		return err
	}
	defer s.subs.done(key, sub)
	// Answer a few milliseconds late, as AWS over a network would: Go SDK
	// clients (smithy-go 1.28.8) close the request body as soon as the
	// response arrives, racing net/http's last read of that body; when the
	// response wins (easily on loopback) the client transport closes the
	// connection under the event stream.
	select {
	case <-time.After(subscribeAnswerDelay):
	case <-ctx.Done():
		return nil
	}
	es := &eventWriter{w: w, rc: http.NewResponseController(w), isCBOR: r.isCBOR, enc: eventstream.NewEncoder()}
	w.Header().Set("Content-Type", contentEventStream)
	w.WriteHeader(http.StatusOK)
	if err := es.event("initial-response", map[string]any{}); err != nil {
		return nil
	}
	s.stream(ctx, es, sub, m.Name, sh.Index, pos)
	return nil
}

// stream sends events until the subscription ends. Errors after the
// response started are exception events (or a closed connection).
func (s *Service) stream(ctx context.Context, es *eventWriter, sub *subscription, name string, index int, pos uint64) {
	changes, stopWatch := s.reg.subscribe(name)
	defer stopWatch()
	log := s.store.Watch(s.logOf(ctx, name, index))
	defer log.Close()
	lifetime := time.NewTimer(subscriptionLifetime)
	defer lifetime.Stop()
	heartbeat := time.NewTimer(0)
	defer heartbeat.Stop()
	beat := true
	for {
		m, _, err := s.reg.get(ctx, name)
		if err == nil && m == nil {
			err = errStreamNotFound(name, s.o.AccountID)
		}
		var sh *shardMeta
		if err == nil {
			if sh = m.shard(index); sh == nil {
				err = errShardNotFound(shardID(index), name, s.o.AccountID)
			}
		}
		var recs []any
		var event map[string]any
		end := false
		if err == nil {
			event, recs, end, pos, err = s.nextEvent(ctx, m, sh, pos)
		}
		if err != nil {
			_ = es.exception(asAWS(err))
			return
		}
		if len(recs) > 0 || beat || end {
			if es.event("SubscribeToShardEvent", event) != nil {
				return
			}
			beat = false
			if !heartbeat.Stop() {
				select {
				case <-heartbeat.C:
				default:
				}
			}
			heartbeat.Reset(heartbeatEvery)
		}
		if end {
			return
		}
		if len(recs) > 0 {
			continue // drain before waiting
		}
		select {
		case <-log.C:
		case <-changes:
		case <-heartbeat.C:
			beat = true
		case <-lifetime.C:
			return
		case e := <-sub.kill:
			_ = es.exception(e)
			return
		case <-ctx.Done():
			return
		case <-s.stopping:
			return
		}
	}
}

// nextEvent reads what follows pos and builds the event for it.
func (s *Service) nextEvent(ctx context.Context, m *streamMeta, sh *shardMeta, pos uint64) (map[string]any, []any, bool, uint64, error) {
	now := s.now()
	res, next, pending, err := s.read(ctx, m, sh, pos, maxGetRecords, maxEventBytes, now)
	if err != nil {
		return nil, nil, false, pos, err
	}
	recs := recordsOut(sh.Index, res)
	behind, err := s.behind(ctx, sh, res, pending)
	if err != nil {
		return nil, nil, false, pos, err
	}
	cont := next
	if cont > 0 {
		cont--
	}
	event := map[string]any{
		"Records":                    recs,
		"ContinuationSequenceNumber": SequenceNumber(sh.Index, cont),
		"MillisBehindLatest":         behind,
	}
	end := sh.Closed && (next > sh.EndSeq || (len(res) == 0 && pending == 0))
	if end {
		event["ChildShards"] = childShards(m, sh)
	}
	return event, recs, end, next, nil
}

func (s *Service) logOf(ctx context.Context, name string, index int) string {
	m, _, _ := s.reg.get(ctx, name)
	if m != nil {
		if sh := m.shard(index); sh != nil {
			return sh.Log
		}
	}
	return ""
}

// eventWriter writes AWS event-stream messages and flushes each.
type eventWriter struct {
	w      http.ResponseWriter
	rc     *http.ResponseController
	isCBOR bool
	enc    *eventstream.Encoder
}

func (e *eventWriter) write(headers eventstream.Headers, payload any) error {
	body, err := encodeBody(payload, e.isCBOR)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := e.enc.Encode(&buf, eventstream.Message{Headers: headers, Payload: body}); err != nil {
		return fmt.Errorf("encoding event: %w", err)
	}
	if _, err := e.w.Write(buf.Bytes()); err != nil {
		return err
	}
	if err := e.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

func (e *eventWriter) event(eventType string, payload any) error {
	h := eventstream.Headers{}
	h.Set(":message-type", eventstream.StringValue("event"))
	h.Set(":event-type", eventstream.StringValue(eventType))
	h.Set(":content-type", eventstream.StringValue(contentType(e.isCBOR)))
	return e.write(h, payload)
}

func (e *eventWriter) exception(err *awsapi.Error) error {
	h := eventstream.Headers{}
	h.Set(":message-type", eventstream.StringValue("exception"))
	h.Set(":exception-type", eventstream.StringValue(err.Code))
	h.Set(":content-type", eventstream.StringValue(contentType(e.isCBOR)))
	msg := err.Message
	if err.Status >= 500 {
		msg = msgInternalFailure
	}
	return e.write(h, map[string]any{"message": msg})
}
