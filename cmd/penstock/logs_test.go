package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/penstock/penstock/internal/penstocktest"
)

func TestLogsCommand(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not on PATH")
	}
	srv := penstocktest.Start(t, nil)
	c := awslambda.NewFromConfig(penstocktest.AWSConfig(srv))
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("app.py")
	fmt.Fprint(w, "def handler(event, context):\n    print('line from', event['who'])\n    return 1\n")
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := c.CreateFunction(ctx, &awslambda.CreateFunctionInput{FunctionName: aws.String("logme"), Runtime: types.RuntimePython312,
		Handler: aws.String("app.handler"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &types.FunctionCode{ZipFile: buf.Bytes()}}); err != nil {
		t.Fatal(err)
	}
	if out, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("logme"), Payload: []byte(`{"who":"cli-test"}`)}); err != nil || out.FunctionError != nil {
		t.Fatalf("invoke: %v", err)
	}
	penstocktest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		stdout, _ := runTool(t, srv.URL(), "", "logs", "logme", "--since", "5m")
		if !strings.Contains(stdout, "line from cli-test") || !strings.Contains(stdout, "REPORT RequestId: ") {
			return fmt.Errorf("penstock logs printed:\n%s", stdout)
		}
		return nil
	})
	// A function with no logs at all is an error.
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"logs", "--endpoint", srv.URL(), "nothing-here"}, func(string) string { return "" }, nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("logs of an unknown function: %v", err)
	}
}
