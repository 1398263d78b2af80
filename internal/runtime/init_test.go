package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

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

func TestExecWrapper(t *testing.T) {
	m, _ := newTestManager(t, nil)
	for _, l := range langs[1:] { // managed runtimes only, as on AWS
		t.Run(l.name, func(t *testing.T) {
			s := l.spec(t, "wrapped-"+l.name)
			s.Env = map[string]string{"AWS_LAMBDA_EXEC_WRAPPER": abs("testdata/wrapper/wrapper.sh")}
			in, _ := invokeInfo(t, m, s, InvokeOptions{})
			requireEqual(t, "WRAPPED_BY", in.Env["WRAPPED_BY"], "wrapper.sh")

			// The recorded AWS answer for a wrapper that does not exist.
			s.Env = map[string]string{"AWS_LAMBDA_EXEC_WRAPPER": "/does/not/exist"}
			s.Revision = "missing-wrapper"
			res, err := m.Invoke(t.Context(), s, []byte(`{}`), InvokeOptions{RequestID: "wrap-id"})
			if err != nil {
				t.Fatal(err)
			}
			requireEqual(t, "Payload", string(res.Payload),
				`{"errorType":"Runtime.ExitError","errorMessage":"RequestId: wrap-id Error: Runtime exited with error: exit status 127"}`)
		})
	}
}
