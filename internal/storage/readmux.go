package storage

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"
)

// readMux routes the replies of batch Direct Gets to their readers through
// one wildcard subscription (no subscription per read).
type readMux struct {
	prefix string
	sub    *nats.Subscription
	next   atomic.Uint64
	mu     sync.Mutex
	// pending is guarded by mu.
	pending map[string]*collector
}

// collector gathers one read's replies; done closes at the terminal status.
type collector struct {
	msgs   []*nats.Msg
	status nats.Header
	done   chan struct{}
}

func newReadMux(nc *nats.Conn) (*readMux, error) {
	m := &readMux{prefix: nc.NewRespInbox() + ".", pending: map[string]*collector{}}
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

func (m *readMux) start(max int) (*collector, string) {
	token := strconv.FormatUint(m.next.Add(1), 36)
	c := &collector{msgs: make([]*nats.Msg, 0, min(max, 1024)), done: make(chan struct{})}
	m.mu.Lock()
	m.pending[token] = c
	m.mu.Unlock()
	return c, m.prefix + token
}

func (m *readMux) finish(inbox string) {
	m.mu.Lock()
	delete(m.pending, inbox[len(m.prefix):])
	m.mu.Unlock()
}

func (m *readMux) deliver(msg *nats.Msg) {
	token := msg.Subject[len(m.prefix):]
	m.mu.Lock()
	c := m.pending[token]
	if c == nil {
		m.mu.Unlock()
		return
	}
	if len(msg.Data) == 0 && msg.Header.Get("Status") != "" {
		delete(m.pending, token)
		m.mu.Unlock()
		c.status = msg.Header
		close(c.done)
		return
	}
	c.msgs = append(c.msgs, msg)
	m.mu.Unlock()
}

func (m *readMux) close() {
	if m.sub != nil {
		_ = m.sub.Unsubscribe()
	}
}
