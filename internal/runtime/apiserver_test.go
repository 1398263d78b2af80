package runtime

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// echoServer runs an apiServer whose handler answers each request with
// what it parsed, as JSON.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newAPIServer(ln, func(c *apiConn, r *apiRequest) {
		b, _ := json.Marshal(map[string]any{
			"method": r.method, "path": r.path, "body": string(r.body), "tooLarge": r.tooLarge,
			"x": r.get("x-test"), "trailer": r.getTrailer("Lambda-Runtime-Function-Error-Type"),
		})
		c.reply(http.StatusOK, "application/json", nil, b)
	}, newSpinPolicy(DefaultSpinWait))
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.serve()
	}()
	t.Cleanup(func() {
		s.close()
		<-done
	})
	return ln.Addr().String()
}

// exchange writes raw bytes followed by a probe request and returns what
// the server answered before the probe's answer. closed reports that the
// connection ended instead of answering the probe (no waiting for silence:
// the probe's answer or the end of the stream decides).
func exchange(t *testing.T, addr, raw string) (got string, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second)) // a hang fails, it is not a result
	go func() { _, _ = io.WriteString(c, raw+"GET /probe HTTP/1.1\r\n\r\n") }()
	var out bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &out))
	for {
		mark := out.Len() - br.Buffered()
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("no answer and no close within 10 s; so far:\n%.600s", out.String())
			}
			return out.String(), true // EOF or reset: closed
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return out.String(), true
		}
		if bytes.Contains(body, []byte(`"path":"/probe"`)) {
			return out.String()[:mark], false
		}
	}
}

func TestAPIServer_Wire(t *testing.T) {
	addr := echoServer(t)
	const ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
	tests := []struct {
		name   string
		raw    string
		want   []string // substrings, in order
		closed bool
	}{
		{"content-length body", "POST /a/b?q=1 HTTP/1.1\r\nHost: x\r\nX-Test: v1\r\nContent-Length: 5\r\n\r\nhello",
			[]string{ok, `"body":"hello"`, `"method":"POST"`, `"path":"/a/b"`, `"x":"v1"`}, false},
		{"chunked with extension and trailer", "POST /r HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTrailer: Lambda-Runtime-Function-Error-Type\r\n\r\n" +
			"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nLambda-Runtime-Function-Error-Type: Runtime.X\r\n\r\n",
			[]string{ok, `"body":"abcde"`, `"trailer":"Runtime.X"`}, false},
		{"expect 100-continue", "POST /r HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
			[]string{"HTTP/1.1 100 Continue\r\n\r\n", ok, `"body":"hi"`}, false},
		{"two pipelined requests", "GET /one HTTP/1.1\r\n\r\nGET /two HTTP/1.1\r\nx-test: lower\r\n\r\n",
			[]string{`"path":"/one"`, `"path":"/two"`, `"x":"lower"`}, false},
		{"leading empty lines", "\r\n\r\nGET /n HTTP/1.1\r\n\r\n", []string{`"path":"/n"`}, false},
		{"bare LF line ends", "GET /lf HTTP/1.1\nX-Test: y\n\n", []string{`"path":"/lf"`, `"x":"y"`}, false},
		{"absolute-form target", "GET http://127.0.0.1:9/2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n",
			[]string{`"path":"/2018-06-01/runtime/invocation/next"`}, false},
		{"HTTP/1.0 closes", "GET /old HTTP/1.0\r\n\r\n", []string{"Connection: close", `"path":"/old"`}, true},
		{"HTTP/1.0 keep-alive", "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", []string{`"path":"/old"`}, false},
		{"Connection: close", "GET /c HTTP/1.1\r\nConnection: close\r\n\r\n", []string{"Connection: close", `"path":"/c"`}, true},
		{"oversized body is dropped", "POST /big HTTP/1.1\r\nContent-Length: 6291557\r\n\r\n" + strings.Repeat("x", 6291557),
			[]string{`"body":""`, `"tooLarge":true`}, false},
		{"oversized body after 100-continue is not asked for", "POST /big HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 6291557\r\n\r\n",
			[]string{"HTTP/1.1 200 OK", `"tooLarge":true`}, true},
		{"oversized chunked body is dropped", "POST /big HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n300040\r\n" + strings.Repeat("y", 0x300040) +
			"\r\n300040\r\n" + strings.Repeat("z", 0x300040) + "\r\n0\r\nLambda-Runtime-Function-Error-Type: T\r\n\r\n",
			[]string{`"body":""`, `"tooLarge":true`, `"trailer":"T"`}, false},
		{"malformed request line", "GARBAGE\r\n\r\n", []string{"HTTP/1.1 400 Bad Request"}, true},
		{"bad header line", "GET / HTTP/1.1\r\nno colon\r\n\r\n", []string{"HTTP/1.1 400 Bad Request"}, true},
		{"folded header", "GET / HTTP/1.1\r\nX-Test: a\r\n b\r\n\r\n", []string{"HTTP/1.1 400 Bad Request"}, true},
		{"bad content-length", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", []string{"HTTP/1.1 400 Bad Request"}, true},
		{"conflicting content-lengths", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", []string{"HTTP/1.1 400 Bad Request"}, true},
		{"bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", []string{"HTTP/1.1 400 Bad Request"}, true},
		{"gzip transfer-encoding", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", []string{"HTTP/1.1 501 Not Implemented"}, true},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", []string{"HTTP/1.1 505 HTTP Version Not Supported"}, true},
		{"unknown expectation", "POST / HTTP/1.1\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx", []string{"HTTP/1.1 417 Expectation Failed"}, true},
		{"header section too large", "GET / HTTP/1.1\r\nX-Big: " + strings.Repeat("a", maxHeaderBytes) + "\r\n\r\n",
			[]string{"HTTP/1.1 431 Request Header Fields Too Large"}, true},
		{"large header within the limit", "GET /h HTTP/1.1\r\nX-Test: " + strings.Repeat("b", 1<<20) + "\r\n\r\n",
			[]string{ok, `"path":"/h"`}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, closed := exchange(t, addr, tt.raw)
			rest := got
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("answer lacks %q (in order):\n%.600s", w, got)
				}
				rest = rest[i+len(w):]
			}
			if closed != tt.closed {
				t.Errorf("connection closed = %v, want %v; answer:\n%.600s", closed, tt.closed, got)
			}
		})
	}
}

