package storage

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// ErrLogNotFound means the shard log does not exist.
var ErrLogNotFound = errors.New("storage: log not found")

// Entry is one record to append.
type Entry struct {
	PartitionKey string
	Data         []byte
}

// Record is one stored record.
type Record struct {
	Seq          uint64    // position in the log, 1-based, dense unless trimmed
	Time         time.Time // arrival time, as the server stamped it
	PartitionKey string
	Data         []byte
}

// ReadResult is the answer to Read.
type ReadResult struct {
	Records []Record
	// Pending is how many records follow the last returned one (0 = caught up).
	Pending uint64
}

// LogInfo describes a log's current contents.
type LogInfo struct {
	FirstSeq  uint64 // first record still retained (LastSeq+1 when empty)
	LastSeq   uint64 // last record ever appended (0 when none)
	FirstTime time.Time
	LastTime  time.Time
	Msgs      uint64
	Bytes     uint64
}

// logNames turns a caller's log id into a JetStream stream name and subjects.
// Ids may hold any characters; anything outside [A-Za-z0-9-] is escaped as _XX.
func logNames(id string) (stream, subject, notify string) {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "_%02X", c)
	}
	esc := b.String()
	if len(esc) > 200 {
		sum := sha256.Sum256([]byte(id))
		esc = "h" + hex.EncodeToString(sum[:20])
	}
	return "PSL_" + esc, "psl." + esc, "psn." + esc
}

// CreateLog creates an empty log whose records expire after maxAge. Creating
// a log that exists with the same settings is not an error.
func (s *Store) CreateLog(ctx context.Context, id string, maxAge time.Duration) error {
	name, subj, _ := logNames(id)
	_, err := s.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:               name,
		Subjects:           []string{subj},
		Storage:            jetstream.FileStorage,
		Retention:          jetstream.LimitsPolicy,
		MaxAge:             maxAge,
		Replicas:           s.replicas,
		AllowDirect:        true,
		AllowAtomicPublish: true,
		Duplicates:         0,
		Discard:            jetstream.DiscardOld,
		Metadata:           map[string]string{"penstock-log": id},
	})
	if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return fmt.Errorf("creating log %s: %w", id, err)
	}
	return nil
}

// DeleteLog removes a log and its records. Deleting a missing log is not an error.
func (s *Store) DeleteLog(ctx context.Context, id string) error {
	name, _, _ := logNames(id)
	err := s.js.DeleteStream(ctx, name)
	if s.cursors != nil {
		s.cursors.dropLog(name)
	}
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("deleting log %s: %w", id, err)
	}
	return nil
}

// SetLogMaxAge changes how long records are kept. Shortening it drops
// records older than the new age at once.
func (s *Store) SetLogMaxAge(ctx context.Context, id string, maxAge time.Duration) error {
	name, _, _ := logNames(id)
	st, err := s.js.Stream(ctx, name)
	if err != nil {
		return s.logErr(id, err)
	}
	cfg := st.CachedInfo().Config
	cfg.MaxAge = maxAge
	if _, err := s.js.UpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("updating retention of log %s: %w", id, err)
	}
	return nil
}

func (s *Store) logErr(id string, err error) error {
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("%w: %s", ErrLogNotFound, id)
	}
	return fmt.Errorf("log %s: %w", id, err)
}

func encodeBody(e Entry) []byte {
	return appendBody(make([]byte, 0, binary.MaxVarintLen32+len(e.PartitionKey)+len(e.Data)), e)
}

// appendBody appends a record's stored form: the partition key's length
// (uvarint), the key, the data.
func appendBody(b []byte, e Entry) []byte {
	b = binary.AppendUvarint(b, uint64(len(e.PartitionKey)))
	b = append(b, e.PartitionKey...)
	return append(b, e.Data...)
}

func decodeBody(body []byte) (pk string, data []byte, err error) {
	n, w := binary.Uvarint(body)
	if w <= 0 || uint64(len(body)-w) < n {
		return "", nil, errors.New("storage: corrupt record body")
	}
	return string(body[w : w+int(n)]), body[w+int(n):], nil
}

// maxAtomicBatch is the largest atomic batch the server accepts by default.
const maxAtomicBatch = 1000

type pubAck struct {
	Stream string `json:"stream"`
	Seq    uint64 `json:"seq"`
	Count  uint64 `json:"count"`
	Error  *struct {
		Code        int    `json:"code"`
		ErrCode     int    `json:"err_code"`
		Description string `json:"description"`
	} `json:"error"`
}

