package storage_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/penstock/penstock/internal/storage"
)

// next waits for the tail to hold records and returns up to max of them.
func next(t *testing.T, tl *storage.Tail, max, maxBytes int) storage.ReadResult {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		res, err := tl.Next(max, maxBytes)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Records) > 0 {
			return res
		}
		select {
		case <-tl.C:
		case <-deadline:
			t.Fatal("tail not signalled")
		}
	}
}

func TestTail(t *testing.T) {
	ctx := t.Context()
	s := open(t, t.TempDir())
	t.Cleanup(func() { s.Close() })
	const id = "tail/shardId-000000000000"
	if err := s.CreateLog(ctx, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	var entries []storage.Entry
	for i := range 300 {
		entries = append(entries, storage.Entry{PartitionKey: fmt.Sprintf("pk-%d", i), Data: []byte(fmt.Sprintf("data-%d", i))})
	}
	before := time.Now().Add(-time.Second)
	if _, err := s.Append(ctx, id, entries[:200]); err != nil {
		t.Fatal(err)
	}
	tl, err := s.Tail(ctx, id, 51, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	var got []storage.Record
	for len(got) < 150 {
		res := next(t, tl, 40, 0)
		if len(res.Records) > 40 {
			t.Fatalf("%d records > max 40", len(res.Records))
		}
		last := res.Records[len(res.Records)-1]
		if want := uint64(200) - last.Seq; res.Pending != want {
			t.Fatalf("pending after %d = %d, want %d", last.Seq, res.Pending, want)
		}
		got = append(got, res.Records...)
	}
	// Appends after the tail caught up are pushed to it.
	if _, err := s.Append(ctx, id, entries[200:]); err != nil {
		t.Fatal(err)
	}
	for len(got) < 250 {
		got = append(got, next(t, tl, 1000, 0).Records...)
	}
	if len(got) != 250 {
		t.Fatalf("got %d records", len(got))
	}
	for i, r := range got {
		e := entries[50+i]
		if r.Seq != uint64(51+i) || r.PartitionKey != e.PartitionKey || !bytes.Equal(r.Data, e.Data) || r.Time.Before(before) || r.Time.After(time.Now()) {
			t.Fatalf("record %d = %+v", i, r)
		}
	}
	// maxBytes stops after the record that reaches it (at least one record).
	if _, err := s.Append(ctx, id, entries[:10]); err != nil {
		t.Fatal(err)
	}
	// Wait until all ten are buffered, so maxBytes (not arrival) is what limits.
	for deadline := time.Now().Add(5 * time.Second); storage.TailBuffered(tl) < 10; {
		if time.Now().After(deadline) {
			t.Fatalf("tail buffered %d of 10 records", storage.TailBuffered(tl))
		}
		time.Sleep(time.Millisecond)
	}
	if res := next(t, tl, 1000, 1); len(res.Records) != 1 {
		t.Fatalf("maxBytes 1: %d records", len(res.Records))
	}
	tl.Close()
	tl.Close()
}

func TestTailMissingLog(t *testing.T) {
	s := open(t, t.TempDir())
	t.Cleanup(func() { s.Close() })
	if _, err := s.Tail(t.Context(), "nope", 1, 10); err == nil {
		t.Fatal("Tail of a missing log succeeded")
	}
}
