package runtime

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
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

	delivered   atomic.Bool
	claimed     atomic.Bool   // the runtime started answering
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

// routes is the Runtime API (2018-06-01) of one environment.
func (e *env) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", e.handleNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", e.handleResponse)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", e.handleError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", e.handleInitError)
	return mux
}

// handleNext hands the next invocation to the runtime (long poll). Its
// first call ends init.
func (e *env) handleNext(w http.ResponseWriter, r *http.Request) {
	e.markInitDone()
	var inv *invocation
	select {
	case inv = <-e.invokes:
	case <-r.Context().Done():
		return
	case <-e.dead:
		apiError(w, http.StatusInternalServerError, "Runtime.Stopped", "environment is shutting down")
		return
	}
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

	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Lambda-Runtime-Aws-Request-Id"] = []string{inv.id}
	h["Lambda-Runtime-Deadline-Ms"] = []string{strconv.FormatInt(inv.deadline.UnixMilli(), 10)}
	h["Lambda-Runtime-Invoked-Function-Arn"] = []string{inv.arn}
	h["Lambda-Runtime-Trace-Id"] = []string{inv.traceID}
	if inv.clientContext != "" {
		h["Lambda-Runtime-Client-Context"] = []string{inv.clientContext}
	}
	h["Content-Length"] = []string{strconv.Itoa(len(inv.payload))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload)
}

// claim takes the in-flight invocation for an answer to id, or writes the
// RIE error: 400 InvalidRequestID for an id never seen, 403
// InvalidStateTransition for one already answered.
func (e *env) claim(w http.ResponseWriter, id, to string) *invocation {
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
		apiError(w, http.StatusForbidden, "InvalidStateTransition",
			"State transition from RuntimeResponseSentState to "+to+" failed for runtime. Error: State transition is not allowed")
		return nil
	}
	apiError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
	return nil
}

// readBody reads at most maxResponse bytes into a fresh exact-size slice.
// tooLarge reports a longer body.
func readBody(bufPool *sync.Pool, r *http.Request) (b []byte, tooLarge bool, err error) {
	if r.ContentLength > maxResponse {
		return nil, true, nil
	}
	if r.ContentLength >= 0 {
		b = make([]byte, r.ContentLength)
		_, err = io.ReadFull(r.Body, b)
		return b, false, err
	}
	buf, _ := bufPool.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		if buf.Cap() <= 1<<20 {
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	n, err := buf.ReadFrom(io.LimitReader(r.Body, maxResponse+1))
	if err != nil {
		return nil, false, err
	}
	if n > maxResponse {
		return nil, true, nil
	}
	return bytes.Clone(buf.Bytes()), false, nil
}

func (e *env) handleResponse(w http.ResponseWriter, r *http.Request) {
	if mode := r.Header.Get("Lambda-Runtime-Function-Response-Mode"); mode != "" && mode != "streaming" {
		apiError(w, http.StatusBadRequest, "InvalidFunctionResponseMode", "Invalid function response mode")
		return
	}
	inv := e.claim(w, r.PathValue("id"), "InvocationResponse")
	if inv == nil {
		return
	}
	body, tooLarge, err := readBody(&e.m.bufs, r)
	switch {
	case tooLarge:
		inv.done <- outcome{
			payload: []byte(`{"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}`),
			errType: "Function.ResponseSizeTooLarge", at: time.Now(),
		}
		apiError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Exceeded maximum allowed payload size (6291556 bytes).")
		return
	case err != nil:
		inv.done <- outcome{payload: errorJSON("Runtime.TruncatedResponse", "reading the response: "+err.Error()), errType: "Runtime.TruncatedResponse", at: time.Now()}
		apiError(w, http.StatusBadRequest, "Runtime.TruncatedResponse", err.Error())
		return
	}
	// aws-lambda-go reports a failed response stream in trailers.
	out := outcome{payload: body, at: time.Now()}
	if t := r.Trailer.Get("Lambda-Runtime-Function-Error-Type"); t != "" {
		p, _ := base64.StdEncoding.DecodeString(r.Trailer.Get("Lambda-Runtime-Function-Error-Body"))
		if len(p) == 0 {
			p = errorJSON(t, "the function's response stream failed")
		}
		out.payload, out.errType = p, t
	}
	acceptAndHandOver(w, inv, out)
}

// acceptAndHandOver sends the 202 first, so the runtime can already come
// back for the next event while the invoker finishes this one, then hands
// the answer to the invoker.
func acceptAndHandOver(w http.ResponseWriter, inv *invocation, out outcome) {
	accepted(w)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	inv.done <- out
}

func (e *env) handleError(w http.ResponseWriter, r *http.Request) {
	inv := e.claim(w, r.PathValue("id"), "InvocationErrorResponse")
	if inv == nil {
		return
	}
	body, tooLarge, err := readBody(&e.m.bufs, r)
	if tooLarge || err != nil {
		body = errorJSON("Runtime.Unknown", "the runtime's error body could not be read")
	}
	acceptAndHandOver(w, inv, outcome{payload: body, errType: errorType(r.Header, body), at: time.Now()})
}

// handleInitError records an init failure; only allowed before the first
// GET /next. The pending invocation fails with this payload.
func (e *env) handleInitError(w http.ResponseWriter, r *http.Request) {
	select {
	case <-e.initDone:
		apiError(w, http.StatusForbidden, "InvalidStateTransition",
			"State transition from Ready to InitError failed for runtime. Error: State transition is not allowed")
		return
	default:
	}
	body, tooLarge, err := readBody(&e.m.bufs, r)
	if tooLarge || err != nil {
		body = errorJSON("Runtime.Unknown", "the runtime's init error body could not be read")
	}
	o := outcome{payload: body, errType: errorType(r.Header, body), at: time.Now()}
	e.mu.Lock()
	if e.initErr == nil {
		e.initErr = &o
	}
	e.mu.Unlock()
	accepted(w)
	e.markDead()
}

// errorType picks the function error type: the body's errorType, else the
// Lambda-Runtime-Function-Error-Type header, else "Unhandled".
func errorType(h http.Header, body []byte) string {
	var v struct {
		ErrorType string `json:"errorType"`
	}
	if json.Unmarshal(body, &v) == nil && v.ErrorType != "" {
		return v.ErrorType
	}
	if t := h.Get("Lambda-Runtime-Function-Error-Type"); t != "" {
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

func accepted(w http.ResponseWriter) {
	w.Header()["Content-Type"] = []string{"application/json"}
	w.Header()["Content-Length"] = []string{strconv.Itoa(len(acceptedBody))} // not chunked after Flush
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, acceptedBody)
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{msg, typ})
	w.Header()["Content-Type"] = []string{"application/json"}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