// Append writes entries to the end of the log as one atomic batch: either all
// are stored, contiguous and in order, or none is. With durability "always"
// the batch is on disk (one fsync) before Append returns. It returns the
// sequence of the first entry; the others follow one by one.
// Batches over 1000 entries are written as several atomic batches.
// Concurrent Appends to one log share atomic batches (group commit, see
// appender.go); each still gets a contiguous range of sequences.
func (s *Store) Append(ctx context.Context, id string, entries []Entry) (uint64, error) {
	if len(entries) == 0 {
		return 0, errors.New("storage: append of zero entries")
	}
	_, subj, notify := logNames(id)
	return s.groupAppend(ctx, id, subj, notify, entries)
}

func (s *Store) appendBatch(ctx context.Context, id, subj string, entries []Entry) (uint64, error) {
	if len(entries) == 1 {
		ack, err := s.request(ctx, &nats.Msg{Subject: subj, Data: encodeBody(entries[0])})
		if err != nil {
			return 0, s.appendErr(id, err)
		}
		return ack.Seq, nil
	}
	// One message, header map and body buffer serve the whole batch:
	// PublishMsg copies header and data into the connection's buffer
	// before it returns.
	seq := []string{""}
	m := &nats.Msg{Subject: subj, Header: nats.Header{"Nats-Batch-Id": {nuid.Next()}, "Nats-Batch-Sequence": seq}}
	var body []byte
	for i, e := range entries {
		body = appendBody(body[:0], e)
		m.Data = body
		seq[0] = strconv.Itoa(i + 1)
		if i < len(entries)-1 {
			if err := s.nc.PublishMsg(m); err != nil {
				return 0, fmt.Errorf("appending to log %s: %w", id, err)
			}
			continue
		}
		m.Header["Nats-Batch-Commit"] = []string{"1"}
		ack, err := s.request(ctx, m)
		if err != nil {
			return 0, s.appendErr(id, err)
		}
		return ack.Seq - uint64(len(entries)) + 1, nil
	}
	panic("unreachable")
}

func (s *Store) appendErr(id string, err error) error {
	if errors.Is(err, nats.ErrNoResponders) {
		return fmt.Errorf("%w: %s", ErrLogNotFound, id)
	}
	return fmt.Errorf("appending to log %s: %w", id, err)
}

func (s *Store) request(ctx context.Context, m *nats.Msg) (pubAck, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	resp, err := s.nc.RequestMsgWithContext(ctx, m)
	if err != nil {
		return pubAck{}, err
	}
	var ack pubAck
	if err := json.Unmarshal(resp.Data, &ack); err != nil {
		return pubAck{}, fmt.Errorf("decoding publish ack: %w", err)
	}
	if ack.Error != nil {
		return pubAck{}, fmt.Errorf("jetstream: %s (code %d)", ack.Error.Description, ack.Error.ErrCode)
	}
	return ack, nil
}

// Read returns up to max records starting at seq (or at the first retained
// record after it, if seq was trimmed). Past the first record it returns at
// most maxBytes of record data in all (0: no limit); at least one record
// is returned if any exists. Pending is how many records followed the last
// returned one when it was read (with none returned: 0). A missing log is
// ErrLogNotFound.
//
// A Read returns a record only once the commit that stored it has
// finished (with durability "always", its fsync included): never part of
// an atomic batch that is still being committed.
// Sequential readers (each Read starting where the previous one ended) are
// served by cached read cursors (cursor.go), others by one batch Direct Get.
func (s *Store) Read(ctx context.Context, id string, seq uint64, max, maxBytes int) (ReadResult, error) {
	name, _, _ := logNames(id)
	if seq == 0 {
		seq = 1
	}
	if max <= 0 {
		max = 1
	}
	if maxBytes < 0 {
		maxBytes = 0
	}
	if s.cursors == nil {
		return s.readDirect(ctx, id, name, seq, max, maxBytes)
	}
	if res, ok, err := s.readCursor(ctx, id, name, seq, max, maxBytes); ok {
		return res, err
	}
	res, err := s.readDirect(ctx, id, name, seq, max, maxBytes)
	if n := len(res.Records); n > 0 && max >= minSequentialBatch {
		s.cursors.remember(name, res.Records[n-1].Seq+1)
	}
	return res, err
}

// readDirect answers a Read with one batch Direct Get. The server counts
// subject and headers against max_bytes too, and sends the record that
// reaches it, so only that last record can exceed the data budget; it is
// then left for the next Read.
func (s *Store) readDirect(ctx context.Context, id, stream string, seq uint64, max, maxBytes int) (ReadResult, error) {
	req := make([]byte, 0, 80)
	req = append(req, `{"seq":`...)
	req = strconv.AppendUint(req, seq, 10)
	req = append(req, `,"batch":`...)
	req = strconv.AppendInt(req, int64(max), 10)
	if maxBytes > 0 {
		req = append(req, `,"max_bytes":`...)
		req = strconv.AppendInt(req, int64(maxBytes), 10)
	}
	req = append(req, '}')
	res, err := s.directGet(ctx, id, "$JS.API.DIRECT.GET."+stream, req, max)
	if err != nil || maxBytes == 0 {
		return res, err
	}
	data := 0
	for i, r := range res.Records {
		data += len(r.Data)
		if i > 0 && data > maxBytes {
			res.Pending += uint64(len(res.Records) - i)
			clear(res.Records[i:])
			res.Records = res.Records[:i]
			break
		}
	}
	return res, nil
}

