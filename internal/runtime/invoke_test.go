package runtime

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
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
