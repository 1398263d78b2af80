package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// apiServer is the HTTP/1.1 server behind one environment's Runtime API.
//
// It is not net/http: the Runtime API is four routes spoken over one
// keep-alive connection by one local process, and every invocation costs
// two round trips on it (GET /next, POST /response), so the server's
// per-request cost is on the critical path of every warm invoke. net/http
// spends it on a background read per request (to notice disconnects),
// deadline syscalls, header maps and an extra flush; this server reads a
// request with one buffered reader, answers with one write, and keeps
// nothing but the connection's buffers between requests (see
// BenchmarkInvokeWarm in the package doc for the numbers).
//
// What it speaks: HTTP/1.0 and 1.1 requests, keep-alive and
// "Connection: close", Content-Length and chunked bodies (with trailers,
// which aws-lambda-go uses to report a failed response stream), and
// "Expect: 100-continue" (curl sends it for large bodies). Bodies are read
// whole before the handler runs, up to maxResponse bytes; past that the
// request is marked tooLarge and the rest is read and dropped (up to
// maxDiscard; beyond, or when the client waits for 100-continue, the
// connection is closed after the answer, lingering so that the client
// reads the answer instead of a reset). Malformed requests get 400 and a
// close.
type apiServer struct {
	ln     net.Listener
	handle func(*apiConn, *apiRequest)
	spin   *spinPolicy // nil: never spin

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// maxDiscard bounds how much of an oversized body is read and dropped to
// keep the connection.
const maxDiscard = 64 << 20

// maxHeaderBytes bounds a request's header section. aws-lambda-go sends
// the X-Ray error cause as a header of up to 1 MiB.
const maxHeaderBytes = 2 << 20

func newAPIServer(ln net.Listener, handle func(*apiConn, *apiRequest), spin *spinPolicy) *apiServer {
	return &apiServer{ln: ln, handle: handle, spin: spin, conns: map[net.Conn]struct{}{}}
}

// serve accepts connections until close; each gets its own goroutine,
// which close waits for.
func (s *apiServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// close stops accepting, closes every connection and waits for their
// goroutines. Handlers blocked on the environment must be released by the
// caller first (env.stop marks the environment dead before closing).
func (s *apiServer) close() {
	s.mu.Lock()
	s.closed = true
	s.ln.Close()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *apiServer) serveConn(nc net.Conn) {
	c := &apiConn{conn: nc, rd: newSpinReader(nc, s.spin)}
	c.afterAnswer.judged = true // by handleNext: did an invocation wait for this GET?
	c.r = bufio.NewReaderSize(c.rd, 16<<10)
	for {
		// The first request (the runtime just started) parks at once;
		// later ones spin as the previous answer suggests.
		c.rd.expect(c.next)
		req, err := c.readRequest()
		if err != nil {
			var bad badRequest
			if errors.As(err, &bad) {
				c.closeAfter = true
				c.reply(bad.status, "text/plain; charset=utf-8", nil, []byte(bad.msg+"\n"))
				c.linger()
			}
			return
		}
		s.handle(c, req)
		if c.closeAfter || c.failed {
			if !c.failed {
				c.linger()
			}
			return
		}
	}
}

// linger half-closes the connection and drops what the client still
// sends for a moment, as net/http does: closing a socket with unread data
// resets it, and the client could lose the answer it has not read yet.
func (c *apiConn) linger() {
	tc, ok := c.conn.(*net.TCPConn)
	if !ok {
		return
	}
	_ = tc.CloseWrite()
	_ = tc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, _ = io.Copy(io.Discard, io.LimitReader(c.r, maxDiscard))
}

// apiConn is one client connection. Only its own goroutine uses it.
type apiConn struct {
	conn       net.Conn
	rd         *spinReader
	r          *bufio.Reader // reads rd
	out        []byte        // response scratch, reused
	body       []byte        // chunked-body scratch, reused
	closeAfter bool          // answer with Connection: close, then close
	failed     bool          // a write failed: the connection is gone

	// What the runtime does next decides how long its next request may
	// take: after an event it runs the handler (afterEvent), after any
	// other answer it comes right back (afterAnswer). next is set by
	// reply and by handleNext.
	next                    *spinStat
	afterEvent, afterAnswer spinStat
}

// apiRequest is one request, its body read.
type apiRequest struct {
	method   string
	path     string // as sent (still %-escaped), without the query
	header   []headerField
	trailer  []headerField
	body     []byte // owned by the request (handlers may keep it)
	tooLarge bool   // the body exceeded maxResponse (and was dropped)
}

type headerField struct{ name, value string }

// get returns the first value of a header (case-insensitive name).
func (r *apiRequest) get(name string) string { return lookup(r.header, name) }

// getTrailer returns the first value of a trailer field.
func (r *apiRequest) getTrailer(name string) string { return lookup(r.trailer, name) }

func lookup(fs []headerField, name string) string {
	for _, f := range fs {
		if strings.EqualFold(f.name, name) {
			return f.value
		}
	}
	return ""
}

// badRequest is a request the server answers itself, then closes.
type badRequest struct {
	status int
	msg    string
}

func (b badRequest) Error() string { return strconv.Itoa(b.status) + " " + b.msg }

func malformed(format string, args ...any) error {
	return badRequest{400, "Bad Request: " + fmt.Sprintf(format, args...)}
}

var space = []byte{' '}

// readRequest reads the next request and its body. io.EOF (or any read
// error) before a request line means the client went away; a badRequest
// error is to be answered.
func (c *apiConn) readRequest() (*apiRequest, error) {
	budget := maxHeaderBytes
	line, err := c.readLine(&budget)
	for err == nil && len(line) == 0 { // RFC 9112 2.2: ignore leading empty lines
		line, err = c.readLine(&budget)
	}
	if err != nil {
		return nil, err
	}
	method, rest, ok1 := bytes.Cut(line, space)
	target, proto, ok2 := bytes.Cut(rest, space)
	if !ok1 || !ok2 || len(method) == 0 || len(target) == 0 {
		return nil, malformed("malformed request line")
	}
	req := &apiRequest{method: string(method)}
	http10 := false
	switch string(proto) {
	case "HTTP/1.1":
	case "HTTP/1.0":
		http10 = true
		c.closeAfter = true // unless Connection: keep-alive
	default:
		return nil, badRequest{505, "HTTP Version Not Supported"}
	}
	if req.path, err = requestPath(target); err != nil {
		return nil, err
	}

	contentLength := int64(-1)
	chunked := false
	expectContinue := false
	for {
		line, err := c.readLine(&budget)
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			break
		}
		name, value, err := parseField(line)
		if err != nil {
			return nil, err
		}
		switch {
		case strings.EqualFold(name, "content-length"):
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n < 0 || (contentLength >= 0 && n != contentLength) {
				return nil, malformed("bad Content-Length %q", value)
			}
			contentLength = n
		case strings.EqualFold(name, "transfer-encoding"):
			if http10 { // RFC 9112 6.1: faulty framing
				return nil, malformed("Transfer-Encoding in an HTTP/1.0 request")
			}
			if !strings.EqualFold(value, "chunked") {
				return nil, badRequest{501, "Not Implemented: Transfer-Encoding " + value}
			}
			chunked = true
		case strings.EqualFold(name, "connection"):
			switch {
			case strings.EqualFold(value, "close"):
				c.closeAfter = true
			case strings.EqualFold(value, "keep-alive") && http10:
				c.closeAfter = false
			}
		case strings.EqualFold(name, "expect"):
			if !strings.EqualFold(value, "100-continue") {
				return nil, badRequest{417, "Expectation Failed"}
			}
			expectContinue = true
		}
		req.header = append(req.header, headerField{name, value})
	}
	if chunked {
		contentLength = -1
	}
	if contentLength == 0 || (!chunked && contentLength < 0) {
		return req, nil
	}
	if contentLength > maxResponse {
		req.tooLarge = true
		if expectContinue || contentLength > maxDiscard {
			c.closeAfter = true // the body stays unread
			return req, nil
		}
		if _, err := io.CopyN(io.Discard, c.r, contentLength); err != nil {
			return nil, err
		}
		return req, nil
	}
	if expectContinue {
		if _, err := c.conn.Write([]byte("HTTP/1.1 100 Continue\r\n\r\n")); err != nil {
			return nil, err
		}
	}
	if !chunked {
		req.body = make([]byte, contentLength)
		if _, err := io.ReadFull(c.r, req.body); err != nil {
			return nil, err
		}
		return req, nil
	}
	return req, c.readChunked(req, &budget)
}

// readChunked reads a chunked body and its trailer section.
func (c *apiConn) readChunked(req *apiRequest, budget *int) error {
	body := c.body[:0]
	var dropped uint64
	framing := maxDiscard // chunk-size lines have their own budget
	for {
		line, err := c.readLine(&framing)
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 { // chunk extensions
			line = line[:i]
		}
		size, err := strconv.ParseUint(string(bytes.TrimRight(line, " \t")), 16, 63)
		if err != nil {
			return malformed("bad chunk size")
		}
		if size == 0 {
			break
		}
		if req.tooLarge || uint64(len(body))+size > maxResponse {
			// Too large: drop the rest of the body, up to maxDiscard.
			req.tooLarge = true
			dropped += size
			if dropped > maxDiscard {
				c.closeAfter = true
				c.body = body[:0]
				return nil
			}
			if _, err := io.CopyN(io.Discard, c.r, int64(size)); err != nil {
				return err
			}
			if err := c.crlf(&framing); err != nil {
				return err
			}
			continue
		}
		n := len(body)
		body = slices.Grow(body, int(size))[:n+int(size)]
		if _, err := io.ReadFull(c.r, body[n:]); err != nil {
			return err
		}
		if err := c.crlf(&framing); err != nil {
			return err
		}
	}
	for {
		line, err := c.readLine(budget)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			break
		}
		name, value, err := parseField(line)
		if err != nil {
			return err
		}
		req.trailer = append(req.trailer, headerField{name, value})
	}
	if !req.tooLarge {
		req.body = bytes.Clone(body)
	}
	if cap(body) <= 1<<20 {
		c.body = body[:0]
	} else {
		c.body = nil
	}
	return nil
}

