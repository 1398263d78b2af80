package storage_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/penstock/penstock/internal/storage"
)

// Concurrent appends share atomic batches; every caller must still get a
// contiguous range holding exactly its entries, in order.
func TestAppend_ConcurrentGroupCommit(t *testing.T) {
	ctx := t.Context()
	s := open(t, t.TempDir())
	defer s.Close()
	const id = "group/shardId-000000000000"
	if err := s.CreateLog(ctx, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	sizes := []int{1, 7, 500, 3, 1200, 250, 999, 1, 2, 640}
	type result struct {
		caller, n int
		first     uint64
	}
	results := make(chan result, len(sizes)*5)
	var wg sync.WaitGroup
	for c, n := range sizes {
		for round := range 5 {
			wg.Go(func() {
				entries := make([]storage.Entry, n)
				for i := range entries {
					entries[i] = storage.Entry{PartitionKey: fmt.Sprint(c), Data: []byte(fmt.Sprintf("%d/%d/%d", c, round, i))}
				}
				first, err := s.Append(ctx, id, entries)
				if err != nil {
					t.Error(err)
					return
				}
				results <- result{c*10 + round, n, first}
			})
		}
	}
	wg.Wait()
	close(results)
	total := 0
	for _, n := range sizes {
		total += 5 * n
	}
	res, err := s.Read(ctx, id, 1, total+10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != total {
		t.Fatalf("log holds %d records, want %d", len(res.Records), total)
	}
	for r := range results {
		c, round := r.caller/10, r.caller%10
		for i := 0; i < r.n; i++ {
			rec := res.Records[int(r.first)-1+i]
			if want := fmt.Sprintf("%d/%d/%d", c, round, i); string(rec.Data) != want {
				t.Fatalf("caller %d round %d entry %d at seq %d = %q, want %q", c, round, i, rec.Seq, rec.Data, want)
			}
		}
	}
}
