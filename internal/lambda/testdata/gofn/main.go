// Command gofn is the Go test handler: what it does depends on the event's
// "op".
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Op     string `json:"op"`
	Ms     int    `json:"ms"`
	Marker string `json:"marker"`
	Value  any    `json:"value"`
}

func handle(ctx context.Context, e event) (any, error) {
	switch e.Op {
	case "error":
		return nil, errors.New("some_error_msg")
	case "fail": // count the attempt in Marker, then fail
		f, err := os.OpenFile(e.Marker, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, err
		}
		fmt.Fprintln(f, lambdacontext.FunctionName)
		f.Close()
		return nil, errors.New("failing on purpose")
	case "crash":
		os.Exit(3)
	case "sleep":
		if e.Marker != "" {
			if err := os.WriteFile(e.Marker, nil, 0o644); err != nil {
				return nil, err
			}
		}
		time.Sleep(time.Duration(e.Ms) * time.Millisecond)
	case "log":
		fmt.Println("hello from go")
	}
	lc, _ := lambdacontext.FromContext(ctx)
	return map[string]any{
		"pid":       os.Getpid(),
		"value":     e.Value,
		"requestId": lc.AwsRequestID,
		"function":  lambdacontext.FunctionName,
		"env":       os.Getenv("GREETING"),
	}, nil
}

func main() { lambda.Start(handle) }
