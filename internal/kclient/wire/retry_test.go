package wire_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/penstock/penstock/internal/kclient/wire"
)

// reply is one scripted answer of the test server.
type reply func(w http.ResponseWriter)

func status(code int, header, body string) reply {
	return func(w http.ResponseWriter) {
		if header != "" {
			w.Header().Set("X-Amzn-ErrorType", header)
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

var ok = status(200, "", `{"Records":[],"MillisBehindLatest":0,"NextShardIterator":"next"}`)

func TestRetries(t *testing.T) {
	const attempts = 3
	throttled := `{"__type":"com.amazonaws.kinesis.v20131202#ProvisionedThroughputExceededException","message":"Rate exceeded for shard"}`
	cases := []struct {
		name     string
		script   []reply // the last one repeats
		attempts int
		code     string // "" = success
		message  string
	}{
		{"success", []reply{ok}, 1, "", ""},
		{"503 then success", []reply{status(503, "", `{"__type":"ServiceUnavailable","message":"later"}`), ok}, 2, "", ""},
		{"throttled then success", []reply{status(400, "", throttled), ok}, 2, "", ""},
		{"limit exceeded then success", []reply{status(400, "", `{"__type":"LimitExceededException","message":"too many"}`), ok}, 2, "", ""},
		{"dropped connection then success", []reply{drop, ok}, 2, "", ""},
		{"not found is final", []reply{status(400, "", `{"__type":"ResourceNotFoundException","message":"Stream s under account 1 not found."}`)}, 1,
			wire.CodeResourceNotFound, "Stream s under account 1 not found."},
		{"code from the header, message in any case", []reply{status(400, "ExpiredIteratorException:http://internal.amazon.com/coral/com.amazonaws.kinesis/", `{"Message":"Iterator expired"}`)}, 1,
			wire.CodeExpiredIterator, "Iterator expired"},
		{"throttled every time", []reply{status(400, "", throttled)}, attempts, wire.CodeProvisionedThroughputExceeded, "Rate exceeded for shard"},
		{"500 every time", []reply{status(500, "", `{"__type":"InternalFailure"}`)}, attempts, wire.CodeInternalFailure, ""},
		{"502 from a proxy, not JSON", []reply{status(502, "", `<html>bad gateway</html>`)}, attempts, "UnknownError", `undecodable error reply: "<html>bad gateway</html>"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				i := int(n.Add(1)) - 1
				tc.script[min(i, len(tc.script)-1)](w)
			}))
			defer srv.Close()
			c, err := wire.New(wire.Config{Endpoint: srv.URL, Region: "us-east-1", AccessKey: "a", SecretKey: "b",
				Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
					o.MaxAttempts = attempts
					o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
				})})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseIdleConnections()
			var out wire.GetRecordsOutput
			err = c.GetRecords(t.Context(), "it", 10, &out)
			if got := int(n.Load()); got != tc.attempts {
				t.Errorf("%d attempts, want %d", got, tc.attempts)
			}
			if tc.code == "" {
				if err != nil || out.NextShardIterator != "next" {
					t.Fatalf("GetRecords: %v, next %q", err, out.NextShardIterator)
				}
				return
			}
			var api *wire.APIError
			if !errors.As(err, &api) {
				t.Fatalf("error %v, want an *APIError", err)
			}
			if api.Code != tc.code || api.Message != tc.message || api.Op != "GetRecords" {
				t.Errorf("error %+v, want code %q, message %q", api, tc.code, tc.message)
			}
			if !wire.IsCode(err, tc.code) || wire.IsThrottled(err) != (tc.code == wire.CodeProvisionedThroughputExceeded) {
				t.Errorf("IsCode/IsThrottled disagree with %v", err)
			}
		})
	}
}

// A context that ends while the client waits to try again ends the call.
func TestRetryStopsWithContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status(503, "", `{}`)(w)
	}))
	defer srv.Close()
	c, err := wire.New(wire.Config{Endpoint: srv.URL, Region: "us-east-1",
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 100
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Hour, nil })
		})})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	var out wire.GetRecordsOutput
	start := time.Now()
	err = c.GetRecords(ctx, "it", 0, &out)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
		t.Errorf("GetRecords = %v after %s, want the context's end", err, time.Since(start))
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for _, cfg := range []wire.Config{
		{Endpoint: "127.0.0.1:4566", Region: "us-east-1"},
		{Endpoint: "ftp://host", Region: "us-east-1"},
		{Endpoint: "http://", Region: "us-east-1"},
		{Endpoint: "http://host"},
	} {
		if _, err := wire.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}
