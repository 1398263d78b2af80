package runtime

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestSpinStat(t *testing.T) {
	// Each step is an outcome of a spin ("hit", "miss"); after it, tries
	// lists what the following try calls answer until one allows a spin.
	tests := []struct {
		name  string
		steps []string
		want  []int // reads that park at once after each step
	}{
		{"hits never skip", []string{"hit", "hit", "hit"}, []int{0, 0, 0}},
		{"misses back off", []string{"miss", "miss", "miss"}, []int{1, 3, 7}},
		{"back-off is capped", []string{"miss", "miss", "miss", "miss", "miss", "miss", "miss", "miss"}, []int{1, 3, 7, 15, 31, 63, 63, 63}},
		{"a hit forgets misses", []string{"miss", "miss", "hit", "miss"}, []int{1, 3, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s spinStat
			for i, step := range tt.steps {
				s.record(step == "hit")
				skipped := 0
				for !s.try() {
					skipped++
				}
				if skipped != tt.want[i] {
					t.Fatalf("after step %d (%s): %d reads parked at once, want %d", i, step, skipped, tt.want[i])
				}
			}
		})
	}
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

func TestSpinReader(t *testing.T) {
	tests := []struct {
		name     string
		budget   time.Duration
		slots    int32 // spinners allowed; -1 = the policy's default
		peer     func(net.Conn)
		deadline bool // the read times out (nothing ever arrives)
		want     string
		wantErr  error
		misses   uint8 // the wait's spinStat afterwards
	}{
		{name: "data waiting", budget: time.Second, slots: -1, peer: func(c net.Conn) { io.WriteString(c, "GET /") }, want: "GET /"},
		{name: "data while spinning", budget: 10 * time.Second, slots: -1, peer: func(c net.Conn) { go io.WriteString(c, "POST /") }, want: "POST /"},
		{name: "peer closed", budget: time.Second, slots: -1, peer: func(c net.Conn) { c.Close() }, wantErr: io.EOF},
		{name: "spin runs out, then parks", budget: time.Millisecond, slots: -1, deadline: true, wantErr: os.ErrDeadlineExceeded, misses: 1},
		{name: "no slot: parks at once, learns nothing", budget: time.Hour, slots: 0, deadline: true, wantErr: os.ErrDeadlineExceeded},
		{name: "spinning off", budget: 0, slots: -1, peer: func(c net.Conn) { io.WriteString(c, "x") }, want: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, cli := tcpPair(t)
			p := newSpinPolicy(tt.budget)
			if tt.slots >= 0 {
				p.slots.Store(tt.slots)
			}
			slots := p.slots.Load()
			r := newSpinReader(srv, p)
			var st spinStat
			r.expect(&st)
			if tt.peer != nil {
				tt.peer(cli)
			}
			if tt.deadline {
				_ = srv.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			}
			buf := make([]byte, 64)
			n, err := r.Read(buf)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Read error %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && !strings.HasPrefix(tt.want, string(buf[:n])) {
				t.Fatalf("Read %q, want (a prefix of) %q", buf[:n], tt.want)
			}
			if st.misses != tt.misses {
				t.Errorf("misses %d, want %d", st.misses, tt.misses)
			}
			if got := p.slots.Load(); got != slots {
				t.Errorf("spinner slots %d after the read, want %d back", got, slots)
			}
			if err == nil && tt.budget > 0 && r.wait != &r.segment {
				t.Errorf("after data the reader should wait for the request's next segment")
			}
		})
	}
}

// TestSpinReaderJudged: a spin for a judged wait that catches a request is
// recorded only when the handler gives its verdict, or as paid when the
// next request starts without one.
func TestSpinReaderJudged(t *testing.T) {
	tests := []struct {
		name    string
		verdict func(r *spinReader)
		misses  uint8
	}{
		{"handler: did not pay", func(r *spinReader) { r.verdict(false) }, 4},
		{"handler: paid", func(r *spinReader) { r.verdict(true) }, 0},
		{"no verdict: paid", func(r *spinReader) { r.expect(nil) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, cli := tcpPair(t)
			r := newSpinReader(srv, newSpinPolicy(time.Second))
			st := spinStat{judged: true, misses: 3}
			r.expect(&st)
			io.WriteString(cli, "GET /")
			if _, err := r.Read(make([]byte, 8)); err != nil {
				t.Fatal(err)
			}
			if st.misses != 3 || r.judge != &st {
				t.Fatalf("the spin was recorded before the verdict (misses %d, pending %v)", st.misses, r.judge != nil)
			}
			tt.verdict(r)
			if st.misses != tt.misses || r.judge != nil {
				t.Fatalf("misses %d (pending %v), want %d", st.misses, r.judge != nil, tt.misses)
			}
		})
	}
}
