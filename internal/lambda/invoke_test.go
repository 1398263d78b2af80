package lambda_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/penstock/penstock/internal/lambda"
	"github.com/penstock/penstock/internal/penstocktest"
	"github.com/penstock/penstock/internal/runtime"
)

type goResult struct {
	PID       int    `json:"pid"`
	Value     any    `json:"value"`
	RequestID string `json:"requestId"`
	Function  string `json:"function"`
	Env       string `json:"env"`
}

func TestInvokeGo(t *testing.T) {
	e := start(t)
	e.createGo(t, "gofn", func(in *awslambda.CreateFunctionInput) {
		in.Timeout = aws.Int32(1)
		in.Environment = &types.Environment{Variables: map[string]string{"GREETING": "hi"}}
	})

	t.Run("echo and warm reuse", func(t *testing.T) {
		pids := map[int]bool{}
		for i := range 5 {
			out, err := e.invoke(t, "gofn", map[string]any{"op": "echo", "value": i})
			if err != nil {
				t.Fatal(err)
			}
			r := decode[goResult](t, out.Payload)
			if out.StatusCode != 200 || out.FunctionError != nil || aws.ToString(out.ExecutedVersion) != "$LATEST" ||
				r.Value != float64(i) || r.Function != "gofn" || r.Env != "hi" || r.RequestID == "" {
				t.Fatalf("invoke %d: %d %v %s", i, out.StatusCode, out.FunctionError, out.Payload)
			}
			pids[r.PID] = true
		}
		if len(pids) != 1 {
			t.Fatalf("5 sequential invokes ran in %d processes, want 1 warm environment", len(pids))
		}
	})

	t.Run("function error", func(t *testing.T) {
		out, err := e.invoke(t, "gofn", map[string]any{"op": "error"})
		if err != nil {
			t.Fatal(err)
		}
		got := decode[map[string]any](t, out.Payload)
		if out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" ||
			got["errorMessage"] != "some_error_msg" || got["errorType"] != "errorString" {
			t.Fatalf("error invoke: %d %v %s", out.StatusCode, aws.ToString(out.FunctionError), out.Payload)
		}
	})

	t.Run("tail logs", func(t *testing.T) {
		out, err := e.c.Invoke(t.Context(), &awslambda.InvokeInput{FunctionName: aws.String("gofn"),
			Payload: []byte(`{"op":"log"}`), LogType: types.LogTypeTail})
		if err != nil {
			t.Fatal(err)
		}
		tail, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"START RequestId: ", "hello from go", "END RequestId: ", "REPORT RequestId: "} {
			if !strings.Contains(string(tail), want) {
				t.Errorf("LogResult lacks %q:\n%s", want, tail)
			}
		}
		if len(tail) > 4096 {
			t.Errorf("LogResult is %d bytes, want at most 4 KB", len(tail))
		}
	})

	t.Run("timeout", func(t *testing.T) {
		out, err := e.invoke(t, "gofn", map[string]any{"op": "sleep", "ms": 3000})
		if err != nil {
			t.Fatal(err)
		}
		got := decode[map[string]string](t, out.Payload)
		if aws.ToString(out.FunctionError) != "Unhandled" || got["errorType"] != "Sandbox.Timedout" ||
			!strings.HasSuffix(got["errorMessage"], "Error: Task timed out after 1.00 seconds") {
			t.Fatalf("timeout invoke: %v %s", aws.ToString(out.FunctionError), out.Payload)
		}
	})

	t.Run("crash", func(t *testing.T) {
		out, err := e.invoke(t, "gofn", map[string]any{"op": "crash"})
		if err != nil {
			t.Fatal(err)
		}
		got := decode[map[string]string](t, out.Payload)
		if aws.ToString(out.FunctionError) != "Unhandled" || got["errorType"] != "Runtime.ExitError" ||
			!strings.HasPrefix(got["errorMessage"], "RequestId: ") {
			t.Fatalf("crash invoke: %v %s", aws.ToString(out.FunctionError), out.Payload)
		}
		// The next invoke gets a fresh environment.
		if out, err := e.invoke(t, "gofn", map[string]any{"op": "echo"}); err != nil || out.FunctionError != nil {
			t.Fatalf("invoke after crash: %v %v", err, out)
		}
	})
}

func TestInvokeNodeSeedHandler(t *testing.T) {
	e := start(t)
	e.create(t, &awslambda.CreateFunctionInput{FunctionName: aws.String("seed"), Runtime: types.RuntimeNodejs20x,
		Handler: aws.String("index.handler"), Code: &types.FunctionCode{ZipFile: nodeSeedZip(t)}})
	event := []byte(`{"Records":[{"kinesis":{"data":"SGVsbG8gV29ybGQ=","partitionKey":"s1"}},{"kinesis":{"data":"Zm9v","partitionKey":"s2"}}]}`)
	out, err := e.c.Invoke(t.Context(), &awslambda.InvokeInput{FunctionName: aws.String("seed"), Payload: event, LogType: types.LogTypeTail})
	if err != nil {
		t.Fatal(err)
	}
	if out.FunctionError != nil || string(out.Payload) != `"Successfully processed 2 records."` {
		t.Fatalf("seed handler: %v %s", aws.ToString(out.FunctionError), out.Payload)
	}
	tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if !strings.Contains(string(tail), "Decoded payload: Hello World") || !strings.Contains(string(tail), "Decoded payload: foo") {
		t.Fatalf("seed handler logs:\n%s", tail)
	}
}

