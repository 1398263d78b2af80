package runtime

import (
	"errors"
	"fmt"
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

func TestSpinPolicy(t *testing.T) {
	tests := []struct {
		cores, running int32
		want           int // spinners that may start at once
	}{
		{cores: 1, running: 0, want: 0},
		{cores: 2, running: 0, want: 1},
		{cores: 2, running: 1, want: 1},
		{cores: 2, running: 2, want: 0},
		{cores: 4, running: 1, want: 3},
		{cores: 4, running: 2, want: 2},
		{cores: 4, running: 5, want: 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d cores %d running", tt.cores, tt.running), func(t *testing.T) {
			p := newSpinPolicy(time.Millisecond)
			p.cores = tt.cores
			p.running.Store(tt.running)
			n := 0
			for p.acquire() {
				n++
			}
			if n != tt.want {
				t.Fatalf("%d spinners, want %d", n, tt.want)
			}
			for range n {
				p.release()
			}
			if p.spinners.Load() != 0 {
				t.Fatalf("%d spinners after releasing all", p.spinners.Load())
			}
		})
	}
	if (*spinPolicy)(nil).acquire() || newSpinPolicy(0).acquire() {
		t.Fatal("a nil or zero-budget policy spins")
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
		busy     bool // every core is taken by invocations in flight
		peer     func(net.Conn)
		deadline bool // the read times out (nothing ever arrives)
		want     string
		wantErr  error
		misses   uint8 // the wait's spinStat afterwards
	}{
		{name: "data waiting", budget: time.Second, peer: func(c net.Conn) { io.WriteString(c, "GET /") }, want: "GET /"},
		{name: "data while spinning", budget: 10 * time.Second, peer: func(c net.Conn) { go io.WriteString(c, "POST /") }, want: "POST /"},
		{name: "peer closed", budget: time.Second, peer: func(c net.Conn) { c.Close() }, wantErr: io.EOF},
		{name: "spin runs out, then parks", budget: time.Millisecond, deadline: true, wantErr: os.ErrDeadlineExceeded, misses: 1},
		{name: "no core free: parks at once, learns nothing", budget: time.Hour, busy: true, deadline: true, wantErr: os.ErrDeadlineExceeded},
		{name: "spinning off", budget: 0, peer: func(c net.Conn) { io.WriteString(c, "x") }, want: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, cli := tcpPair(t)
			p := newSpinPolicy(tt.budget)
			p.cores = 2 // whatever GOMAXPROCS the test runs with
			if tt.busy {
				p.running.Store(2)
			}
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
			if got := p.spinners.Load(); got != 0 {
				t.Errorf("%d spinners after the read, want 0", got)
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
			p := newSpinPolicy(time.Second)
			p.cores = 2
			r := newSpinReader(srv, p)
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
