package runtime

import (
	"bytes"
	stdcontext "context"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawRuntime is a provided function whose bootstrap only publishes its
// AWS_LAMBDA_RUNTIME_API and waits: the test plays the runtime over HTTP.
func rawRuntime(t *testing.T, name string) (*Spec, func() string) {
	t.Helper()
	dir := t.TempDir()
	apiFile := filepath.Join(t.TempDir(), "api")
	script := "#!/bin/sh\nprintf %s \"$AWS_LAMBDA_RUNTIME_API\" > \"$API_FILE.tmp\" && mv \"$API_FILE.tmp\" \"$API_FILE\"\nexec sleep 600\n"
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Spec{Name: name, ARN: "arn:aws:lambda:us-east-1:111111111111:function:" + name, Runtime: "provided.al2023",
		Handler: "x", CodeDir: dir, Timeout: 30 * time.Second, Env: map[string]string{"API_FILE": apiFile}}
	addr := func() string {
		var a []byte
		checkFor(t, 10*time.Second, 2*time.Millisecond, func() error {
			var err error
			a, err = os.ReadFile(apiFile)
			return err
		})
		return "http://" + string(a) + "/2018-06-01"
	}
	return s, addr
}

type httpResult struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, url string, body io.Reader, h map[string]string) httpResult {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpResult{resp.StatusCode, resp.Header, string(b)}
}

func (r httpResult) require(t *testing.T, what string, status int, body string) {
	t.Helper()
	if r.status != status || (body != "" && strings.TrimSpace(r.body) != body) {
		t.Fatalf("%s: %d %q, want %d %q", what, r.status, r.body, status, body)
	}
}

type invokeReturn struct {
	res *Result
	err error
}

func goInvoke(m *Manager, s *Spec, payload string, o InvokeOptions) chan invokeReturn {
	c := make(chan invokeReturn, 1)
	go func() {
		res, err := m.Invoke(stdcontext.Background(), s, []byte(payload), o)
		c <- invokeReturn{res, err}
	}()
	return c
}

