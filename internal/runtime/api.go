package runtime

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// maxResponse is the largest response body the Runtime API accepts
// (RIE contract and AWS recordings: 6291556 bytes).
const maxResponse = 6291556

// invocation is one Invoke as the Runtime API sees it.
type invocation struct {
	id            string
	payload       []byte
	arn           string
	traceID       string
	version       string
	clientContext string
	timeout       time.Duration
	deadline      time.Time // set when delivered
	cold          bool      // the environment started for it
	tail          bool      // the invoker wants the log tail (and writes END/REPORT)

	delivered   atomic.Bool
	claimed     atomic.Bool   // the runtime started answering
	reported    atomic.Bool   // END and REPORT are written (env.report)
	deliveredAt time.Time     // valid once deliveredCh is closed
	deliveredCh chan struct{} // closed by GET /next
	done        chan outcome  // buffer 1; the runtime's answer
}

// outcome is how the runtime answered.
type outcome struct {
	payload []byte
	errType string // "" = success
	at      time.Time
}

// Runtime API paths (2018-06-01).
const (
	apiPrefix      = "/2018-06-01/runtime/"
	invocationPath = apiPrefix + "invocation/"
	nextPath       = invocationPath + "next"
	initErrorPath  = apiPrefix + "init/error"
)

// serveAPI routes one request of the Runtime API; unknown paths and
// methods are answered as net/http's ServeMux would (404, 405 + Allow).
func (e *env) serveAPI(c *apiConn, r *apiRequest) {
	method, allow := "POST", "POST"
	var handle func(*apiConn, *apiRequest)
	switch {
	case r.path == nextPath:
		method, allow, handle = "GET", "GET", e.handleNext
	case r.path == initErrorPath:
		handle = e.handleInitError
	case strings.HasPrefix(r.path, invocationPath):
		id, what, ok := strings.Cut(r.path[len(invocationPath):], "/")
		if !ok || id == "" || strings.Contains(what, "/") {
			break
		}
		uid, err := url.PathUnescape(id)
		if err != nil {
			break
		}
		switch what {
		case "response":
			handle = func(c *apiConn, r *apiRequest) { e.handleResponse(c, r, uid) }
		case "error":
			handle = func(c *apiConn, r *apiRequest) { e.handleError(c, r, uid) }
		}
	}
	switch {
	case handle == nil:
		c.reply(http.StatusNotFound, "text/plain; charset=utf-8", nil, []byte("404 page not found\n"))
	case r.method != method:
		c.reply(http.StatusMethodNotAllowed, "text/plain; charset=utf-8", []string{"Allow", allow}, []byte("Method Not Allowed\n"))
	default:
		handle(c, r)
	}
}

// handleNext hands the next invocation to the runtime (long poll). Its
// first call ends init.
func (e *env) handleNext(c *apiConn, _ *apiRequest) {
	e.markInitDone()
	var inv *invocation
	select {
	case inv = <-e.invokes:
	default:
	}
	// Spinning for this GET paid only if an invocation was waiting for it
	// (back-to-back invocations); otherwise it only took a core from the
	// function and from whoever sends the next invocation (spin.go).
	c.rd.verdict(inv != nil)
	if inv == nil {
		select {
		case inv = <-e.invokes:
		case <-e.dead:
			apiError(c, http.StatusInternalServerError, "Runtime.Stopped", "environment is shutting down")
			return
		}
	}
	if c.peerClosed() {
		// The runtime gave up on this request (net/http would have
		// cancelled it): leave the event to its next GET /next.
		e.invokes <- inv
		c.failed = true
		return
	}
	e.reporting.Lock() // the previous invocation's END and REPORT come first
	e.reporting.Unlock()
	now := time.Now()
	e.logs.platform(startLine(inv.id, inv.version))
	if inv.deadline.IsZero() {
		inv.deadline = now.Add(inv.timeout)
	}
	inv.deliveredAt = now
	inv.delivered.Store(true)
	close(inv.deliveredCh)
	e.mu.Lock()
	e.cur = inv
	e.mu.Unlock()

	h := make([]string, 0, 10)
	h = append(h,
		"Lambda-Runtime-Aws-Request-Id", inv.id,
		"Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10),
		"Lambda-Runtime-Invoked-Function-Arn", inv.arn,
		"Lambda-Runtime-Trace-Id", inv.traceID)
	if inv.clientContext != "" {
		h = append(h, "Lambda-Runtime-Client-Context", inv.clientContext)
	}
	c.reply(http.StatusOK, "application/json", h, inv.payload)
	c.next = &c.afterEvent
}