func TestInvokePython(t *testing.T) {
	e := start(t)
	for _, c := range []struct{ name, handler string }{{"py", "app.handler"}, {"py-init-error", "broken.handler"}, {"py-no-handler", "app.nope"}} {
		e.create(t, &awslambda.CreateFunctionInput{FunctionName: aws.String(c.name), Runtime: types.RuntimePython312,
			Handler: aws.String(c.handler), Code: &types.FunctionCode{ZipFile: pythonZip(t)}})
	}
	cases := []struct {
		name, fn  string
		payload   string
		fnError   string
		errorType string
		message   string
	}{
		{"echo", "py", `{"value":"x"}`, "", "", ""},
		{"handler error", "py", `{"op":"error"}`, "Unhandled", "Exception", "Handler fails"},
		{"init error", "py-init-error", `{}`, "Unhandled", "Exception", "Runtime startup fails"},
		{"missing handler", "py-no-handler", `{}`, "Unhandled", "Runtime.HandlerNotFound", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := e.c.Invoke(t.Context(), &awslambda.InvokeInput{FunctionName: aws.String(c.fn), Payload: []byte(c.payload)})
			if err != nil {
				t.Fatal(err)
			}
			got := decode[map[string]any](t, out.Payload)
			if aws.ToString(out.FunctionError) != c.fnError {
				t.Fatalf("FunctionError %q, want %q: %s", aws.ToString(out.FunctionError), c.fnError, out.Payload)
			}
			if c.fnError == "" {
				if got["value"] != "x" {
					t.Fatalf("payload %s", out.Payload)
				}
				return
			}
			if got["errorType"] != c.errorType || (c.message != "" && got["errorMessage"] != c.message) {
				t.Fatalf("payload %s, want errorType %s message %q", out.Payload, c.errorType, c.message)
			}
		})
	}
}

func TestInvokeConcurrency(t *testing.T) {
	e := start(t)
	ctx := t.Context()
	e.createGo(t, "limited", func(in *awslambda.CreateFunctionInput) { in.Timeout = aws.Int32(30) })

	if _, err := e.c.PutFunctionConcurrency(ctx, &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("limited"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	_, err := e.invoke(t, "limited", map[string]any{"op": "echo"})
	wantAPIError(t, err, "TooManyRequestsException", 429, "Rate Exceeded.")
	var tmr *types.TooManyRequestsException
	if !errors.As(err, &tmr) || tmr.Reason != types.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded {
		t.Fatalf("throttle reason: %v", err)
	}
	// The in-process API reports the same throttle as runtime.ErrThrottled.
	if _, err := e.srv.Lambda().Invoke(ctx, "limited", []byte(`{}`), runtime.InvokeOptions{}); !errors.Is(err, runtime.ErrThrottled) {
		t.Fatalf("in-process invoke with concurrency 0: %v, want ErrThrottled", err)
	}

	if _, err := e.c.PutFunctionConcurrency(ctx, &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("limited"), ReservedConcurrentExecutions: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(t.TempDir(), "running")
	var wg sync.WaitGroup
	var slowErr error
	var slow *awslambda.InvokeOutput
	wg.Go(func() {
		slow, slowErr = e.invoke(t, "limited", map[string]any{"op": "sleep", "ms": 1500, "marker": marker})
	})
	penstocktest.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		_, err := os.Stat(marker)
		return err
	})
	_, err = e.invoke(t, "limited", map[string]any{"op": "echo"})
	wantAPIError(t, err, "TooManyRequestsException", 429, "Rate Exceeded.")
	wg.Wait()
	if slowErr != nil || slow.FunctionError != nil {
		t.Fatalf("the running invoke: %v %v", slowErr, slow)
	}
	// Free again.
	if out, err := e.invoke(t, "limited", map[string]any{"op": "echo"}); err != nil || out.FunctionError != nil {
		t.Fatalf("invoke after the slow one: %v", err)
	}
}

func TestInvokeRequestErrors(t *testing.T) {
	e := start(t)
	e.createGo(t, "req", nil)
	ctx := t.Context()

	_, err := e.c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("doesnotexist")})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "Function not found: arn:aws:lambda:us-east-1:000000000000:function:doesnotexist:$LATEST")

	_, err = e.c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("req"), Qualifier: aws.String("7")})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "Function not found: arn:aws:lambda:us-east-1:000000000000:function:req:7")

	big := []byte(`{"v":"` + strings.Repeat("x", 6291456) + `"}`)
	_, err = e.c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("req"), Payload: big})
	wantAPIError(t, err, "RequestEntityTooLargeException", 413, "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
	if _, err := e.srv.Lambda().Invoke(ctx, "req", big, runtime.InvokeOptions{}); err == nil {
		t.Fatal("in-process invoke of an oversized payload succeeded")
	}

	_, err = e.c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("req"), Payload: []byte("not json")})
	wantAPIError(t, err, "InvalidRequestContentException", 400, "")
	if _, msg, _ := apiError(t, err); !strings.HasPrefix(msg, "Could not parse request body into json: ") {
		t.Fatalf("message %q", msg)
	}

	// Invoke by ARN with the qualifier in the ARN, URL-escaped in the path.
	out, err := e.c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:000000000000:function:req:$LATEST"), Payload: []byte(`{"value":1}`)})
	if err != nil || decode[goResult](t, out.Payload).Value != float64(1) {
		t.Fatalf("invoke by qualified ARN: %v", err)
	}
}

