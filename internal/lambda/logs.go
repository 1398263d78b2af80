package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/penstock/penstock/internal/storage"
)

// Function logs live in one JetStream stream, one subject per function,
// bounded by age and size.
const (
	logsStream   = "LAMBDA_logs"
	logsSubject  = "lambda.logs." // + function name
	logsMaxAge   = 7 * 24 * time.Hour
	logsMaxBytes = 1 << 30
)

// Logs is the function log store. It implements runtime.LogSink: the
// runtime writes each line of every environment's output (and the START /
// END / REPORT platform lines) to it.
//
// Lines are buffered and written by Run every logFlushEvery (or sooner when
// logFlushLines are waiting), one message per function per flush holding a
// JSON array of [unix nanos, line] pairs: with JetStream's sync_always every
// message is an fsync, and a line per message would cost several fsyncs per
// invocation. Read writes what is buffered before it reads, so a reader sees
// every line logged before its call (the runtime logs an invocation's lines
// before Invoke returns): `penstock logs` right after an invoke shows it.
type Logs struct {
	js  jetstream.JetStream
	log *slog.Logger

	// flushMu makes flushes one at a time, so batches are stored in the
	// order they were taken.
	flushMu sync.Mutex

	mu      sync.Mutex
	pending map[string][]logRecord // by function
	n       int                    // lines in pending
	dropped int                    // lines dropped since the last flush
	kick    chan struct{}
}

type logRecord [2]any // [unix nanos, line]

const (
	logFlushEvery = 50 * time.Millisecond
	logFlushLines = 512
	logMaxPending = 100000 // lines buffered before new ones are dropped
	logMaxMessage = 512 << 10
)

// NewLogs creates (or opens) the LAMBDA_logs stream. Run writes to it.
func NewLogs(ctx context.Context, st *storage.Store, log *slog.Logger) (*Logs, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	js := st.JetStream()
	_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:      logsStream,
		Subjects:  []string{logsSubject + ">"},
		Storage:   jetstream.FileStorage,
		Replicas:  st.Replicas(),
		MaxAge:    logsMaxAge,
		MaxBytes:  logsMaxBytes,
		Discard:   jetstream.DiscardOld,
		Retention: jetstream.LimitsPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("lambda: creating log stream %s: %w", logsStream, err)
	}
	return &Logs{js: js, log: log, pending: map[string][]logRecord{}, kick: make(chan struct{}, 1)}, nil
}

// WriteLog implements runtime.LogSink. It never blocks on storage; when
// more than logMaxPending lines wait (storage is down), new lines are
// dropped and counted.
func (l *Logs) WriteLog(function string, at time.Time, line string) {
	l.mu.Lock()
	if l.n >= logMaxPending {
		l.dropped++
		l.mu.Unlock()
		return
	}
	l.pending[function] = append(l.pending[function], logRecord{at.UnixNano(), line})
	l.n++
	full := l.n >= logFlushLines
	l.mu.Unlock()
	if full {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// Run writes buffered lines until ctx ends, then writes what is left.
func (l *Logs) Run(ctx context.Context) error {
	t := time.NewTicker(logFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			l.flush(fctx)
			cancel()
			return nil
		case <-t.C:
		case <-l.kick:
		}
		l.flush(ctx)
	}
}

func (l *Logs) flush(ctx context.Context) {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	batch, dropped := l.pending, l.dropped
	if l.n == 0 && dropped == 0 {
		l.mu.Unlock()
		return
	}
	l.pending, l.n, l.dropped = map[string][]logRecord{}, 0, 0
	l.mu.Unlock()
	if dropped > 0 {
		l.log.Warn("lambda: function log lines dropped (log storage too slow)", "lines", dropped)
	}
	var acks []jetstream.PubAckFuture
	for fn, recs := range batch {
		for len(recs) > 0 {
			n, size := 0, 0
			for n < len(recs) && (n == 0 || size < logMaxMessage) {
				size += len(recs[n][1].(string)) + 24
				n++
			}
			b, err := json.Marshal(recs[:n])
			recs = recs[n:]
			if err != nil {
				continue
			}
			m := nats.NewMsg(logsSubject + fn)
			m.Data = b
			f, err := l.js.PublishMsgAsync(m)
			if err != nil {
				l.log.Warn("lambda: writing function logs", "function", fn, "err", err)
				continue
			}
			acks = append(acks, f)
		}
	}
	for _, f := range acks {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			l.log.Warn("lambda: writing function logs", "err", err)
		case <-ctx.Done():
			return
		}
	}
}

