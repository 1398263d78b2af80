package esm

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/nats-io/nats.go/jetstream"
)

// TestLeases: two engines on one JetStream (two nodes of a cluster): each
// shard is polled by one of them only, so no record is invoked twice; when
// one stops, the other takes its shards over.
func TestLeases(t *testing.T) {
	en := newEnv(t, func(o *Options) { o.LeaseTTL, o.NodeID = time.Second, "node-a" })
	arn := en.stream("s", 4)
	var c calls
	en.f.add("f", recorder(&c, nil))
	second, err := New(en.ctx, Options{Store: en.store, Streams: en.s, Functions: en.f, Destinations: en.d,
		Region: testRegion, AccountID: testAccount, LeaseTTL: time.Second, NodeID: "node-b"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(en.ctx)
	done := make(chan error, 1)
	go func() { done <- second.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	id := en.createMapping(mappingInput(arn, "f", types.EventSourcePositionTrimHorizon), 4)
	for sh := range 4 {
		en.put(fmt.Sprint("s/", sh), entries(200, constKey("k"), seqData(fmt.Sprint("one-", sh, "-")))...)
	}
	c.waitRecords(en, 800)
	// Leases are renewed past several TTLs: six renewals (two TTLs) of
	// shard 0's lease, every one by the same live engine.
	key := checkpointKey(id, "shardId-000000000000")
	w, err := en.e.leases.Watch(en.ctx, key, jetstream.UpdatesOnly())
	if err != nil {
		t.Fatal(err)
	}
	holder := ""
	for renewals := 0; renewals < 6; {
		select {
		case e := <-w.Updates():
			if e == nil {
				continue
			}
			if e.Operation() != jetstream.KeyValuePut {
				t.Fatalf("lease of a live engine went away: %v", e.Operation())
			}
			if holder != "" && string(e.Value()) != holder {
				t.Fatalf("lease moved from a live engine %s to %s", holder, e.Value())
			}
			holder = string(e.Value())
			renewals++
		case <-time.After(30 * time.Second):
			t.Fatal("lease not renewed")
		}
	}
	_ = w.Stop()
	en.stopEngine() // releases its leases
	for sh := range 4 {
		en.put(fmt.Sprint("s/", sh), entries(200, constKey("k"), seqData(fmt.Sprint("two-", sh, "-")))...)
	}
	c.waitRecords(en, 1600)
	seen := map[string]int{}
	for _, b := range c.batches {
		for _, d := range b {
			seen[d]++
		}
	}
	for d, n := range seen {
		if n != 1 {
			t.Errorf("%s invoked %d times", d, n)
		}
	}
	if len(seen) != 1600 {
		t.Errorf("%d distinct records, want 1600", len(seen))
	}
	// Every shard's lease now belongs to the second engine.
	for sh := range 4 {
		e, err := second.leases.Get(en.ctx, checkpointKey(id, fmt.Sprintf("shardId-%012d", sh)))
		if err != nil || string(e.Value()) != second.node {
			t.Errorf("shard %d lease: %v %v, want held by the second engine", sh, err, e)
		}
	}
}

// TestLeaseTakenBackBySameNode: a node restarted with the same id (after a
// crash that left its leases) takes them back at once; another node waits.
func TestLeaseTakenBackBySameNode(t *testing.T) {
	en := newEnv(t, func(o *Options) { o.NodeID = "node-a" })
	key := "m.shardId-000000000000"
	if _, ok, err := en.e.acquire(en.ctx, key); err != nil || !ok {
		t.Fatalf("first acquire: %v %v", ok, err)
	}
	// The same node id again (a new life of the node): taken back.
	again := &Engine{o: en.e.o, leases: en.e.leases, node: "node-a", log: en.e.log}
	if _, ok, err := again.acquire(en.ctx, key); err != nil || !ok {
		t.Fatalf("same node re-acquire: %v %v, want ok", ok, err)
	}
	other := &Engine{o: en.e.o, leases: en.e.leases, node: "node-b", log: en.e.log}
	if _, ok, err := other.acquire(en.ctx, key); err != nil || ok {
		t.Fatalf("other node acquire: %v %v, want refused", ok, err)
	}
}

// Stopping an engine is never an error, also when its context ends before
// the mappings watch has started (a server stopped right after start).
func TestRunCancelledBeforeWatchStarts(t *testing.T) {
	en := newEnv(t)
	e, err := New(en.ctx, Options{Store: en.store, Streams: en.s, Functions: en.f, Destinations: en.d,
		Region: testRegion, AccountID: testAccount})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(en.ctx)
	cancel()
	if err := e.Run(ctx); err != nil {
		t.Fatalf("Run with its context already ended = %v, want nil", err)
	}
}
