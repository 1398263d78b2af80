package storage

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"
)

// readMux routes the replies of batch Direct Gets and of read cursors' pull
// requests to their readers through one wildcard subscription (no
// subscription per read or per cursor).
//
// Direct Get replies and every status message arrive with the request's
// inbox as their subject and are routed by its last token. A consumer
// delivery arrives with the record's own subject instead; it is routed by
// the consumer name in its reply subject ($JS.ACK...) to the collector of
// that consumer's pull request in progress (a cursor has one at a time).
// A status for a request that is over (a pull request that was served in
// full may still be followed by "409 Batch Completed") is dropped.
type readMux struct {
	prefix string
	sub    *nats.Subscription
	next   atomic.Uint64
	mu     sync.Mutex
	// pending and pulls are guarded by mu.
	pending map[string]*collector // by inbox token
	pulls   map[string]*collector // by consumer name
}

// collector gathers one read's replies; done closes at the terminal status,
// or once want messages arrived, or once maxBytes were delivered: a pull
// request ends without a status when it is served in full, either in
// count or, exactly, in bytes. The server counts a delivery's subject,
// reply subject, headers and data against max_bytes, which is what
// nats.Msg.Size reports for a received message.
type collector struct {
	token    string
	consumer string
	msgs     []*nats.Msg
	want     int
	maxBytes int
	bytes    int
	status   nats.Header
	done     chan struct{}
}

func newReadMux(nc *nats.Conn) (*readMux, error) {
	m := &readMux{prefix: nc.NewRespInbox() + ".", pending: map[string]*collector{}, pulls: map[string]*collector{}}
	sub, err := nc.Subscribe(m.prefix+"*", m.deliver)
	if err != nil {
		return nil, err
	}
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		_ = sub.Unsubscribe()
		return nil, err
	}
	m.sub = sub
	return m, nil
}

// start registers a collector for up to max replies (want, maxBytes: see
// collector, 0 for none; consumer: the read cursor's consumer whose
// deliveries it takes, or ""). The request goes out with inbox(c) as its
// reply subject. The caller must finish it.
func (m *readMux) start(max, want, maxBytes int, consumer string) *collector {
	token := strconv.FormatUint(m.next.Add(1), 36)
	c := &collector{token: token, consumer: consumer, msgs: make([]*nats.Msg, 0, min(max, 1024)),
		want: want, maxBytes: maxBytes, done: make(chan struct{})}
	m.mu.Lock()
	m.pending[token] = c
	if consumer != "" {
		m.pulls[consumer] = c
	}
	m.mu.Unlock()
	return c
}

// inbox is where the collector's request asks for its replies.
func (m *readMux) inbox(c *collector) string { return m.prefix + c.token }

func (m *readMux) finish(c *collector) {
	m.mu.Lock()
	m.endLocked(c)
	m.mu.Unlock()
}

// endLocked unregisters c. Lock must be held.
func (m *readMux) endLocked(c *collector) {
	if m.pending[c.token] == c {
		delete(m.pending, c.token)
	}
	if c.consumer != "" && m.pulls[c.consumer] == c {
		delete(m.pulls, c.consumer)
	}
}

func (m *readMux) deliver(msg *nats.Msg) {
	m.mu.Lock()
	var c *collector
	if token, ok := strings.CutPrefix(msg.Subject, m.prefix); ok {
		c = m.pending[token]
	} else {
		c = m.pulls[ackConsumer(msg.Reply)]
	}
	if c == nil {
		m.mu.Unlock()
		return
	}
	if len(msg.Data) == 0 && msg.Header.Get("Status") != "" {
		m.endLocked(c)
		m.mu.Unlock()
		c.status = msg.Header
		close(c.done)
		return
	}
	c.msgs = append(c.msgs, msg)
	c.bytes += msg.Size()
	if len(c.msgs) == c.want || c.maxBytes > 0 && c.bytes >= c.maxBytes {
		m.endLocked(c)
		m.mu.Unlock()
		close(c.done)
		return
	}
	m.mu.Unlock()
}

// ackConsumer returns the consumer name in a delivery's reply subject (see
// ackMeta for the two layouts), or "".
func ackConsumer(reply string) string {
	rest, ok := strings.CutPrefix(reply, "$JS.ACK.")
	if !ok {
		return ""
	}
	var tok [5]string
	n := 0
	for more := true; more && n < len(tok); n++ {
		tok[n], rest, more = strings.Cut(rest, ".")
	}
	if n < 5 {
		return tok[1]
	}
	// v1: <stream>.<consumer>.<delivered>.<sseq>.<cseq>...; v2: <domain>.<hash>.<stream>.<consumer>...
	// The v1 layout has 7 tokens, v2 at least 9.
	if strings.Count(rest, ".") >= 3 {
		return tok[3]
	}
	return tok[1]
}

func (m *readMux) close() {
	if m.sub != nil {
		_ = m.sub.Unsubscribe()
	}
}
