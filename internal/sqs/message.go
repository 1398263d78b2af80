package sqs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// envelope is what a queue's stream stores per message.
type envelope struct {
	ID      string                      `json:"id"`
	Body    string                      `json:"body"`
	Attrs   map[string]MessageAttribute `json:"attrs,omitempty"`
	Sent    int64                       `json:"sent"`              // unix ms, the service clock
	Visible int64                       `json:"visible,omitempty"` // delayed: unix ms (wall clock) it becomes visible
	SysAttr map[string]string           `json:"sys,omitempty"`
}

// sent is the result of storing one message.
type sent struct {
	ID, MD5Body, MD5Attrs string
}

// validBody checks the characters AWS allows in a message body:
// #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
func validBody(b string) error {
	if b == "" {
		return apiError("MissingParameter", "The request must contain the parameter MessageBody.")
	}
	if !utf8.ValidString(b) {
		return apiError("InvalidMessageContents", "Invalid binary character in message body.")
	}
	for _, r := range b {
		ok := r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) ||
			(r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
		if !ok {
			return apiError("InvalidMessageContents", "Invalid binary character '#x%X' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF", r)
		}
	}
	return nil
}

func validAttrs(attrs map[string]MessageAttribute) error {
	if len(attrs) > 10 {
		return apiError("InvalidParameterValue", "Number of message attributes [%d] exceeds the allowed maximum [10].", len(attrs))
	}
	for n, a := range attrs {
		if n == "" || len(n) > 256 || strings.HasPrefix(strings.ToLower(n), "aws.") || strings.HasPrefix(strings.ToLower(n), "amazon.") {
			return apiError("InvalidParameterValue", "Message attribute name '%s' is invalid.", n)
		}
		switch {
		case strings.HasPrefix(a.DataType, "String"), strings.HasPrefix(a.DataType, "Number"):
			if a.StringValue == "" {
				return apiError("InvalidParameterValue", "Message (user) attribute '%s' must contain a non-empty value of type '%s'.", n, a.DataType)
			}
		case strings.HasPrefix(a.DataType, "Binary"):
			if len(a.BinaryValue) == 0 {
				return apiError("InvalidParameterValue", "Message (user) attribute '%s' must contain a non-empty value of type 'Binary'.", n)
			}
		default:
			return apiError("InvalidParameterValue", "The type of message (user) attribute '%s' is invalid. You must use only the following supported type prefixes: Binary, Number, String.", n)
		}
	}
	return nil
}

// prepare validates one message and builds its stored envelope.
func (s *Service) prepare(m *meta, body string, attrs map[string]MessageAttribute, delay *int) (envelope, []byte, error) {
	if err := validBody(body); err != nil {
		return envelope{}, nil, err
	}
	d := m.seconds("DelaySeconds")
	if delay != nil {
		if *delay < 0 || *delay > 900 {
			return envelope{}, nil, apiError("InvalidParameterValue", "Value %d for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided.", *delay)
		}
		d = time.Duration(*delay) * time.Second
	}
	if err := validAttrs(attrs); err != nil {
		return envelope{}, nil, err
	}
	size := len(body)
	for n, a := range attrs {
		size += len(n) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
	}
	limit, _ := strconv.Atoi(m.attr("MaximumMessageSize"))
	if size > limit {
		return envelope{}, nil, apiError("InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", limit)
	}
	e := envelope{ID: uuid.NewString(), Body: body, Attrs: attrs, Sent: s.now().UnixMilli()}
	if d > 0 {
		e.Visible = time.Now().Add(d).UnixMilli()
	}
	b, err := json.Marshal(e)
	if err != nil {
		return envelope{}, nil, fmt.Errorf("encoding message: %w", err)
	}
	return e, b, nil
}

func sentOf(e envelope) sent {
	return sent{ID: e.ID, MD5Body: md5Hex([]byte(e.Body)), MD5Attrs: attributesMD5(e.Attrs)}
}

// put stores one message in the queue.
func (s *Service) put(ctx context.Context, m *meta, body string, attrs map[string]MessageAttribute, delay *int) (sent, error) {
	e, b, err := s.prepare(m, body, attrs, delay)
	if err != nil {
		return sent{}, err
	}
	ack, err := s.js.Publish(ctx, "sqs."+m.Name, b, jetstream.WithExpectStream(streamName(m.Name)))
	if err != nil {
		return sent{}, s.publishErr(m.Name, err)
	}
	if e.Visible > 0 {
		s.delayed(m.Name, ack.Sequence, time.UnixMilli(e.Visible))
	}
	return sentOf(e), nil
}

