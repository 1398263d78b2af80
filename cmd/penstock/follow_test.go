package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/penstock/penstock/internal/kclient"
	"github.com/penstock/penstock/internal/penstocktest"
)

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startTool runs a command in the background. stop waits for it to end,
// after interrupting it (cancelling its context) when interrupt is set, and
// returns its error. The test's cleanup interrupts it if the test did not.
func startTool(t *testing.T, url string, stdin io.Reader, stdout io.Writer, args ...string) (stop func(interrupt bool) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	getenv := func(k string) string {
		if k == "PENSTOCK_ENDPOINT" {
			return url
		}
		return ""
	}
	var stderr syncBuffer
	go func() { done <- run(ctx, args, getenv, stdin, stdout, &stderr) }()
	var once sync.Once
	var err error
	stop = func(interrupt bool) error {
		once.Do(func() {
			if interrupt {
				cancel()
			}
			defer cancel()
			select {
			case err = <-done:
				if err != nil {
					err = fmt.Errorf("%w (stderr: %s)", err, stderr.String())
				}
			case <-time.After(30 * time.Second):
				err = fmt.Errorf("penstock %s did not stop within 30s", args[0])
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop(true) })
	return stop
}

// A live pipeline: put reads a pipe that stays open (its --linger sends
// each partial batch), tail --follow prints what arrives, through a split
// of the only shard, and both stop cleanly when interrupted.
func TestPutAndTailFollowLive(t *testing.T) {
	url, c := startKinesis(t)
	createStream(t, c, "live", 1)

	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	stopPut := startTool(t, url, pr, io.Discard, "put", "--stream", "live", "--partition-key", "k", "--linger", "10ms")
	var out syncBuffer
	stopTail := startTool(t, url, nil, &out, "tail", "--stream", "live", "--follow", "--format", "raw", "--poll-interval", "20ms")

	var want []string
	send := func(prefix string) {
		t.Helper()
		lines := numberedLines(prefix, 0, 5)
		want = append(want, lines...)
		if _, err := io.WriteString(pw, strings.Join(lines, "\n")+"\n"); err != nil {
			t.Fatal(err)
		}
		expect := strings.Join(want, "\n") + "\n"
		penstocktest.CheckFor(t, 20*time.Second, 10*time.Millisecond, func() error {
			if got := out.String(); got != expect {
				return fmt.Errorf("tail --follow printed %q, want %q", got, expect)
			}
			return nil
		})
	}
	send("first")
	send("second")
	if _, err := c.SplitShard(t.Context(), &kinesis.SplitShardInput{
		StreamName:         aws.String("live"),
		ShardToSplit:       aws.String("shardId-000000000000"),
		NewStartingHashKey: aws.String("170141183460469231731687303715884105728"),
	}); err != nil {
		t.Fatalf("SplitShard: %v", err)
	}
	if err := kclient.WaitActive(t.Context(), c, "live", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	send("after-split") // on a child shard, which tail finds when the parent ends

	pw.Close() // EOF: put sends what it has and exits
	if err := stopPut(false); err != nil {
		t.Errorf("put: %v", err)
	}
	if err := stopTail(true); err != nil {
		t.Errorf("tail --follow after interrupt: %v, want a clean stop", err)
	}
}
