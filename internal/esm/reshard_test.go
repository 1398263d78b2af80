package esm

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/penstock/penstock/internal/storage"
)

// TestReshard: after a split, the parent is read to its end and checkpointed
// before either child starts; the children are picked up from WatchShards.
func TestReshard(t *testing.T) {
	en := newEnv(t)
	arn := en.stream("s", 1)
	var c calls
	en.f.add("f", recorder(&c, nil))
	in := mappingInput(arn, "f", types.EventSourcePositionTrimHorizon)
	in.BatchSize = aws.Int32(10)
	id := en.createMapping(in, 1)
	en.put("s/0", entries(100, constKey("k"), seqData("parent"))...)
	// Split: close the parent at its last record, add two children that
	// receive records at once.
	for _, l := range []string{"s/1", "s/2"} {
		if err := en.store.CreateLog(en.ctx, l, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	en.s.set(arn, []Shard{
		{ID: "shardId-000000000000", LogID: "s/0", Closed: true, EndSeq: 100},
		{ID: "shardId-000000000001", LogID: "s/1", ParentShardID: "shardId-000000000000"},
		{ID: "shardId-000000000002", LogID: "s/2", ParentShardID: "shardId-000000000000"},
	})
	en.put("s/1", entries(30, constKey("k"), seqData("child1-"))...)
	en.put("s/2", entries(30, constKey("k"), seqData("child2-"))...)
	c.waitRecords(en, 160)
	var order []string
	for _, b := range c.batches {
		order = append(order, b...)
	}
	seenChild := false
	for i, d := range order {
		if strings.HasPrefix(d, "child") {
			seenChild = true
		} else if seenChild {
			t.Fatalf("parent record %s at %d delivered after a child record", d, i)
		}
	}
	ck, ok, err := en.e.ckpts.get(en.ctx, id, "shardId-000000000000")
	if err != nil || !ok || !ck.Finished {
		t.Errorf("parent checkpoint = %+v %v %v, want finished", ck, ok, err)
	}
}

// TestRestartFromCheckpoint: stop the engine and storage, reopen the same
// data directory, and the mapping resumes after the last checkpoint: no
// record lost, none repeated after a clean stop.
func TestRestartFromCheckpoint(t *testing.T) {
	en := newEnv(t)
	arn := en.stream("s", 2)
	var c calls
	en.f.add("f", recorder(&c, nil))
	id := en.createMapping(mappingInput(arn, "f", types.EventSourcePositionTrimHorizon), 2)
	en.put("s/0", entries(100, constKey("a"), seqData("first-a"))...)
	en.put("s/1", entries(100, constKey("b"), seqData("first-b"))...)
	c.waitRecords(en, 200)
	en.checkFor(5*time.Second, func() error {
		for i := range 2 {
			ck, _, _ := en.e.ckpts.get(en.ctx, id, fmt.Sprintf("shardId-%012d", i))
			if ck.Next != 101 {
				return fmt.Errorf("shard %d checkpoint %d", i, ck.Next)
			}
		}
		return nil
	})
	en.stopEngine()
	if err := en.store.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := storage.Open(en.ctx, storage.Options{DataDir: en.dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	en.store = st
	en.put("s/0", entries(50, constKey("a"), seqData("second-a"))...)
	en.put("s/1", entries(50, constKey("b"), seqData("second-b"))...)
	en.start()
	c.waitRecords(en, 300)
	seen := map[string]int{}
	for _, b := range c.batches {
		for _, d := range b {
			seen[d]++
		}
	}
	for d, n := range seen {
		if n != 1 {
			t.Errorf("record %s delivered %d times", d, n)
		}
	}
	if len(seen) != 300 {
		t.Errorf("%d distinct records, want 300", len(seen))
	}
}

// TestStopDrainsInvocationInFlight: stopping the engine while the function
// runs lets the invocation finish and checkpoints its batch, so a graceful
// stop does not deliver it again (drainGrace).
func TestStopDrainsInvocationInFlight(t *testing.T) {
	en := newEnv(t)
	arn := en.stream("s", 1)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	en.f.add("f", func(ctx context.Context, ev kinesisEvent) (*InvokeResult, error) {
		once.Do(func() { close(entered) })
		select {
		case <-release:
			return ok(`{}`)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	id := en.createMapping(mappingInput(arn, "f", types.EventSourcePositionTrimHorizon), 1)
	en.put("s/0", entries(10, constKey("a"), seqData("r"))...)
	<-entered
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		en.stopEngine()
	}()
	<-en.running.Done() // the pollers' contexts end with it
	close(release)
	<-stopped
	ck, found, err := en.e.ckpts.get(en.ctx, id, "shardId-000000000000")
	if err != nil || !found || ck.Next != 11 {
		t.Fatalf("checkpoint after stop = %+v (found %v, %v), want next 11: the batch in flight counts", ck, found, err)
	}
}
