// Command gohandler is a test function for internal/runtime: an ordinary
// aws-lambda-go handler, built by the tests as `bootstrap` (provided.al2023).
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Action  string `json:"action"`
	Message string `json:"message"`
	SleepMS int    `json:"sleepMs"`
	Size    int    `json:"size"`
	Code    int    `json:"code"`
}

type handler struct{ count int }

func (h *handler) handle(ctx context.Context, r request) (any, error) {
	h.count++
	switch r.Action {
	case "error":
		return nil, errors.New(r.Message)
	case "panic":
		panic(r.Message)
	case "exit":
		os.Exit(r.Code)
	case "sleep":
		time.Sleep(time.Duration(r.SleepMS) * time.Millisecond)
	case "big":
		return strings.Repeat("x", r.Size), nil
	case "log":
		fmt.Println(r.Message)
		log.Print("stderr " + r.Message)
	case "ping":
		return "pong", nil
	case "len":
		return len(r.Message), nil
	case "spawn":
		c := exec.Command("sleep", "600")
		if err := c.Start(); err != nil {
			return nil, err
		}
		return map[string]int{"pid": os.Getpid(), "child": c.Process.Pid}, nil
	}
	lc, _ := lambdacontext.FromContext(ctx)
	deadline, _ := ctx.Deadline()
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return map[string]any{
		"pid":           os.Getpid(),
		"count":         h.count,
		"requestId":     lc.AwsRequestID,
		"arn":           lc.InvokedFunctionArn,
		"functionName":  lambdacontext.FunctionName,
		"version":       lambdacontext.FunctionVersion,
		"memory":        lambdacontext.MemoryLimitInMB,
		"logGroup":      lambdacontext.LogGroupName,
		"logStream":     lambdacontext.LogStreamName,
		"remainingMs":   time.Until(deadline).Milliseconds(),
		"clientContext": lc.ClientContext.Custom,
		"env":           env,
	}, nil
}

func main() {
	if os.Getenv("FAIL_INIT") != "" {
		fmt.Fprintln(os.Stderr, "init failing on purpose")
		os.Exit(3)
	}
	h := &handler{}
	lambda.Start(h.handle)
}