// TestAPIServer_NetHTTPClient speaks to the server with net/http's client,
// as aws-lambda-go does: keep-alive reuse, chunked bodies with trailers.
func TestAPIServer_NetHTTPClient(t *testing.T) {
	addr := echoServer(t)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	for i := range 3 {
		req, _ := http.NewRequest("POST", "http://"+addr+"/p", io.MultiReader(strings.NewReader("chunk"), strings.NewReader("ed")))
		req.Trailer = http.Header{"Lambda-Runtime-Function-Error-Type": {"T" + string(rune('0'+i))}}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got["body"] != "chunked" || got["trailer"] != "T"+string(rune('0'+i)) {
			t.Fatalf("request %d parsed as %v", i, got)
		}
	}
}

// TestBashCurlRuntime runs AWS's tutorial custom runtime: a bash bootstrap
// that speaks the Runtime API with curl (which sends Expect: 100-continue
// for large bodies and reads the request id from a header dump).
func TestBashCurlRuntime(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	dir := t.TempDir()
	bootstrap := `#!/bin/bash
set -euo pipefail
HEADERS="$(mktemp)"
while true; do
  EVENT_DATA=$(curl -sS -LD "$HEADERS" "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next")
  REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  printf '%s' "$EVENT_DATA" > "$HEADERS.body"
  curl -sS -X POST "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$REQUEST_ID/response" --data-binary "@$HEADERS.body" -o /dev/null
done
`
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte(bootstrap), 0o755); err != nil {
		t.Fatal(err)
	}
	m, _ := newTestManager(t, nil)
	s := &Spec{Name: "bash-curl", ARN: "arn:aws:lambda:us-east-1:111111111111:function:bash-curl", Runtime: "provided.al2023",
		Handler: "x", CodeDir: dir, Timeout: 30 * time.Second}
	for _, size := range []int{2, 4 << 10, 2 << 20} {
		event := `"` + strings.Repeat("e", size-2) + `"`
		res, err := m.Invoke(t.Context(), s, []byte(event), InvokeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.FunctionError != "" || string(res.Payload) != event {
			t.Fatalf("%d-byte echo: error %q, %d bytes back", size, res.ErrorType, len(res.Payload))
		}
	}
}

// fakeConn is a net.Conn reading from a byte slice and discarding writes.
type fakeConn struct {
	net.Conn
	r io.Reader
}

func (f *fakeConn) Read(p []byte) (int, error)  { return f.r.Read(p) }
func (f *fakeConn) Write(p []byte) (int, error) { return len(p), nil }

// FuzzAPIRequest feeds arbitrary bytes to the request reader: it must not
// panic, and what it accepts net/http must read the same way (method,
// path, body).
func FuzzAPIRequest(f *testing.F) {
	for _, s := range []string{
		"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /2018-06-01/runtime/invocation/id/response HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
		"POST /r HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nA: b\r\n\r\n",
		"POST /r HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
		"GET http://h/p?q HTTP/1.1\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c := &apiConn{conn: &fakeConn{r: bytes.NewReader(raw)}, r: bufio.NewReaderSize(bytes.NewReader(raw), 16<<10)}
		req, err := c.readRequest()
		if err != nil || req.tooLarge {
			return
		}
		std, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return // we are more lenient in places (e.g. a missing Host)
		}
		body, err := io.ReadAll(std.Body)
		if err != nil {
			return
		}
		path, err := url.PathUnescape(req.path)
		if err != nil {
			t.Fatalf("we accepted the path %q, which does not unescape: %v", req.path, err)
		}
		if std.Method != req.method || std.URL.Path != path || !bytes.Equal(body, req.body) {
			t.Fatalf("net/http read %s %q body %q; we read %s %q body %q", std.Method, std.URL.Path, body, req.method, req.path, req.body)
		}
	})
}