func (s *Service) publishErr(queue string, err error) error {
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, nats.ErrNoResponders) {
		return errNoQueue()
	}
	return fmt.Errorf("storing message in %s: %w", queue, err)
}

// putBatch stores prepared messages as one JetStream atomic batch: all or
// none, and (durability "always") one fsync for the batch.
func (s *Service) putBatch(ctx context.Context, m *meta, envs []envelope, bodies [][]byte) error {
	last, err := s.publishBatch(ctx, m, bodies)
	if err != nil {
		return err
	}
	first := last - uint64(len(bodies)) + 1
	for i, e := range envs {
		if e.Visible > 0 {
			s.delayed(m.Name, first+uint64(i), time.UnixMilli(e.Visible))
		}
	}
	return nil
}

// publishBatch publishes bodies atomically and returns the stream sequence
// of the last one.
func (s *Service) publishBatch(ctx context.Context, m *meta, bodies [][]byte) (uint64, error) {
	if len(bodies) == 1 {
		ack, err := s.js.Publish(ctx, "sqs."+m.Name, bodies[0], jetstream.WithExpectStream(streamName(m.Name)))
		if err != nil {
			return 0, s.publishErr(m.Name, err)
		}
		return ack.Sequence, nil
	}
	nc := s.store.Conn()
	id := nuid.Next()
	for i, b := range bodies {
		msg := &nats.Msg{Subject: "sqs." + m.Name, Data: b, Header: nats.Header{}}
		msg.Header.Set("Nats-Batch-Id", id)
		msg.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
		if i < len(bodies)-1 {
			if err := nc.PublishMsg(msg); err != nil {
				return 0, fmt.Errorf("storing messages in %s: %w", m.Name, err)
			}
			continue
		}
		msg.Header.Set("Nats-Batch-Commit", "1")
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		resp, err := nc.RequestMsgWithContext(rctx, msg)
		if err != nil {
			return 0, s.publishErr(m.Name, err)
		}
		var ack struct {
			Seq   uint64 `json:"seq"`
			Error *struct {
				Code        int    `json:"code"`
				ErrCode     int    `json:"err_code"`
				Description string `json:"description"`
			} `json:"error"`
		}
		if err := json.Unmarshal(resp.Data, &ack); err != nil {
			return 0, fmt.Errorf("storing messages in %s: decoding ack: %w", m.Name, err)
		}
		if ack.Error != nil {
			return 0, fmt.Errorf("storing messages in %s: jetstream: %s (code %d)", m.Name, ack.Error.Description, ack.Error.ErrCode)
		}
		return ack.Seq, nil
	}
	panic("unreachable")
}

// pollSlice bounds one server-side wait of a long poll; shortPollGrace is
// how long an empty short poll waits once before answering empty.
const (
	pollSlice      = time.Second
	shortPollGrace = 20 * time.Millisecond
)

// received is one message handed out by receive.
type received struct {
	seq      uint64 // stream sequence
	env      envelope
	handle   string
	count    uint64
	firstRcv int64
}

