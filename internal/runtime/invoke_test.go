package runtime

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

type info struct {
	PID           int               `json:"pid"`
	Count         int               `json:"count"`
	RequestID     string            `json:"requestId"`
	ARN           string            `json:"arn"`
	FunctionName  string            `json:"functionName"`
	Version       string            `json:"version"`
	Memory        any               `json:"memory"`
	LogGroup      string            `json:"logGroup"`
	LogStream     string            `json:"logStream"`
	RemainingMS   int64             `json:"remainingMs"`
	ClientContext json.RawMessage   `json:"clientContext"`
	Env           map[string]string `json:"env"`
}

func invokeInfo(t *testing.T, m *Manager, s *Spec, o InvokeOptions) (info, *Result) {
	t.Helper()
	res, err := m.Invoke(t.Context(), s, []byte(`{"action":"info"}`), o)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if res.FunctionError != "" {
		t.Fatalf("function error %s: %s", res.ErrorType, res.Payload)
	}
	var in info
	if err := json.Unmarshal(res.Payload, &in); err != nil {
		t.Fatalf("decoding %s: %v", res.Payload, err)
	}
	return in, res
}

func TestInvoke_ContextAndEnvironment(t *testing.T) {
	m, _ := newTestManager(t, nil)
	for _, l := range langs {
		t.Run(l.name, func(t *testing.T) {
			s := l.spec(t, "ctx-"+l.name)
			cc := base64.StdEncoding.EncodeToString([]byte(`{"custom":{"k":"v"}}`))
			in, res := invokeInfo(t, m, s, InvokeOptions{RequestID: "req-1", ClientContext: cc})
			requireEqual(t, "requestId", in.RequestID, "req-1")
			requireEqual(t, "Result.RequestID", res.RequestID, "req-1")
			requireEqual(t, "arn", in.ARN, s.ARN)
			requireEqual(t, "functionName", in.FunctionName, s.Name)
			requireEqual(t, "version", in.Version, "$LATEST")
			requireEqual(t, "memory", fmt.Sprint(in.Memory), "256")
			requireEqual(t, "logGroup", in.LogGroup, "/aws/lambda/"+s.Name)
			if !regexp.MustCompile(`^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$`).MatchString(in.LogStream) {
				t.Errorf("logStream = %q", in.LogStream)
			}
			if in.RemainingMS <= 0 || in.RemainingMS > 5000 {
				t.Errorf("remaining time = %d ms, want (0, 5000]", in.RemainingMS)
			}
			if !strings.Contains(strings.ReplaceAll(string(in.ClientContext), " ", ""), `"k":"v"`) {
				t.Errorf("clientContext = %s", in.ClientContext)
			}
			want := map[string]string{
				"_HANDLER":                        s.Handler,
				"AWS_LAMBDA_FUNCTION_NAME":        s.Name,
				"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
				"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
				"AWS_REGION":                      "us-east-1",
				"AWS_DEFAULT_REGION":              "us-east-1",
				"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + s.Name,
				"AWS_LAMBDA_LOG_STREAM_NAME":      in.LogStream,
				"LAMBDA_TASK_ROOT":                s.CodeDir,
				"TZ":                              ":UTC",
				"LANG":                            "en_US.UTF-8",
				"AWS_ACCESS_KEY_ID":               "test",
				"AWS_SECRET_ACCESS_KEY":           "test",
				"FOO":                             "bar",
			}
			if l.runtime != "provided.al2023" {
				want["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + l.runtime
			}
			for k, v := range want {
				requireEqual(t, "env "+k, in.Env[k], v)
			}
			if _, ok := in.Env["AWS_EXECUTION_ENV"]; ok && l.runtime == "provided.al2023" {
				t.Errorf("AWS_EXECUTION_ENV set for a provided runtime")
			}
			for _, k := range []string{"AWS_LAMBDA_RUNTIME_API", "LAMBDA_RUNTIME_DIR", "PATH"} {
				if in.Env[k] == "" {
					t.Errorf("env %s not set", k)
				}
			}
			if in.Env["_X_AMZN_TRACE_ID"] == "" && l.name != "go" {
				t.Errorf("_X_AMZN_TRACE_ID not set")
			}
		})
	}
}

func TestInvoke_WarmReuse(t *testing.T) {
	m, _ := newTestManager(t, nil)
	for _, l := range langs {
		t.Run(l.name, func(t *testing.T) {
			s := l.spec(t, "warm-"+l.name)
			first, res := invokeInfo(t, m, s, InvokeOptions{})
			if !res.Cold || res.InitDuration <= 0 {
				t.Fatalf("first invoke: Cold=%v InitDuration=%v, want a cold start", res.Cold, res.InitDuration)
			}
			for i := 2; i <= 5; i++ {
				in, res := invokeInfo(t, m, s, InvokeOptions{})
				requireEqual(t, "pid", in.PID, first.PID)
				requireEqual(t, "count", in.Count, i)
				requireEqual(t, "Cold", res.Cold, false)
				requireEqual(t, "InitDuration", res.InitDuration, 0)
			}
		})
	}
}

func TestInvoke_FunctionErrors(t *testing.T) {
	m, _ := newTestManager(t, nil)
	type errBody struct {
		ErrorMessage string          `json:"errorMessage"`
		ErrorType    string          `json:"errorType"`
		StackTrace   json.RawMessage `json:"stackTrace"`
		Trace        []string        `json:"trace"`
		RequestID    *string         `json:"requestId"`
	}
	tests := []struct {
		lang     lang
		event    string
		wantType string
		wantMsg  string
		check    func(t *testing.T, b errBody)
	}{
		{langs[0], `{"action":"error","message":"boom"}`, "errorString", "boom", nil},
		{langs[0], `{"action":"panic","message":"boom"}`, "string", "boom", func(t *testing.T, b errBody) {
			if !strings.Contains(string(b.StackTrace), `"label":"(*handler).handle"`) {
				t.Errorf("stackTrace = %s", b.StackTrace)
			}
		}},
		{langs[1], `{"action":"error","message":"boom"}`, "TypeError", "boom", func(t *testing.T, b errBody) {
			if len(b.Trace) == 0 || !strings.HasPrefix(b.Trace[0], "TypeError: boom") {
				t.Errorf("trace = %q", b.Trace)
			}
		}},
		{langs[2], `{"action":"error","message":"boom"}`, "Exception", "boom", func(t *testing.T, b errBody) {
			var st []string
			if err := json.Unmarshal(b.StackTrace, &st); err != nil || len(st) != 1 ||
				!strings.Contains(st[0], `handler.py", line`) || !strings.Contains(st[0], "in handler") {
				t.Errorf("stackTrace = %s, want the handler's frame only", b.StackTrace)
			}
			if b.RequestID == nil || *b.RequestID != "req-err" {
				t.Errorf("requestId = %v", b.RequestID)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.lang.name+"/"+tc.wantType, func(t *testing.T) {
			s := tc.lang.spec(t, "err-"+tc.lang.name)
			res, err := m.Invoke(t.Context(), s, []byte(tc.event), InvokeOptions{RequestID: "req-err"})
			if err != nil {
				t.Fatal(err)
			}
			requireEqual(t, "FunctionError", res.FunctionError, "Unhandled")
			requireEqual(t, "ErrorType", res.ErrorType, tc.wantType)
			var b errBody
			if err := json.Unmarshal(res.Payload, &b); err != nil {
				t.Fatalf("payload %s: %v", res.Payload, err)
			}
			requireEqual(t, "errorType", b.ErrorType, tc.wantType)
			requireEqual(t, "errorMessage", b.ErrorMessage, tc.wantMsg)
			if tc.check != nil {
				tc.check(t, b)
			}
			// The environment still serves (a Go panic exits the process:
			// the next invoke is then a cold start).
			in, _ := invokeInfo(t, m, s, InvokeOptions{})
			if in.PID == 0 {
				t.Fatal("no pid after an error")
			}
		})
	}
}

func TestInvoke_Timeout(t *testing.T) {
	m, logs := newTestManager(t, nil)
	for _, l := range langs {
		t.Run(l.name, func(t *testing.T) {
			s := l.spec(t, "timeout-"+l.name)
			before, _ := invokeInfo(t, m, s, InvokeOptions{})
			s.Timeout = 250 * time.Millisecond
			s.Revision = "r2"
			id := "timeout-" + l.name
			res, err := m.Invoke(t.Context(), s, []byte(`{"action":"sleep","sleepMs":20000}`), InvokeOptions{RequestID: id, TailLog: true})
			if err != nil {
				t.Fatal(err)
			}
			requireEqual(t, "FunctionError", res.FunctionError, "Unhandled")
			requireEqual(t, "ErrorType", res.ErrorType, "Sandbox.Timedout")
			requireEqual(t, "Payload", string(res.Payload),
				`{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: `+id+` Error: Task timed out after 0.25 seconds"}`)
			if !strings.Contains(res.LogTail, id+" Task timed out after 0.25 seconds") {
				t.Errorf("log tail lacks the timeout line:\n%s", res.LogTail)
			}
			logs.waitLine(t, "REPORT RequestId: "+id)
			s.Timeout = 5 * time.Second
			after, res := invokeInfo(t, m, s, InvokeOptions{})
			if after.PID == before.PID || !res.Cold {
				t.Errorf("after a timeout: pid %d (before %d), cold=%v; want a new environment", after.PID, before.PID, res.Cold)
			}
		})
	}
}

func TestInvoke_ProcessExit(t *testing.T) {
	m, _ := newTestManager(t, nil)
	for _, l := range langs {
		for _, tc := range []struct {
			code int
			want string
		}{
			{0, "Runtime exited without providing a reason"},
			{1, "Runtime exited with error: exit status 1"},
		} {
			t.Run(fmt.Sprintf("%s/%d", l.name, tc.code), func(t *testing.T) {
				s := l.spec(t, "exit-"+l.name)
				before, _ := invokeInfo(t, m, s, InvokeOptions{})
				res, err := m.Invoke(t.Context(), s, fmt.Appendf(nil, `{"action":"exit","code":%d}`, tc.code), InvokeOptions{RequestID: "exit-id"})
				if err != nil {
					t.Fatal(err)
				}
				requireEqual(t, "ErrorType", res.ErrorType, "Runtime.ExitError")
				requireEqual(t, "Payload", string(res.Payload),
					`{"errorType":"Runtime.ExitError","errorMessage":"RequestId: exit-id Error: `+tc.want+`"}`)
				after, res := invokeInfo(t, m, s, InvokeOptions{})
				if after.PID == before.PID || !res.Cold {
					t.Errorf("after exit: pid %d (before %d), cold=%v; want a new environment", after.PID, before.PID, res.Cold)
				}
			})
		}
	}
}

func TestInvoke_InitErrors(t *testing.T) {
	m, _ := newTestManager(t, nil)
	missing := t.TempDir()
	notExec := t.TempDir()
	if err := os.WriteFile(filepath.Join(notExec, "bootstrap"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, runtime, handler, dir string
		env                         map[string]string
		wantType, wantMsg           string
	}{
		{"node/module-missing", "nodejs20.x", "nothere.handler", abs("testdata/node/behaviors"), nil,
			"Runtime.ImportModuleError", "Error: Cannot find module 'nothere'"},
		{"node/dependency-missing", "nodejs20.x", "index.handler", abs("testdata/node/baddep"), nil,
			"Runtime.ImportModuleError", "Error: Cannot find module 'some-package-that-is-not-installed'"},
		{"node/handler-missing", "nodejs22.x", "index.nope", abs("testdata/node/behaviors"), nil,
			"Runtime.HandlerNotFound", "index.nope is undefined or not exported"},
		{"node/not-a-function", "nodejs18.x", "index.notAFunction", abs("testdata/node/behaviors"), nil,
			"Runtime.HandlerNotFound", "index.notAFunction is not a function"},
		{"python/module-missing", "python3.11", "nothere.handler", abs("testdata/python"), nil,
			"Runtime.ImportModuleError", "Unable to import module 'nothere': No module named 'nothere'"},
		{"python/handler-missing", "python3.13", "handler.nope", abs("testdata/python"), nil,
			"Runtime.HandlerNotFound", "Handler 'nope' missing on module 'handler'"},
		{"python/raises-at-import", "python3.12", "init_error.handler", abs("testdata/python"), nil,
			"Exception", "Runtime startup fails"},
		{"go/exits-during-init", "provided.al2023", "bootstrap", goHandlerDir, map[string]string{"FAIL_INIT": "1"},
			"Runtime.ExitError", "RequestId: init-id Error: Runtime exited with error: exit status 3"},
		{"provided/no-bootstrap", "provided.al2", "bootstrap", missing, nil,
			"Runtime.InvalidEntrypoint", "RequestId: init-id Error: Couldn't find valid bootstrap(s): [" + missing + "/bootstrap]"},
		{"provided/not-executable", "provided.al2023", "bootstrap", notExec, nil,
			"Runtime.InvalidEntrypoint", "RequestId: init-id Error: fork/exec " + notExec + "/bootstrap: permission denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &Spec{Name: "init-" + strings.ReplaceAll(tc.name, "/", "-"), ARN: "arn:x", Runtime: tc.runtime,
				Handler: tc.handler, CodeDir: tc.dir, Env: tc.env, Timeout: 5 * time.Second}
			res, err := m.Invoke(t.Context(), s, []byte(`{}`), InvokeOptions{RequestID: "init-id"})
			if err != nil {
				t.Fatal(err)
			}
			requireEqual(t, "FunctionError", res.FunctionError, "Unhandled")
			requireEqual(t, "ErrorType", res.ErrorType, tc.wantType)
			var b struct{ ErrorType, ErrorMessage string }
			if err := json.Unmarshal(res.Payload, &b); err != nil {
				t.Fatalf("payload %s: %v", res.Payload, err)
			}
			requireEqual(t, "errorType", b.ErrorType, tc.wantType)
			if !strings.HasPrefix(b.ErrorMessage, tc.wantMsg) {
				t.Errorf("errorMessage = %q, want prefix %q", b.ErrorMessage, tc.wantMsg)
			}
		})
	}
}

func TestInvoke_PythonInitErrorMatchesRecording(t *testing.T) {
	m, _ := newTestManager(t, nil)
	s := &Spec{Name: "py-init", Runtime: "python3.13", Handler: "init_error.handler", CodeDir: abs("testdata/python")}
	res, err := m.Invoke(t.Context(), s, []byte(`{}`), InvokeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(res.Payload, &b); err != nil {
		t.Fatal(err)
	}
	requireEqual(t, "requestId", b["requestId"], any(""))
	st, _ := b["stackTrace"].([]any)
	if len(st) == 0 || !strings.Contains(fmt.Sprint(st[len(st)-1]), `init_error.py", line 1, in <module>`) {
		t.Errorf("stackTrace = %v", st)
	}
}

func TestInvoke_ResponseTooLarge(t *testing.T) {
	m, _ := newTestManager(t, nil)
	const want = `{"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}`
	for _, l := range langs {
		t.Run(l.name, func(t *testing.T) {
			s := l.spec(t, "big-"+l.name)
			res, err := m.Invoke(t.Context(), s, []byte(`{"action":"big","size":7000000}`), InvokeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			requireEqual(t, "ErrorType", res.ErrorType, "Function.ResponseSizeTooLarge")
			requireEqual(t, "FunctionError", res.FunctionError, "Unhandled")
			requireEqual(t, "Payload", string(res.Payload), want)
			// Exactly at the limit is fine: a JSON string of 6291554 x's.
			res, err = m.Invoke(t.Context(), s, []byte(`{"action":"big","size":6291554}`), InvokeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			requireEqual(t, "FunctionError", res.FunctionError, "")
			requireEqual(t, "len(Payload)", len(res.Payload), 6291556)
		})
	}
}

// busyInvoke starts an invocation that sleeps far longer than the test and
// waits until it runs; Run's shutdown at cleanup ends it (ErrStopped).
func busyInvoke(t *testing.T, m *Manager, logs *logRecorder, s *Spec, id string) {
	t.Helper()
	go func() {
		_, _ = m.Invoke(context.Background(), s, []byte(`{"action":"sleep","sleepMs":60000}`), InvokeOptions{RequestID: id})
	}()
	logs.waitLine(t, "START RequestId: "+id)
}

func TestInvoke_Throttled(t *testing.T) {
	m, logs := newTestManager(t, func(o *Options) { o.MaxEnvironments = 2 })
	s := langs[0].spec(t, "throttle")
	s.Concurrency = 1
	s.Timeout = time.Minute
	busyInvoke(t, m, logs, s, "slow")
	if _, err := m.Invoke(t.Context(), s, []byte(`{}`), InvokeOptions{}); !errors.Is(err, ErrThrottled) {
		t.Fatalf("second concurrent invoke: err = %v, want ErrThrottled", err)
	}
	// Server-wide cap 2: throttle (busy) + other (idle); a third function
	// evicts other's idle environment, never the busy one.
	other, _ := invokeInfo(t, m, langs[0].spec(t, "other"), InvokeOptions{})
	invokeInfo(t, m, langs[0].spec(t, "third"), InvokeOptions{})
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error { return gone(other.PID) })
	if _, err := m.Invoke(t.Context(), s, []byte(`{}`), InvokeOptions{}); !errors.Is(err, ErrThrottled) {
		t.Fatalf("the busy environment was evicted: err = %v", err)
	}
}

func TestInvoke_ServerCapWithAllBusy(t *testing.T) {
	m, logs := newTestManager(t, func(o *Options) { o.MaxEnvironments = 1 })
	s := langs[0].spec(t, "busy")
	s.Timeout = time.Minute
	busyInvoke(t, m, logs, s, "busy1")
	if _, err := m.Invoke(t.Context(), langs[0].spec(t, "x"), []byte(`{}`), InvokeOptions{}); !errors.Is(err, ErrThrottled) {
		t.Fatalf("err = %v, want ErrThrottled", err)
	}
}

func TestEvictAndRevision(t *testing.T) {
	m, _ := newTestManager(t, nil)
	s := langs[0].spec(t, "evict")
	a, _ := invokeInfo(t, m, s, InvokeOptions{})
	b, _ := invokeInfo(t, m, s, InvokeOptions{})
	requireEqual(t, "warm pid", b.PID, a.PID)
	m.Evict(s.Name)
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error { return gone(a.PID) })
	c, res := invokeInfo(t, m, s, InvokeOptions{})
	if c.PID == a.PID || !res.Cold {
		t.Fatalf("after Evict: pid %d (was %d), cold=%v", c.PID, a.PID, res.Cold)
	}
	s.Revision = "r2"
	d, res := invokeInfo(t, m, s, InvokeOptions{})
	if d.PID == c.PID || !res.Cold {
		t.Fatalf("after a new revision: pid %d (was %d), cold=%v", d.PID, c.PID, res.Cold)
	}
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error { return gone(c.PID) })
}

func TestIdleTimeoutAndShutdown(t *testing.T) {
	m, _ := newTestManager(t, func(o *Options) { o.IdleTimeout = 100 * time.Millisecond })
	in, _ := invokeInfo(t, m, langs[0].spec(t, "idle"), InvokeOptions{})
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error { return gone(in.PID) })

	m2 := NewManager(Options{WorkDir: t.TempDir()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m2.Run(ctx) }()
	var pids []int
	for _, l := range langs {
		in, _ := invokeInfo(t, m2, l.spec(t, "shutdown-"+l.name), InvokeOptions{})
		pids = append(pids, in.PID)
	}
	busy := make(chan error, 1)
	go func() {
		_, err := m2.Invoke(context.Background(), langs[0].spec(t, "shutdown-go"), []byte(`{"action":"sleep","sleepMs":20000}`), InvokeOptions{})
		busy <- err
	}()
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		m2.mu.Lock()
		defer m2.mu.Unlock()
		for e := range m2.envs {
			if e.busy {
				return nil
			}
		}
		return errors.New("no busy environment yet")
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-busy; !errors.Is(err, ErrStopped) {
		t.Errorf("invoke in flight at shutdown: %v, want ErrStopped", err)
	}
	for _, pid := range pids {
		if err := gone(pid); err != nil {
			t.Error(err)
		}
	}
	if _, err := m2.Invoke(t.Context(), langs[0].spec(t, "late"), []byte(`{}`), InvokeOptions{}); !errors.Is(err, ErrStopped) {
		t.Errorf("Invoke after Run ended: %v, want ErrStopped", err)
	}
}

// gone reports an error while pid is alive. A zombie counts as gone: a
// killed grandchild waits for PID 1 to reap it.
func gone(pid int) error {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return nil
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	if i := strings.LastIndexByte(string(stat), ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
		return nil
	}
	return fmt.Errorf("process %d still running", pid)
}

func TestLogs(t *testing.T) {
	m, logs := newTestManager(t, nil)
	for _, l := range langs {
		t.Run(l.name, func(t *testing.T) {
			s := l.spec(t, "logs-"+l.name)
			var res [2]*Result
			for i := range res {
				id := fmt.Sprintf("log-%s-%d", l.name, i)
				r, err := m.Invoke(t.Context(), s, fmt.Appendf(nil, `{"action":"log","message":"hello %d"}`, i), InvokeOptions{RequestID: id, TailLog: true})
				if err != nil {
					t.Fatal(err)
				}
				res[i] = r
				lines := strings.Split(strings.TrimSuffix(r.LogTail, "\n"), "\n")
				if lines[0] != "START RequestId: "+id+" Version: $LATEST" && i == 1 {
					t.Errorf("tail starts with %q", lines[0])
				}
				if !strings.Contains(r.LogTail, fmt.Sprintf("hello %d", i)) {
					t.Errorf("tail lacks the handler's output:\n%s", r.LogTail)
				}
				n := len(lines)
				requireEqual(t, "END line", lines[n-2], "END RequestId: "+id)
				re := `^REPORT RequestId: ` + id + `\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\tMax Memory Used: [1-9]\d* MB\t`
				if i == 0 {
					re += `Init Duration: \d+\.\d\d ms\t`
				}
				if !regexp.MustCompile(re + `$`).MatchString(lines[n-1]) {
					t.Errorf("REPORT line %q does not match %q", lines[n-1], re)
				}
				if r.MaxMemoryMB <= 0 {
					t.Errorf("MaxMemoryMB = %d", r.MaxMemoryMB)
				}
			}
			logs.waitLine(t, "END RequestId: log-"+l.name+"-1")
		})
	}
	if l := logs.all(); len(l) == 0 {
		t.Fatal("no lines reached the LogSink")
	}
}

func TestNodeSeedHandlerUnchanged(t *testing.T) {
	// The handler from the study guide, byte for byte, with the Kinesis
	// event from aws-lambda-go's testdata (two "Hello World" records).
	m, _ := newTestManager(t, nil)
	event, err := os.ReadFile(filepath.Join("testdata", "kinesis-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := &Spec{Name: "seed", Runtime: "nodejs20.x", Handler: "index.handler", CodeDir: abs("testdata/node/seed")}
	res, err := m.Invoke(t.Context(), s, event, InvokeOptions{TailLog: true})
	if err != nil {
		t.Fatal(err)
	}
	requireEqual(t, "Payload", string(res.Payload), `"Successfully processed 2 records."`)
	if got := strings.Count(res.LogTail, "\tINFO\tDecoded payload: Hello World\n"); got != 2 {
		t.Errorf("decoded payload lines = %d, want 2; tail:\n%s", got, res.LogTail)
	}
}

func TestNodeHandlerStyles(t *testing.T) {
	m, _ := newTestManager(t, nil)
	tests := []struct{ handler, event, want, wantType string }{
		{"index.callback", `{}`, `{"style":"callback","count":1}`, ""},
		{"index.callback", `{"action":"error","message":"cb failed"}`, "", "Error"},
		{"index.sync", `{}`, `{"style":"sync","count":1}`, ""},
	}
	s := &Spec{Name: "styles", Runtime: "nodejs20.x", CodeDir: abs("testdata/node/behaviors"), Timeout: 3 * time.Second}
	for _, tc := range tests {
		s.Handler = tc.handler
		s.Revision = tc.handler // the handler is part of the configuration
		res, err := m.Invoke(t.Context(), s, []byte(tc.event), InvokeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		requireEqual(t, tc.handler+" ErrorType", res.ErrorType, tc.wantType)
		if tc.want != "" {
			requireEqual(t, tc.handler+" Payload", string(res.Payload), tc.want)
		}
	}
}

func TestNodeESModule(t *testing.T) {
	m, _ := newTestManager(t, nil)
	s := &Spec{Name: "esm", Runtime: "nodejs22.x", Handler: "index.handler", CodeDir: abs("testdata/node/esm")}
	res, err := m.Invoke(t.Context(), s, []byte(`{}`), InvokeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	requireEqual(t, "Payload", string(res.Payload), `{"esm":true,"file":"index.mjs","fn":"esm"}`)
}

func TestInvoke_CancelledContext(t *testing.T) {
	m, logs := newTestManager(t, nil)
	s := langs[0].spec(t, "cancel")
	before, _ := invokeInfo(t, m, s, InvokeOptions{})
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := m.Invoke(ctx, s, []byte(`{"action":"sleep","sleepMs":20000}`), InvokeOptions{RequestID: "cancel-me"})
		errc <- err
	}()
	logs.waitLine(t, "START RequestId: cancel-me")
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error { return gone(before.PID) })
	if _, err := m.Invoke(ctx, s, []byte(`{}`), InvokeOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Invoke with a done context: %v", err)
	}
}

func TestCheckRuntime(t *testing.T) {
	tests := []struct {
		rt string
		ok bool
	}{
		{"provided.al2023", true}, {"provided.al2", true}, {"nodejs18.x", true}, {"nodejs20.x", true},
		{"nodejs22.x", true}, {"python3.9", true}, {"python3.13", true},
		{"java21", false}, {"go1.x", false}, {"", false}, {"python2.7", false},
	}
	for _, tc := range tests {
		err := CheckRuntime(tc.rt)
		if (err == nil) != tc.ok {
			t.Errorf("CheckRuntime(%q) = %v, want ok=%v", tc.rt, err, tc.ok)
		}
		if !tc.ok && !errors.Is(err, ErrUnsupportedRuntime) {
			t.Errorf("CheckRuntime(%q) = %v, want ErrUnsupportedRuntime", tc.rt, err)
		}
	}
	t.Setenv("PATH", t.TempDir())
	if err := CheckRuntime("nodejs20.x"); err == nil || !strings.Contains(err.Error(), "node") {
		t.Errorf("CheckRuntime without node on PATH = %v", err)
	}
	if err := CheckRuntime("provided.al2023"); err != nil {
		t.Errorf("provided needs no interpreter: %v", err)
	}
}

func TestVersionsHaveTheirOwnPools(t *testing.T) {
	m, logs := newTestManager(t, nil)
	latest := langs[0].spec(t, "versions")
	v1 := langs[0].spec(t, "versions")
	v1.Version, v1.Revision, v1.ARN = "1", "published-1", latest.ARN+":1"
	a, _ := invokeInfo(t, m, latest, InvokeOptions{})
	b, _ := invokeInfo(t, m, v1, InvokeOptions{})
	requireEqual(t, "v1 version", b.Version, "1")
	requireEqual(t, "v1 arn", b.ARN, v1.ARN)
	a2, r1 := invokeInfo(t, m, latest, InvokeOptions{})
	b2, r2 := invokeInfo(t, m, v1, InvokeOptions{})
	if a2.PID != a.PID || b2.PID != b.PID || r1.Cold || r2.Cold {
		t.Fatalf("versions did not stay warm: $LATEST %d→%d, 1 %d→%d", a.PID, a2.PID, b.PID, b2.PID)
	}
	// Spec.Concurrency counts executions over all versions: with 1, an
	// idle environment of the other version makes room.
	latest.Concurrency, v1.Concurrency = 1, 1
	v1.Revision = "published-1b" // v1 needs a new environment; $LATEST's is idle
	invokeInfo(t, m, v1, InvokeOptions{})
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error { return gone(a.PID) })
	latest.Concurrency, v1.Concurrency = 2, 2
	latest.Timeout, v1.Timeout = time.Minute, time.Minute
	busyInvoke(t, m, logs, latest, "v-busy-0")
	busyInvoke(t, m, logs, v1, "v-busy-1")
	if _, err := m.Invoke(t.Context(), latest, []byte(`{"action":"ping"}`), InvokeOptions{}); !errors.Is(err, ErrThrottled) {
		t.Errorf("third execution of a function with concurrency 2: err = %v, want ErrThrottled", err)
	}
}

func TestEvictKillsTheProcessGroup(t *testing.T) {
	m, _ := newTestManager(t, nil)
	s := langs[0].spec(t, "group")
	res, err := m.Invoke(t.Context(), s, []byte(`{"action":"spawn"}`), InvokeOptions{})
	if err != nil || res.FunctionError != "" {
		t.Fatalf("spawn: %v %s", err, res.Payload)
	}
	var got struct{ PID, Child int }
	if err := json.Unmarshal(res.Payload, &got); err != nil || got.Child == 0 {
		t.Fatalf("payload %s: %v", res.Payload, err)
	}
	if err := gone(got.Child); err == nil {
		t.Fatal("child not running before Evict")
	}
	m.Evict(s.Name)
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error { return gone(got.Child) })
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error { return gone(got.PID) })
}

func TestLogTailIsTheLast4KB(t *testing.T) {
	m, _ := newTestManager(t, nil)
	s := langs[0].spec(t, "tail")
	msg := strings.Repeat("a", 3000) + "MIDDLE" + strings.Repeat("b", 3000)
	res, err := m.Invoke(t.Context(), s, []byte(`{"action":"log","message":"`+msg+`"}`), InvokeOptions{RequestID: "tail-id", TailLog: true})
	if err != nil {
		t.Fatal(err)
	}
	requireEqual(t, "len(LogTail)", len(res.LogTail), 4096)
	// 2 lines of 6006+ bytes, then END and REPORT: START is cut off.
	if strings.Contains(res.LogTail, "START RequestId") || !strings.Contains(res.LogTail, strings.Repeat("b", 3000)+"\nEND RequestId: tail-id\n") {
		t.Errorf("tail does not look like the last 4 KB: %q...", res.LogTail[:100])
	}
	if !strings.HasSuffix(res.LogTail, "\n") || !strings.Contains(res.LogTail, "REPORT RequestId: tail-id\t") {
		t.Errorf("tail does not end with the REPORT line: ...%s", res.LogTail[len(res.LogTail)-200:])
	}
	res, err = m.Invoke(t.Context(), s, []byte(`{"action":"ping"}`), InvokeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	requireEqual(t, "LogTail without TailLog", res.LogTail, "")
}

func TestInvoke_LargeEvent(t *testing.T) {
	m, _ := newTestManager(t, nil)
	msg := strings.Repeat("k", 6_000_000)
	for _, l := range langs {
		t.Run(l.name, func(t *testing.T) {
			s := l.spec(t, "large-"+l.name)
			for range 2 { // cold, then warm
				res, err := m.Invoke(t.Context(), s, []byte(`{"action":"len","message":"`+msg+`"}`), InvokeOptions{})
				if err != nil {
					t.Fatal(err)
				}
				requireEqual(t, "Payload", string(res.Payload), "6000000")
			}
		})
	}
}

func TestInvoke_ConcurrentCallers(t *testing.T) {
	m, _ := newTestManager(t, func(o *Options) { o.MaxEnvironments = 4 })
	s := langs[0].spec(t, "concurrent")
	s.Concurrency = 3
	other := langs[0].spec(t, "concurrent-other")
	type tally struct{ ok, throttled int }
	results := make(chan tally, 8)
	for g := range 8 {
		go func() {
			var n tally
			fn := s
			if g%4 == 3 {
				fn = other
			}
			for range 25 {
				res, err := m.Invoke(context.Background(), fn, []byte(`{"action":"ping"}`), InvokeOptions{})
				switch {
				case errors.Is(err, ErrThrottled):
					n.throttled++
				case err != nil:
					t.Errorf("Invoke: %v", err)
				case string(res.Payload) != `"pong"`:
					t.Errorf("payload %s", res.Payload)
				default:
					n.ok++
				}
			}
			results <- n
		}()
	}
	var total tally
	for range 8 {
		n := <-results
		total.ok += n.ok
		total.throttled += n.throttled
	}
	t.Logf("%d ok, %d throttled", total.ok, total.throttled)
	if total.ok == 0 {
		t.Fatal("no invocation succeeded")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := m.perFn[s.Name]; n > 3 {
		t.Errorf("%d environments for a function with concurrency 3", n)
	}
	if n := len(m.envs); n > 4 {
		t.Errorf("%d environments over MaxEnvironments 4", n)
	}
}