// crlf reads the empty line that ends a chunk's data.
func (c *apiConn) crlf(budget *int) error {
	line, err := c.readLine(budget)
	if err != nil {
		return err
	}
	if len(line) != 0 {
		return malformed("chunk not followed by CRLF")
	}
	return nil
}

// readLine returns the next line without its CRLF (or bare LF), charging
// its length to budget. The slice is valid until the next read.
func (c *apiConn) readLine(budget *int) ([]byte, error) {
	line, err := c.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		// A long line (a big header): gather it.
		long := bytes.Clone(line)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(long) > *budget {
				return nil, badRequest{431, "Request Header Fields Too Large"}
			}
			line, err = c.r.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	*budget -= len(line)
	if *budget < 0 {
		return nil, badRequest{431, "Request Header Fields Too Large"}
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// parseField splits "Name: value" (RFC 9110 5.6.2 token name, optional
// whitespace around the value). Folded lines are rejected.
func parseField(line []byte) (name, value string, err error) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return "", "", malformed("malformed header line")
	}
	for _, b := range line[:i] {
		if !isTokenChar(b) {
			return "", "", malformed("malformed header name")
		}
	}
	return string(line[:i]), string(bytes.Trim(line[i+1:], " \t")), nil
}

func isTokenChar(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
}