// LogLine is one stored log line.
type LogLine struct {
	Time time.Time
	Line string
}

// Read calls f for each line of function logged at or after since, in
// order. With follow it keeps waiting for new lines until ctx ends;
// otherwise it returns after the last stored line.
func (l *Logs) Read(ctx context.Context, function string, since time.Time, follow bool, f func(LogLine) error) error {
	l.flush(ctx)
	// Messages are stamped when flushed, up to a flush interval after
	// their first line.
	from := since.Add(-time.Second)
	cons, err := l.js.OrderedConsumer(ctx, logsStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{logsSubject + function},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &from,
	})
	if err != nil {
		return fmt.Errorf("reading logs of %s: %w", function, err)
	}
	if !follow {
		info, err := cons.Info(ctx)
		if err != nil {
			return fmt.Errorf("reading logs of %s: %w", function, err)
		}
		if info.NumPending == 0 {
			return nil
		}
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("reading logs of %s: %w", function, err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		m, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reading logs of %s: %w", function, err)
		}
		var recs [][2]json.RawMessage
		if err := json.Unmarshal(m.Data(), &recs); err == nil {
			for _, r := range recs {
				var ns int64
				var line string
				if json.Unmarshal(r[0], &ns) != nil || json.Unmarshal(r[1], &line) != nil {
					continue
				}
				at := time.Unix(0, ns)
				if at.Before(since) {
					continue
				}
				if err := f(LogLine{Time: at, Line: line}); err != nil {
					return err
				}
			}
		}
		if meta, _ := m.Metadata(); !follow && meta != nil && meta.NumPending == 0 {
			return nil
		}
	}
}

// parseSince accepts an RFC 3339 time or a duration back from now
// (10m, 1h); empty is 10 minutes, as `aws logs tail` does.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return now.Add(-10 * time.Minute), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("since %q: want an RFC 3339 time or a duration like 10m", s)
	}
	return now.Add(-d), nil
}

// PenstockHandler serves penstock's own function endpoints (mounted by the
// front under /_penstock/):
//
//	GET /_penstock/logs/{function}?since=RFC3339|duration&follow=1
//	    text/plain, one "<RFC 3339 time> <line>" per log line
//	GET /_penstock/code/{function}?sha256=<hex>
//	    the deployment package (GetFunction's Code.Location)
func (s *Service) PenstockHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_penstock/logs/{function}", s.serveLogs)
	mux.HandleFunc("GET /_penstock/code/{function}", s.serveCode)
	return mux
}

func (s *Service) serveLogs(w http.ResponseWriter, r *http.Request) {
	ref, err := parseFunctionName(r.PathValue("function"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := r.URL.Query()
	since, err := parseSince(q.Get("since"), time.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	follow := q.Get("follow") == "1" || q.Get("follow") == "true"
	if _, _, err := s.load(r.Context(), ref.Name); err != nil && !follow {
		// Logs outlive their function (as in CloudWatch); only say "not
		// found" when nothing was ever logged either.
		if errors.Is(err, ErrFunctionNotFound) {
			var any bool
			_ = s.logs.Read(r.Context(), ref.Name, time.Unix(0, 0), false, func(LogLine) error { any = true; return errStale })
			if !any {
				http.Error(w, "function not found: "+ref.Name, http.StatusNotFound)
				return
			}
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	err = s.logs.Read(r.Context(), ref.Name, since, follow, func(l LogLine) error {
		line := strings.TrimRight(l.Line, "\n")
		if _, err := fmt.Fprintf(w, "%s %s\n", l.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"), line); err != nil {
			return err
		}
		if flusher != nil && follow {
			flusher.Flush()
		}
		return nil
	})
	if err != nil && r.Context().Err() == nil {
		s.log.Warn("lambda: serving logs", "function", ref.Name, "err", err)
	}
}

func (s *Service) serveCode(w http.ResponseWriter, r *http.Request) {
	ref, err := parseFunctionName(r.PathValue("function"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rec, _, err := s.load(r.Context(), ref.Name)
	if err != nil {
		http.Error(w, "function not found: "+ref.Name, http.StatusNotFound)
		return
	}
	cd := rec.Code
	if h := r.URL.Query().Get("sha256"); h != "" && h != cd.Hex {
		if rec.Live == nil || rec.Live.Code.Hex != h {
			http.Error(w, "this code version is no longer stored", http.StatusNotFound)
			return
		}
		cd = rec.Live.Code
	}
	data, err := s.code.store.GetBytes(r.Context(), cd.Object)
	if err != nil {
		http.Error(w, "reading code: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}