// claim takes the in-flight invocation for an answer to id, or writes the
// RIE error: 400 InvalidRequestID for an id never seen, 403
// InvalidStateTransition for one already answered.
func (e *env) claim(c *apiConn, id, to string) *invocation {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur != nil && e.cur.id == id {
		inv := e.cur
		e.cur = nil
		e.lastID = id
		inv.claimed.Store(true) // an outcome will be sent on inv.done
		return inv
	}
	if id != "" && id == e.lastID {
		apiError(c, http.StatusForbidden, "InvalidStateTransition",
			"State transition from RuntimeResponseSentState to "+to+" failed for runtime. Error: State transition is not allowed")
		return nil
	}
	apiError(c, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
	return nil
}

func (e *env) handleResponse(c *apiConn, r *apiRequest, id string) {
	if mode := r.get("Lambda-Runtime-Function-Response-Mode"); mode != "" && mode != "streaming" {
		apiError(c, http.StatusBadRequest, "InvalidFunctionResponseMode", "Invalid function response mode")
		return
	}
	inv := e.claim(c, id, "InvocationResponse")
	if inv == nil {
		return
	}
	if r.tooLarge {
		apiError(c, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Exceeded maximum allowed payload size (6291556 bytes).")
		e.handOver(inv, outcome{
			payload: []byte(`{"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}`),
			errType: "Function.ResponseSizeTooLarge", at: time.Now(),
		})
		return
	}
	// aws-lambda-go reports a failed response stream in trailers.
	out := outcome{payload: r.body, at: time.Now()}
	if t := r.getTrailer("Lambda-Runtime-Function-Error-Type"); t != "" {
		p, _ := base64.StdEncoding.DecodeString(r.getTrailer("Lambda-Runtime-Function-Error-Body"))
		if len(p) == 0 {
			p = errorJSON(t, "the function's response stream failed")
		}
		out.payload, out.errType = p, t
	}
	c.reply(http.StatusAccepted, "application/json", nil, []byte(acceptedBody))
	e.handOver(inv, out)
}

// handOver gives the answer to the invoker, then (unless the invoker wants
// the log tail) writes END and REPORT while the invoker returns. The 202
// goes out first, so the runtime already comes back for the next event.
// e.reporting keeps a START of the next invocation from coming first.
func (e *env) handOver(inv *invocation, out outcome) {
	if inv.tail {
		inv.done <- out
		return
	}
	e.reporting.Lock()
	defer e.reporting.Unlock()
	inv.done <- out
	// The invoker was readied on this P; without a yield it would wait
	// for this bookkeeping (or for another P to steal it).
	goruntime.Gosched()
	var init time.Duration
	if inv.cold {
		init = e.initTime()
	}
	e.report(inv, out.at.Sub(inv.deliveredAt), init)
}

func (e *env) handleError(c *apiConn, r *apiRequest, id string) {
	inv := e.claim(c, id, "InvocationErrorResponse")
	if inv == nil {
		return
	}
	body := r.body
	if r.tooLarge {
		body = errorJSON("Runtime.Unknown", "the runtime's error body could not be read")
	}
	c.reply(http.StatusAccepted, "application/json", nil, []byte(acceptedBody))
	e.handOver(inv, outcome{payload: body, errType: errorType(r, body), at: time.Now()})
}

// handleInitError records an init failure; only allowed before the first
// GET /next. The pending invocation fails with this payload.
func (e *env) handleInitError(c *apiConn, r *apiRequest) {
	select {
	case <-e.initDone:
		apiError(c, http.StatusForbidden, "InvalidStateTransition",
			"State transition from Ready to InitError failed for runtime. Error: State transition is not allowed")
		return
	default:
	}
	body := r.body
	if r.tooLarge {
		body = errorJSON("Runtime.Unknown", "the runtime's init error body could not be read")
	}
	o := outcome{payload: body, errType: errorType(r, body), at: time.Now()}
	e.mu.Lock()
	if e.initErr == nil {
		e.initErr = &o
	}
	e.mu.Unlock()
	c.reply(http.StatusAccepted, "application/json", nil, []byte(acceptedBody))
	e.markDead()
}

// errorType picks the function error type: the body's errorType, else the
// Lambda-Runtime-Function-Error-Type header, else "Unhandled".
func errorType(r *apiRequest, body []byte) string {
	var v struct {
		ErrorType string `json:"errorType"`
	}
	if json.Unmarshal(body, &v) == nil && v.ErrorType != "" {
		return v.ErrorType
	}
	if t := r.get("Lambda-Runtime-Function-Error-Type"); t != "" {
		return t
	}
	return "Unhandled"
}

func errorJSON(typ, msg string) []byte {
	b, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{msg, typ})
	return b
}

const acceptedBody = `{"status":"OK"}` + "\n"

func apiError(c *apiConn, status int, typ, msg string) {
	b, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{msg, typ})
	c.reply(status, "application/json", nil, b)
}