// receive fetches up to max visible messages, waiting up to wait for the
// first one. vis, when not nil, overrides the queue's visibility timeout.
func (s *Service) receive(ctx context.Context, m *meta, max int, wait time.Duration, vis *time.Duration) ([]received, error) {
	cons, err := s.js.Consumer(ctx, streamName(m.Name), consumerName)
	if err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, errNoQueue()
		}
		return nil, fmt.Errorf("opening queue %s: %w", m.Name, err)
	}
	if vis == nil && m.seconds("VisibilityTimeout") == 0 {
		zero := time.Duration(0)
		vis = &zero
	}
	var redrive *redrivePolicy
	if v := m.attr("RedrivePolicy"); v != "" {
		redrive = &redrivePolicy{}
		if err := json.Unmarshal([]byte(v), redrive); err != nil {
			redrive = nil
		}
	}
	var out []received
	seen := map[uint64]bool{} // stream seqs in this answer
	graced := false
	deadline := time.Now().Add(wait)
	for len(out) < max {
		var batch jetstream.MessageBatch
		remaining := time.Until(deadline)
		if len(out) == 0 && remaining >= 100*time.Millisecond {
			// Long poll: a one-message pull request the server completes as
			// soon as a message is available; the rest are taken without
			// waiting. The wait is cut in slices of pollSlice so a poll whose
			// client left, or a stopping server, ends within one slice.
			if ctx.Err() != nil || s.stopping() {
				break
			}
			batch, err = cons.Fetch(1, jetstream.FetchMaxWait(min(remaining, pollSlice)))
		} else {
			batch, err = cons.FetchNoWait(max - len(out))
		}
		if err != nil {
			return out, fmt.Errorf("receiving from %s: %w", m.Name, err)
		}
		got, again := 0, false
		for msg := range batch.Messages() {
			got++
			r, keep, err := s.take(ctx, m, msg, vis, redrive)
			if err != nil {
				s.log.Warn("sqs: dropping undecodable message", "queue", m.Name, "err", err)
				continue
			}
			if keep && seen[r.seq] {
				again = true // visibility 0: already in this answer and visible again
				continue
			}
			if keep {
				seen[r.seq] = true
				out = append(out, r)
			}
		}
		if again {
			break
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, jetstream.ErrNoHeartbeat) {
			return out, fmt.Errorf("receiving from %s: %w", m.Name, err)
		}
		if got == 0 && len(out) == 0 && !graced && time.Until(deadline) < 100*time.Millisecond {
			// A short poll found nothing. A message whose publish was just
			// acknowledged may not have reached the consumer's pending count
			// yet: give it one brief wait so send-then-receive finds it.
			graced = true
			batch, err := cons.Fetch(1, jetstream.FetchMaxWait(shortPollGrace))
			if err != nil {
				return out, fmt.Errorf("receiving from %s: %w", m.Name, err)
			}
			for msg := range batch.Messages() {
				got++
				if r, keep, err := s.take(ctx, m, msg, vis, redrive); err == nil && keep {
					out = append(out, r)
				}
			}
		}
		if got == 0 && (len(out) > 0 || time.Until(deadline) < 100*time.Millisecond) {
			break
		}
		if got == 0 {
			continue // redriven messages only, or spurious wake-up: poll again
		}
		if ctx.Err() != nil {
			break
		}
	}
	return out, nil
}

// take turns one delivered message into a received message, applying a
// visibility override and the queue's redrive policy. keep is false when
// the message was moved to the dead-letter queue.
func (s *Service) take(ctx context.Context, m *meta, msg jetstream.Msg, vis *time.Duration, redrive *redrivePolicy) (received, bool, error) {
	md, err := msg.Metadata()
	if err != nil {
		return received{}, false, err
	}
	if ctx.Err() != nil {
		// The client went away during a long poll: hand the message back at
		// once instead of leaving it invisible for the visibility timeout.
		_ = msg.Nak()
		return received{}, false, nil
	}
	var e envelope
	if err := json.Unmarshal(msg.Data(), &e); err != nil {
		_ = msg.Term()
		return received{}, false, err
	}
	if e.Visible > 0 {
		// Delayed delivery: a message pulled before its time goes back with
		// a nak for the rest of the delay, and is not counted as received.
		if left := time.Until(time.UnixMilli(e.Visible)); left > 0 {
			_ = msg.NakWithDelay(left)
			s.early(m.Name, md.Sequence.Stream)
			return received{}, false, nil
		}
	}
	count := md.NumDelivered - s.earlyCount(m.Name, md.Sequence.Stream)
	if redrive != nil && int(count) > redrive.max() {
		if err := s.redrive(ctx, redrive.DeadLetterTargetArn, e); err != nil {
			s.log.Warn("sqs: redrive failed; message stays in the source queue", "queue", m.Name, "err", err)
		} else {
			_ = msg.DoubleAck(ctx)
			return received{}, false, nil
		}
	}
	if vis != nil {
		if *vis <= 0 {
			_ = msg.Nak()
		} else {
			_ = msg.NakWithDelay(*vis)
		}
	}
	hiddenFor := m.seconds("VisibilityTimeout")
	if vis != nil {
		hiddenFor = *vis
	}
	first := s.firstReceive(m.Name, md.Sequence.Stream, hiddenFor)
	return received{
		seq:      md.Sequence.Stream,
		env:      e,
		handle:   base64.RawURLEncoding.EncodeToString([]byte(msg.Reply())),
		count:    count,
		firstRcv: first,
	}, true, nil
}

// redrive moves a message to the dead-letter queue named by ARN.
func (s *Service) redrive(ctx context.Context, arn string, e envelope) error {
	name, err := s.nameFromARN(arn)
	if err != nil {
		return err
	}
	dm, _, err := s.loadMeta(ctx, name)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(e)
	if _, err := s.js.Publish(ctx, "sqs."+dm.Name, b, jetstream.WithExpectStream(streamName(dm.Name))); err != nil {
		return fmt.Errorf("redriving to %s: %w", dm.Name, err)
	}
	return nil
}

