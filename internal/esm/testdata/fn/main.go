// Command fn is the mapping tests' function (aws-lambda-go, provided.al2023).
// It appends one line per invoke to $FN_OUT: the records' data, space
// separated. Records whose data starts with "fail" make the invoke fail;
// with ReportBatchItemFailures, records whose data starts with "bad" are
// reported as failed.
package main

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
	var resp events.KinesisEventResponse
	var data []string
	for _, r := range ev.Records {
		d := string(r.Kinesis.Data)
		data = append(data, d)
		if strings.HasPrefix(d, "bad") {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: r.Kinesis.SequenceNumber})
		}
	}
	if out := os.Getenv("FN_OUT"); out != "" {
		f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return resp, err
		}
		_, err = f.WriteString(strings.Join(data, " ") + "\n")
		f.Close()
		if err != nil {
			return resp, err
		}
	}
	for _, d := range data {
		if strings.HasPrefix(d, "fail") {
			return resp, errors.New("poison record " + d)
		}
	}
	return resp, nil
}

func main() { lambda.Start(handle) }
