package storage

import (
	"sync"

	"github.com/nats-io/nats.go"
)

// Watcher wakes its owner when records are appended to a log. C receives at
// most one pending signal (signals coalesce), so a reader drains the log
// after each wake-up, then waits again. Appends on any node of a cluster
// signal every node's watchers (the signal is a core NATS message).
type Watcher struct {
	C   <-chan struct{}
	c   chan struct{}
	hub *watchHub
	key string
}

// Close stops the watcher. It is safe to call more than once.
func (w *Watcher) Close() { w.hub.remove(w) }

// Watch returns a Watcher for the log. The caller must Close it.
func (s *Store) Watch(id string) *Watcher {
	_, _, notify := logNames(id)
	c := make(chan struct{}, 1)
	w := &Watcher{C: c, c: c, hub: s.watch, key: notify}
	s.watch.add(w)
	return w
}

// watchHub shares one NATS subscription per watched log among its watchers.
type watchHub struct {
	nc *nats.Conn
	mu sync.Mutex
	// subs and watchers are guarded by mu.
	subs     map[string]*nats.Subscription
	watchers map[string]map[*Watcher]struct{}
}

func newWatchHub(nc *nats.Conn) *watchHub {
	return &watchHub{nc: nc, subs: map[string]*nats.Subscription{}, watchers: map[string]map[*Watcher]struct{}{}}
}

func (h *watchHub) add(w *Watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.watchers[w.key]
	if set == nil {
		set = map[*Watcher]struct{}{}
		h.watchers[w.key] = set
		key := w.key
		sub, err := h.nc.Subscribe(key, func(*nats.Msg) { h.signal(key) })
		if err == nil {
			h.subs[key] = sub
		}
	}
	set[w] = struct{}{}
}

func (h *watchHub) signal(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.watchers[key] {
		select {
		case w.c <- struct{}{}:
		default:
		}
	}
}

func (h *watchHub) remove(w *Watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.watchers[w.key]
	if _, ok := set[w]; !ok {
		return
	}
	delete(set, w)
	if len(set) == 0 {
		delete(h.watchers, w.key)
		if sub := h.subs[w.key]; sub != nil {
			_ = sub.Unsubscribe()
			delete(h.subs, w.key)
		}
	}
}

func (h *watchHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, sub := range h.subs {
		_ = sub.Unsubscribe()
		delete(h.subs, k)
	}
}