// requestPath turns an origin-form ("/a/b?q") or absolute-form
// ("http://host/a/b") target into its path.
func requestPath(target []byte) (string, error) {
	if target[0] != '/' {
		u, err := url.ParseRequestURI(string(target))
		if err != nil || u.Path == "" {
			return "", malformed("bad request target")
		}
		return u.EscapedPath(), nil
	}
	if i := bytes.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	return string(target), nil
}

// reply writes one complete response. headers are name, value pairs.
// Write errors mark the connection failed (its goroutine then ends).
func (c *apiConn) reply(status int, contentType string, headers []string, body []byte) {
	c.next = &c.afterAnswer
	b := c.out[:0]
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(status)...)
	b = append(b, "\r\nContent-Type: "...)
	b = append(b, contentType...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	for i := 0; i+1 < len(headers); i += 2 {
		b = append(b, "\r\n"...)
		b = append(b, headers[i]...)
		b = append(b, ": "...)
		b = append(b, headers[i+1]...)
	}
	if c.closeAfter {
		b = append(b, "\r\nConnection: close"...)
	}
	b = append(b, "\r\n\r\n"...)
	var err error
	if len(body) <= 16<<10 {
		b = append(b, body...)
		_, err = c.conn.Write(b)
	} else {
		bufs := net.Buffers{b, body} // one writev
		_, err = bufs.WriteTo(c.conn)
	}
	if cap(b) <= 64<<10 {
		c.out = b[:0]
	}
	if err != nil {
		c.failed = true
	}
}

// peerClosed reports whether the client has closed its end (an orderly
// shutdown is readable as EOF), without consuming anything. It lets the
// long-polling GET /next give back an event it took for a client that
// already left. One non-blocking recv.
func (c *apiConn) peerClosed() bool {
	sc, ok := c.conn.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	if c.r.Buffered() > 0 {
		return false // the client already sent more (pipelining)
	}
	closed := false
	_ = rc.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = n == 0 && err == nil || err == syscall.ECONNRESET
	})
	return closed
}