func TestRuntimeAPI_Contract(t *testing.T) {
	m, _ := newTestManager(t, nil)
	s, addr := rawRuntime(t, "raw")
	cc := base64.StdEncoding.EncodeToString([]byte(`{"custom":{"a":"b"}}`))
	start := time.Now()
	first := goInvoke(m, s, `{"hello":"world"}`, InvokeOptions{RequestID: "api-1", ClientContext: cc})
	api := addr()

	do(t, "POST", api+"/runtime/invocation/unknown/response", strings.NewReader("x"), nil).
		require(t, "response before /next", 400, `{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}`)

	next := do(t, "GET", api+"/runtime/invocation/next", nil, nil)
	next.require(t, "GET next", 200, `{"hello":"world"}`)
	h := next.header
	requireEqual(t, "Content-Type", h.Get("Content-Type"), "application/json")
	requireEqual(t, "Request-Id", h.Get("Lambda-Runtime-Aws-Request-Id"), "api-1")
	requireEqual(t, "Invoked-Function-Arn", h.Get("Lambda-Runtime-Invoked-Function-Arn"), s.ARN)
	requireEqual(t, "Client-Context", h.Get("Lambda-Runtime-Client-Context"), `{"custom":{"a":"b"}}`)
	if !regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$`).MatchString(h.Get("Lambda-Runtime-Trace-Id")) {
		t.Errorf("Trace-Id = %q", h.Get("Lambda-Runtime-Trace-Id"))
	}
	dl, err := strconv.ParseInt(h.Get("Lambda-Runtime-Deadline-Ms"), 10, 64)
	if err != nil || dl < start.Add(30*time.Second).UnixMilli() || dl > time.Now().Add(30*time.Second).UnixMilli() {
		t.Errorf("Deadline-Ms = %q, want now + 30 s", h.Get("Lambda-Runtime-Deadline-Ms"))
	}

	do(t, "POST", api+"/runtime/init/error", strings.NewReader(`{}`), nil).require(t, "init/error after /next", 403, "")
	do(t, "POST", api+"/runtime/invocation/api-1/response", strings.NewReader("x"), map[string]string{"Lambda-Runtime-Function-Response-Mode": "invalid-mode"}).
		require(t, "bad response mode", 400, `{"errorMessage":"Invalid function response mode","errorType":"InvalidFunctionResponseMode"}`)
	do(t, "POST", api+"/runtime/invocation/other/response", strings.NewReader("x"), nil).require(t, "wrong id", 400, "")
	do(t, "POST", api+"/runtime/invocation/api-1/response", strings.NewReader(`"done"`), nil).
		require(t, "response", 202, `{"status":"OK"}`)
	r := do(t, "POST", api+"/runtime/invocation/api-1/response", strings.NewReader(`"again"`), nil)
	r.require(t, "second response", 403, "")
	if !strings.Contains(r.body, `"errorType":"InvalidStateTransition"`) {
		t.Errorf("second response body = %s", r.body)
	}
	do(t, "POST", api+"/runtime/invocation/api-1/error", strings.NewReader(`{}`), nil).require(t, "error after response", 403, "")
	do(t, "DELETE", api+"/runtime/invocation/ABC/error", nil, nil).require(t, "DELETE", 405, "")
	do(t, "POST", api+"/runtime/unsupported", nil, nil).require(t, "unknown path", 404, "404 page not found")

	got := <-first
	if got.err != nil {
		t.Fatal(got.err)
	}
	requireEqual(t, "payload", string(got.res.Payload), `"done"`)
	requireEqual(t, "FunctionError", got.res.FunctionError, "")

	// Warm: /error with the error type header.
	second := goInvoke(m, s, `{}`, InvokeOptions{RequestID: "api-2"})
	do(t, "GET", api+"/runtime/invocation/next", nil, nil).require(t, "GET next 2", 200, `{}`)
	do(t, "POST", api+"/runtime/invocation/api-2/error", strings.NewReader(`{"errorMessage":"bad","errorType":"Custom.Err","stackTrace":[]}`),
		map[string]string{"Lambda-Runtime-Function-Error-Type": "Custom.Err", "Content-Type": "application/json"}).require(t, "error", 202, `{"status":"OK"}`)
	got = <-second
	requireEqual(t, "ErrorType", got.res.ErrorType, "Custom.Err")
	requireEqual(t, "FunctionError", got.res.FunctionError, "Unhandled")
	requireEqual(t, "payload", string(got.res.Payload), `{"errorMessage":"bad","errorType":"Custom.Err","stackTrace":[]}`)

	// A response stream that fails reports the error in HTTP trailers
	// (aws-lambda-go's errorCapturingReader).
	third := goInvoke(m, s, `{}`, InvokeOptions{RequestID: "api-3"})
	do(t, "GET", api+"/runtime/invocation/next", nil, nil).require(t, "GET next 3", 200, `{}`)
	req, _ := http.NewRequest("POST", api+"/runtime/invocation/api-3/response", io.MultiReader(strings.NewReader("partial")))
	req.Trailer = http.Header{"Lambda-Runtime-Function-Error-Type": {"Runtime.StreamError"},
		"Lambda-Runtime-Function-Error-Body": {base64.StdEncoding.EncodeToString([]byte(`{"errorMessage":"broke","errorType":"Runtime.StreamError"}`))}}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	requireEqual(t, "trailer POST status", resp.StatusCode, 202)
	got = <-third
	requireEqual(t, "ErrorType", got.res.ErrorType, "Runtime.StreamError")
	requireEqual(t, "payload", string(got.res.Payload), `{"errorMessage":"broke","errorType":"Runtime.StreamError"}`)

	// Over the limit: 413 to the runtime, Function.ResponseSizeTooLarge to the caller.
	fourth := goInvoke(m, s, `{}`, InvokeOptions{RequestID: "api-4"})
	do(t, "GET", api+"/runtime/invocation/next", nil, nil).require(t, "GET next 4", 200, `{}`)
	do(t, "POST", api+"/runtime/invocation/api-4/response", bytes.NewReader(make([]byte, maxResponse+1)), nil).
		require(t, "too large", 413, `{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}`)
	got = <-fourth
	requireEqual(t, "ErrorType", got.res.ErrorType, "Function.ResponseSizeTooLarge")
}

func TestRuntimeAPI_InitError(t *testing.T) {
	m, _ := newTestManager(t, nil)
	s, addr := rawRuntime(t, "raw-init")
	c := goInvoke(m, s, `{}`, InvokeOptions{RequestID: "init-1"})
	body := `{"errorMessage":"cannot start","errorType":"Runtime.Custom","stackTrace":[]}`
	do(t, "POST", addr()+"/runtime/init/error", strings.NewReader(body), map[string]string{"Lambda-Runtime-Function-Error-Type": "Runtime.Custom"}).
		require(t, "init/error", 202, `{"status":"OK"}`)
	got := <-c
	if got.err != nil {
		t.Fatal(got.err)
	}
	requireEqual(t, "ErrorType", got.res.ErrorType, "Runtime.Custom")
	requireEqual(t, "FunctionError", got.res.FunctionError, "Unhandled")
	requireEqual(t, "payload", string(got.res.Payload), body)

}
