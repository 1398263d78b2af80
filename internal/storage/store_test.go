package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/penstock/penstock/internal/storage"
)

func open(t testing.TB, dir string) *storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), storage.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLog_AppendReadInfo(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, dir)
	const id = "my.stream_x/shardId-000000000000"
	if err := s.CreateLog(ctx, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	w := s.Watch(id)
	defer w.Close()
	var entries []storage.Entry
	for i := range 700 {
		entries = append(entries, storage.Entry{PartitionKey: fmt.Sprintf("pk-%d", i), Data: []byte(fmt.Sprintf("data-%d", i))})
	}
	first, err := s.Append(ctx, id, entries[:1])
	if err != nil || first != 1 {
		t.Fatalf("Append single = %d, %v", first, err)
	}
	first, err = s.Append(ctx, id, entries[1:])
	if err != nil || first != 2 {
		t.Fatalf("Append batch = %d, %v", first, err)
	}
	select {
	case <-w.C:
	case <-time.After(5 * time.Second):
		t.Fatal("watcher not signalled")
	}
	res, err := s.Read(ctx, id, 1, 500, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 500 || res.Pending != 200 {
		t.Fatalf("Read got %d records, pending %d", len(res.Records), res.Pending)
	}
	for i, r := range res.Records {
		if r.Seq != uint64(i+1) || r.PartitionKey != entries[i].PartitionKey || !bytes.Equal(r.Data, entries[i].Data) {
			t.Fatalf("record %d = %+v", i, r)
		}
	}
	res, err = s.Read(ctx, id, 701, 10, 0)
	if err != nil || len(res.Records) != 0 {
		t.Fatalf("Read past end = %v, %v", res, err)
	}
	info, err := s.Info(ctx, id)
	if err != nil || info.FirstSeq != 1 || info.LastSeq != 700 {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	seq, err := s.SeqAtTime(ctx, id, time.Now().Add(time.Hour))
	if err != nil || seq != 701 {
		t.Fatalf("SeqAtTime(future) = %d, %v", seq, err)
	}
	seq, err = s.SeqAtTime(ctx, id, time.Now().Add(-time.Hour))
	if err != nil || seq != 1 {
		t.Fatalf("SeqAtTime(past) = %d, %v", seq, err)
	}
	if _, err := s.Read(ctx, "missing", 1, 1, 0); !errors.Is(err, storage.ErrLogNotFound) {
		t.Fatalf("Read missing = %v", err)
	}
	if _, err := s.Append(ctx, "missing", entries[:2]); !errors.Is(err, storage.ErrLogNotFound) {
		t.Fatalf("Append missing = %v", err)
	}
	if _, err := s.Info(ctx, "missing"); !errors.Is(err, storage.ErrLogNotFound) {
		t.Fatalf("Info missing = %v", err)
	}
	w.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopen on the same dir: everything is still there.
	s = open(t, dir)
	defer s.Close()
	info, err = s.Info(ctx, id)
	if err != nil || info.LastSeq != 700 {
		t.Fatalf("Info after reopen = %+v, %v", info, err)
	}
}