// firstReceive remembers when a message was first received and until
// when it is invisible (in memory: ApproximateFirstReceiveTimestamp and the
// in-flight count are this node's view; see doc.go).
func (s *Service) firstReceive(queue string, seq uint64, vis time.Duration) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.state(queue)
	q.hidden[seq] = time.Now().Add(vis)
	if t, ok := q.first[seq]; ok {
		return t
	}
	t := s.now().UnixMilli()
	q.first[seq] = t
	return t
}

// state returns a queue's in-memory state. s.mu must be held.
func (s *Service) state(queue string) *queueState {
	q := s.queues[queue]
	if q == nil {
		q = &queueState{first: map[uint64]int64{}, hidden: map[uint64]time.Time{},
			early: map[uint64]uint64{}, delayed: map[uint64]time.Time{}}
		s.queues[queue] = q
	}
	return q
}

// hide records a new visibility deadline (ChangeMessageVisibility).
func (s *Service) hide(queue string, seq uint64, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state(queue).hidden[seq] = time.Now().Add(d)
}

// forget drops a deleted message's state.
func (s *Service) forget(queue string, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.state(queue)
	delete(q.first, seq)
	delete(q.hidden, seq)
	delete(q.early, seq)
}

// inFlight counts this node's messages still invisible, pruning expired
// deadlines (their first-receive times stay until the message is deleted).
func (s *Service) inFlight(queue string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.state(queue)
	now, n := time.Now(), 0
	for seq, until := range q.hidden {
		if until.After(now) {
			n++
		} else {
			delete(q.hidden, seq)
		}
	}
	return n
}

// early records a delivery of a delayed message before its time.
func (s *Service) early(queue string, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state(queue).early[seq]++
}

// earlyCount is how many deliveries of seq were before its delay ended.
func (s *Service) earlyCount(queue string, seq uint64) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state(queue).early[seq]
}

// delayed records a sent message that is invisible until t.
func (s *Service) delayed(queue string, seq uint64, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state(queue).delayed[seq] = t
}

// delayedCount counts this node's sent messages still delayed.
func (s *Service) delayedCount(queue string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.state(queue)
	now, n := time.Now(), 0
	for seq, t := range q.delayed {
		if t.After(now) {
			n++
		} else {
			delete(q.delayed, seq)
		}
	}
	return n
}

// queueState is per-queue in-memory state (this node's view).
type queueState struct {
	first   map[uint64]int64     // stream seq -> first receive (unix ms)
	hidden  map[uint64]time.Time // stream seq -> invisible until
	early   map[uint64]uint64    // stream seq -> deliveries before its delay ended
	delayed map[uint64]time.Time // stream seq -> delayed until (messages sent here)
}

// handle is a decoded receipt handle: the JetStream ack subject of the
// delivery, "$JS.ACK.[<domain>.<hash>.]SQS_<queue>.sqs.<delivered>.<sseq>.<dseq>.<ts>.<pending>".
type handle struct {
	subject string
	seq     uint64
}

func parseHandle(queue, h string) (handle, error) {
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil || !strings.HasPrefix(string(b), "$JS.ACK.") {
		return handle{}, errReceipt(h)
	}
	toks := strings.Split(string(b), ".")
	for i := 2; i+3 < len(toks); i++ {
		if toks[i] == streamName(queue) && toks[i+1] == consumerName {
			var seq uint64
			if _, err := fmt.Sscanf(toks[i+3], "%d", &seq); err != nil {
				return handle{}, errReceipt(h)
			}
			return handle{subject: string(b), seq: seq}, nil
		}
	}
	return handle{}, errReceipt(h)
}

// ack deletes the message a receipt handle names.
func (s *Service) ack(ctx context.Context, queue, h string) error {
	hd, err := parseHandle(queue, h)
	if err != nil {
		return err
	}
	if err := s.publishAck(ctx, hd.subject, []byte("+ACK")); err != nil {
		return err
	}
	s.forget(queue, hd.seq)
	return nil
}

// changeVisibility makes the message visible again after d.
func (s *Service) changeVisibility(ctx context.Context, queue, h string, d time.Duration) error {
	hd, err := parseHandle(queue, h)
	if err != nil {
		return err
	}
	body := []byte("-NAK")
	s.hide(queue, hd.seq, d)
	if d > 0 {
		body = fmt.Appendf(nil, `-NAK {"delay": %d}`, d.Nanoseconds())
	}
	return s.publishAck(ctx, hd.subject, body)
}

func (s *Service) publishAck(ctx context.Context, subject string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := s.store.Conn().RequestWithContext(ctx, subject, body); err != nil {
		return fmt.Errorf("acknowledging %s: %w", subject, err)
	}
	return nil
}