func TestInvocationTypes(t *testing.T) {
	e := start(t)
	e.createGo(t, "types", nil)
	ctx := t.Context()

	out, err := e.c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("types"), InvocationType: types.InvocationTypeDryRun})
	if err != nil || out.StatusCode != 204 {
		t.Fatalf("DryRun: %v %v", out, err)
	}
	_, err = e.c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("nope"), InvocationType: types.InvocationTypeDryRun})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "")

	marker := filepath.Join(t.TempDir(), "event-ran")
	out, err = e.c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("types"), InvocationType: types.InvocationTypeEvent,
		Payload: []byte(fmt.Sprintf(`{"op":"sleep","ms":0,"marker":%q}`, marker))})
	if err != nil || out.StatusCode != 202 || len(out.Payload) != 0 {
		t.Fatalf("Event: %v %v", out, err)
	}
	penstocktest.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		_, err := os.Stat(marker)
		return err
	})
}

func TestLogsEndpoint(t *testing.T) {
	e := start(t)
	e.createGo(t, "logged", nil)
	out, err := e.invoke(t, "logged", map[string]any{"op": "log"})
	if err != nil || out.FunctionError != nil {
		t.Fatal(err)
	}
	// Right after the invoke, without waiting for the log writer's next
	// flush: the read writes what is buffered first.
	resp, err := http.Get(e.srv.URL() + "/_penstock/logs/logged?since=1h")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if body := string(b); !strings.Contains(body, "hello from go") || !strings.Contains(body, "REPORT RequestId: ") {
		t.Fatalf("logs right after the invoke:\n%s", body)
	}
	// Follow: a line logged after the request starts arrives on the stream.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL()+"/_penstock/logs/logged?since=0s&follow=1", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := e.invoke(t, "logged", map[string]any{"op": "log", "value": "second"}); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	buf := make([]byte, 4096)
	for !strings.Contains(got.String(), "hello from go") {
		n, err := resp.Body.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			t.Fatalf("following logs: %v after %q", err, got.String())
		}
	}
}

func TestInProcessAPI(t *testing.T) {
	e := start(t)
	e.createGo(t, "inproc", nil)
	svc := e.srv.Lambda()
	ctx := t.Context()
	info, err := svc.Function(ctx, "arn:aws:lambda:us-east-1:000000000000:function:inproc")
	if err != nil || info.Name != "inproc" || info.Runtime != "provided.al2023" || info.Role != role ||
		info.ARN != "arn:aws:lambda:us-east-1:000000000000:function:inproc" {
		t.Fatalf("Function = %+v, %v", info, err)
	}
	if _, err := svc.Function(ctx, "missing"); !errors.Is(err, lambda.ErrFunctionNotFound) {
		t.Fatalf("Function(missing) = %v, want ErrFunctionNotFound", err)
	}
	if _, err := svc.Invoke(ctx, "missing", []byte(`{}`), runtime.InvokeOptions{}); !errors.Is(err, lambda.ErrFunctionNotFound) {
		t.Fatalf("Invoke(missing) = %v, want ErrFunctionNotFound", err)
	}
	res, err := svc.Invoke(ctx, "inproc", []byte(`{"op":"error"}`), runtime.InvokeOptions{RequestID: "req-1"})
	if err != nil || res.FunctionError != "Unhandled" || res.ErrorType != "errorString" || res.RequestID != "req-1" {
		t.Fatalf("Invoke error op = %+v, %v", res, err)
	}
	res, err = svc.Invoke(ctx, "000000000000:function:inproc", []byte(`{"value":"v"}`), runtime.InvokeOptions{})
	if err != nil || res.FunctionError != "" || decode[goResult](t, res.Payload).Value != "v" {
		t.Fatalf("Invoke = %+v, %v", res, err)
	}
}
