package lambda_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"

	"github.com/penstock/penstock/internal/penstocktest"
	"github.com/penstock/penstock/internal/server"
)

// Binaries built once for all tests.
var (
	goTestBootstrap    []byte // testdata/gofn
	goExampleBootstrap []byte // examples/functions/go
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "penstock-lambda-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		for _, b := range []struct {
			pkg string
			out *[]byte
		}{{"./testdata/gofn", &goTestBootstrap}, {"../../examples/functions/go", &goExampleBootstrap}} {
			bin := filepath.Join(dir, filepath.Base(b.pkg))
			cmd := exec.Command("go", "build", "-o", bin, b.pkg)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
			if out, err := cmd.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "building %s: %v\n%s", b.pkg, err, out)
				return 1
			}
			if *b.out, err = os.ReadFile(bin); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		code := m.Run()
		if code == 0 {
			err := goleak.Find(
				// Idle keep-alive connections of http.DefaultClient and the
				// SDK's transport outlive the servers they talked to.
				goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
				goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
				goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
			)
			if err != nil {
				fmt.Fprintln(os.Stderr, "leaked goroutines:", err)
				return 1
			}
		}
		return code
	}()
	os.Exit(code)
}

// file is one zip entry.
type file struct {
	name string
	mode fs.FileMode
	data []byte
}

func makeZip(t testing.TB, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
		h.SetMode(f.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Packages of the test functions.
func goZip(t testing.TB) []byte {
	return makeZip(t, file{"bootstrap", 0o755, goTestBootstrap})
}
func nodeSeedZip(t testing.TB) []byte {
	return makeZip(t, file{"index.js", 0o644, readFile(t, "testdata/node/index.js")})
}
func pythonZip(t testing.TB) []byte {
	return makeZip(t, file{"app.py", 0o644, readFile(t, "testdata/python/app.py")},
		file{"broken.py", 0o644, readFile(t, "testdata/python/broken.py")})
}

const role = "arn:aws:iam::000000000000:role/lambda-role"

type env struct {
	srv *server.Server
	c   *awslambda.Client
}

func start(t testing.TB) env {
	t.Helper()
	srv := penstocktest.Start(t, nil)
	// No SDK retries: a 429 must reach the test, not be retried away.
	return env{srv: srv, c: awslambda.NewFromConfig(penstocktest.AWSConfig(srv), func(o *awslambda.Options) { o.RetryMaxAttempts = 1 })}
}

// create makes a function and waits for it to become Active.
func (e env) create(t testing.TB, in *awslambda.CreateFunctionInput) *awslambda.CreateFunctionOutput {
	t.Helper()
	if in.Role == nil {
		in.Role = aws.String(role)
	}
	out, err := e.c.CreateFunction(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateFunction %s: %v", aws.ToString(in.FunctionName), err)
	}
	e.waitActive(t, *in.FunctionName)
	return out
}

func (e env) waitActive(t testing.TB, name string) {
	t.Helper()
	penstocktest.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		c, err := e.c.GetFunctionConfiguration(context.Background(), &awslambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil {
			return err
		}
		if c.State != types.StateActive || c.LastUpdateStatus != types.LastUpdateStatusSuccessful {
			return fmt.Errorf("state %s, last update %s", c.State, c.LastUpdateStatus)
		}
		return nil
	})
}

func (e env) createGo(t testing.TB, name string, mutate func(*awslambda.CreateFunctionInput)) {
	t.Helper()
	in := &awslambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Code: &types.FunctionCode{ZipFile: goZip(t)},
	}
	if mutate != nil {
		mutate(in)
	}
	e.create(t, in)
}

func (e env) invoke(t testing.TB, name string, payload any) (*awslambda.InvokeOutput, error) {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return e.c.Invoke(t.Context(), &awslambda.InvokeInput{FunctionName: aws.String(name), Payload: b})
}

// apiError returns the AWS error code, message and HTTP status of err.
func apiError(t testing.TB, err error) (code, msg string, status int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an AWS API error, got %v", err)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return ae.ErrorCode(), ae.ErrorMessage(), status
}

func wantAPIError(t testing.TB, err error, code string, status int, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s, got success", code)
	}
	gotCode, gotMsg, gotStatus := apiError(t, err)
	if gotCode != code || gotStatus != status || (msg != "" && gotMsg != msg) {
		t.Fatalf("got %s %d %q, want %s %d %q", gotCode, gotStatus, gotMsg, code, status, msg)
	}
}

func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return v
}
