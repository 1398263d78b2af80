// Command fn is the mapping tests' function (aws-lambda-go, provided.al2023).
// It appends one line per invoke to $FN_OUT: the records' data, space
// separated. Records whose data starts with "fail" make the invoke fail;
// with ReportBatchItemFailures, records whose data starts with "bad" are
// reported as failed. With a tumbling window it returns
// {"state":{"count":"<records so far in the window>"}} and, when
// $FN_WINDOW_OUT is set, appends "<window start> <state count in> <records>
// <isFinalInvokeForWindow>" to it.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, ev events.KinesisTimeWindowEvent) (events.KinesisTimeWindowEventResponse, error) {
	var resp events.KinesisTimeWindowEventResponse
	if !ev.Window.Start.IsZero() {
		n, _ := strconv.Atoi(ev.State["count"])
		resp.State = map[string]string{"count": strconv.Itoa(n + len(ev.Records))}
		if out := os.Getenv("FN_WINDOW_OUT"); out != "" {
			line := fmt.Sprintf("%d %d %d %v\n", ev.Window.Start.Unix(), n, len(ev.Records), ev.IsFinalInvokeForWindow)
			if err := appendLine(out, line); err != nil {
				return resp, err
			}
		}
	}
	var data []string
	for _, r := range ev.Records {
		d := string(r.Kinesis.Data)
		data = append(data, d)
		if strings.HasPrefix(d, "bad") {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: r.Kinesis.SequenceNumber})
		}
	}
	if out := os.Getenv("FN_OUT"); out != "" {
		if err := appendLine(out, strings.Join(data, " ")+"\n"); err != nil {
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

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func main() { lambda.Start(handle) }
