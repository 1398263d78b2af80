package storage_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/penstock/penstock/internal/storage"
)

// The kill -9 test runs the writer in a child process (this test binary,
// re-executed with PENSTOCK_DURABILITY_CHILD set), kills it with SIGKILL in
// the middle of a stream of appends, reopens the data directory and checks
// that every append the child saw acknowledged is there, intact.

const durabilityLog = "durability/shardId-000000000000"

func TestMain(m *testing.M) {
	if dir := os.Getenv("PENSTOCK_DURABILITY_CHILD"); dir != "" {
		os.Exit(durabilityChild(dir))
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// durabilityChild appends batches forever, printing "ack <first> <n>" after
// each acknowledged Append.
func durabilityChild(dir string) int {
	ctx := context.Background()
	s, err := storage.Open(ctx, storage.Options{DataDir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := s.CreateLog(ctx, durabilityLog, 24*time.Hour); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	w := bufio.NewWriter(os.Stdout)
	for b := 0; ; b++ {
		n := 1 + b%50
		entries := make([]storage.Entry, n)
		for i := range entries {
			entries[i] = storage.Entry{PartitionKey: strconv.Itoa(b), Data: []byte(fmt.Sprintf("batch %d record %d", b, i))}
		}
		first, err := s.Append(ctx, durabilityLog, entries)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintf(w, "ack %d %d %d\n", b, first, n)
		w.Flush()
	}
}

func TestAppend_SurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PENSTOCK_DURABILITY_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type ack struct{ batch, first, n int }
	var acks []ack
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(acks) < 300 {
		f := strings.Fields(sc.Text())
		if len(f) != 4 || f[0] != "ack" {
			continue
		}
		b, _ := strconv.Atoi(f[1])
		first, _ := strconv.Atoi(f[2])
		n, _ := strconv.Atoi(f[3])
		acks = append(acks, ack{b, first, n})
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(acks) < 300 {
		t.Fatalf("child acknowledged only %d batches before stopping", len(acks))
	}

	s, err := storage.Open(t.Context(), storage.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	last := acks[len(acks)-1]
	want := last.first + last.n - 1
	res, err := s.Read(t.Context(), durabilityLog, 1, want, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) < want {
		t.Fatalf("after kill -9: %d records readable, %d were acknowledged", len(res.Records), want)
	}
	for _, a := range acks {
		for i := 0; i < a.n; i++ {
			r := res.Records[a.first-1+i]
			if got, exp := string(r.Data), fmt.Sprintf("batch %d record %d", a.batch, i); got != exp || r.Seq != uint64(a.first+i) {
				t.Fatalf("record %d = %q (seq %d), want %q", a.first+i, got, r.Seq, exp)
			}
		}
	}
}
