package esm_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/penstock/penstock/internal/penstocktest"
)

// TestE2E_Filter: a whole server, real clients and the aws-lambda-go test
// function: only records whose JSON data matches the filter reach it.
func TestE2E_Filter(t *testing.T) {
	srv := penstocktest.Start(t, nil)
	ctx := t.Context()
	c := newClients(srv)
	out := filepath.Join(t.TempDir(), "fn.log")
	arn := c.setup(t, ctx, "orders", 1, out)
	m, err := c.l.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
		EventSourceArn: aws.String(arn), FunctionName: aws.String("fn"), StartingPosition: ltypes.EventSourcePositionTrimHorizon,
		FilterCriteria: &ltypes.FilterCriteria{Filters: []ltypes.Filter{
			{Pattern: aws.String(`{"data":{"event_type":["keep"]}}`)},
			{Pattern: aws.String(`{"data":{"n":[{"numeric":[">=",100]}]}}`)},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.FilterCriteria == nil || len(m.FilterCriteria.Filters) != 2 {
		t.Fatalf("FilterCriteria = %+v", m.FilterCriteria)
	}
	var records, want []string
	for i := range 30 {
		et := []string{"keep", "drop", "other"}[i%3]
		d := fmt.Sprintf(`{"event_type":%q,"n":%d}`, et, i)
		if i%3 == 0 {
			want = append(want, d)
		}
		records = append(records, d, fmt.Sprintf("plain-%d", i))
	}
	last := `{"event_type":"drop","n":100}` // matches the second filter
	records = append(records, last)
	want = append(want, last)
	c.put(t, ctx, "orders", records...)
	penstocktest.CheckFor(t, 20*time.Second, 10*time.Millisecond, func() error {
		if seen(t, out)[last] == 0 {
			return fmt.Errorf("last record not delivered yet")
		}
		return nil
	})
	got := seen(t, out)
	if len(got) != len(want) {
		t.Errorf("delivered %d distinct records, want %d: %v", len(got), len(want), got)
	}
	for _, d := range want {
		if got[d] != 1 {
			t.Errorf("%s delivered %d times, want 1", d, got[d])
		}
	}
}

// TestE2E_TumblingWindow: a 1 s tumbling window on the real clock with the
// aws-lambda-go test function (events.KinesisTimeWindowEvent in,
// KinesisTimeWindowEventResponse with state out): within each window the
// state counts the records delivered before, each window ends with a final
// invoke, and the windows together hold every record once.
func TestE2E_TumblingWindow(t *testing.T) {
	srv := penstocktest.Start(t, nil)
	ctx := t.Context()
	c := newClients(srv)
	dir := t.TempDir()
	arn := c.setup(t, ctx, "clicks", 1, filepath.Join(dir, "fn.log"))
	wout := filepath.Join(dir, "window.log")
	if _, err := c.l.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("wfn"), Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String("arn:aws:iam::000000000000:role/lambda-role"), Code: &ltypes.FunctionCode{ZipFile: fnZip},
		Timeout:     aws.Int32(10),
		Environment: &ltypes.Environment{Variables: map[string]string{"FN_WINDOW_OUT": wout}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.l.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
		EventSourceArn: aws.String(arn), FunctionName: aws.String("wfn"), StartingPosition: ltypes.EventSourcePositionTrimHorizon,
		BatchSize: aws.Int32(3), TumblingWindowInSeconds: aws.Int32(1),
	}); err != nil {
		t.Fatal(err)
	}
	const n = 10
	c.put(t, ctx, "clicks", data("click", n)...)
	type line struct {
		start    int64
		in, recs int
		final    bool
	}
	var lines []line
	penstocktest.CheckFor(t, 20*time.Second, 10*time.Millisecond, func() error {
		b, err := os.ReadFile(wout)
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		lines = lines[:0]
		total, open := 0, false
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			f := strings.Fields(l)
			if len(f) != 4 {
				continue
			}
			start, _ := strconv.ParseInt(f[0], 10, 64)
			in, _ := strconv.Atoi(f[1])
			recs, _ := strconv.Atoi(f[2])
			lines = append(lines, line{start, in, recs, f[3] == "true"})
			total += recs
			open = f[3] != "true"
		}
		if total < n || open {
			return fmt.Errorf("%d of %d records, last window open %v: %v", total, n, open, lines)
		}
		return nil
	})
	count, prevStart, total := 0, int64(-1), 0
	for i, l := range lines {
		if l.start != prevStart {
			if i > 0 && !lines[i-1].final {
				t.Errorf("window %d ended without a final invoke: %v", prevStart, lines)
			}
			if l.start < prevStart {
				t.Errorf("windows out of order: %v", lines)
			}
			prevStart, count = l.start, 0
		} else if lines[i-1].final {
			t.Errorf("invoke after the final invoke of window %d: %v", l.start, lines)
		}
		if l.in != count {
			t.Errorf("invoke %d: state count %d, want %d (records before it in its window): %v", i, l.in, count, lines)
		}
		count += l.recs
		total += l.recs
	}
	if total != n {
		t.Errorf("windows hold %d records, want %d", total, n)
	}
}