// collect sends req to subj with a reply inbox of the read mux and waits
// for the replies (see collector for want, maxBytes and consumer).
//
// A request that reached a stream just before it was deleted is never
// answered (no "no responders" either), so while it waits, collect checks
// every probeEvery that the log still exists.
func (s *Store) collect(ctx context.Context, id, subj string, req []byte, max, want, maxBytes int, consumer string) (*collector, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	c := s.reads.start(max, want, maxBytes, consumer)
	defer s.reads.finish(c)
	if err := s.nc.PublishRequest(subj, s.reads.inbox(c), req); err != nil {
		return nil, fmt.Errorf("reading log %s: %w", id, err)
	}
	probe := time.NewTimer(probeEvery)
	defer probe.Stop()
	for {
		select {
		case <-c.done:
			return c, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("reading log %s: %w", id, ctx.Err())
		case <-probe.C:
			name, _, _ := logNames(id)
			if _, err := s.js.Stream(ctx, name); errors.Is(err, jetstream.ErrStreamNotFound) {
				return nil, s.logErr(id, err)
			}
			probe.Reset(probeEvery)
		}
	}
}

// probeEvery: see collect.
const probeEvery = time.Second

// directGet sends a batch Direct Get and collects the replies until EOB.
func (s *Store) directGet(ctx context.Context, id, subj string, req []byte, max int) (ReadResult, error) {
	c, err := s.collect(ctx, id, subj, req, max, 0, 0, "")
	if err != nil {
		return ReadResult{}, err
	}
	var res ReadResult
	switch c.status.Get("Status") {
	case "204": // end of batch
		if p := c.status.Get("Nats-Num-Pending"); p != "" {
			res.Pending, _ = strconv.ParseUint(p, 10, 64)
		}
	case "404": // nothing at or after seq
	case "503":
		return ReadResult{}, s.logErr(id, jetstream.ErrStreamNotFound)
	default:
		return ReadResult{}, fmt.Errorf("reading log %s: status %s %s", id, c.status.Get("Status"), c.status.Get("Description"))
	}
	res.Records = make([]Record, 0, len(c.msgs))
	for _, m := range c.msgs {
		r, err := recordOf(m)
		if err != nil {
			return ReadResult{}, fmt.Errorf("reading log %s: %w", id, err)
		}
		res.Records = append(res.Records, r)
	}
	return res, nil
}

func recordOf(m *nats.Msg) (Record, error) {
	seq, err := strconv.ParseUint(m.Header.Get("Nats-Sequence"), 10, 64)
	if err != nil {
		return Record{}, fmt.Errorf("bad Nats-Sequence %q", m.Header.Get("Nats-Sequence"))
	}
	ts, err := time.Parse(time.RFC3339Nano, m.Header.Get("Nats-Time-Stamp"))
	if err != nil {
		return Record{}, fmt.Errorf("bad Nats-Time-Stamp: %w", err)
	}
	pk, data, err := decodeBody(m.Data)
	if err != nil {
		return Record{}, err
	}
	return Record{Seq: seq, Time: ts, PartitionKey: pk, Data: data}, nil
}

// Info returns the log's first and last positions and times.
func (s *Store) Info(ctx context.Context, id string) (LogInfo, error) {
	name, _, _ := logNames(id)
	st, err := s.js.Stream(ctx, name)
	if err != nil {
		return LogInfo{}, s.logErr(id, err)
	}
	state := st.CachedInfo().State
	return LogInfo{
		FirstSeq: state.FirstSeq, LastSeq: state.LastSeq,
		FirstTime: state.FirstTime, LastTime: state.LastTime,
		Msgs: state.Msgs, Bytes: state.Bytes,
	}, nil
}

// SeqAtTime returns the position of the first record that arrived at or
// after t, or LastSeq+1 when there is none.
func (s *Store) SeqAtTime(ctx context.Context, id string, t time.Time) (uint64, error) {
	name, _, _ := logNames(id)
	req, _ := json.Marshal(struct {
		StartTime time.Time `json:"start_time"`
		Batch     int       `json:"batch"`
	}{t.UTC(), 1})
	res, err := s.directGet(ctx, id, "$JS.API.DIRECT.GET."+name, req, 1)
	if err != nil {
		return 0, err
	}
	if len(res.Records) > 0 {
		return res.Records[0].Seq, nil
	}
	info, err := s.Info(ctx, id)
	if err != nil {
		return 0, err
	}
	return info.LastSeq + 1, nil
}
