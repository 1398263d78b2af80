package esm_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/penstock/penstock/internal/penstocktest"
	"github.com/penstock/penstock/internal/runtime"
)

func TestTmpInvokeLatency(t *testing.T) {
	srv := penstocktest.Start(t, nil)
	c := newClients(srv)
	c.setup(t, t.Context(), "s", 1, filepath.Join(t.TempDir(), "x"))
	for range 3 {
		if _, err := srv.Lambda().Invoke(t.Context(), "fn", []byte(`{"Records":[]}`), runtime.InvokeOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	const n = 300
	for range n {
		if _, err := srv.Lambda().Invoke(t.Context(), "fn", []byte(`{"Records":[]}`), runtime.InvokeOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("invoke avg %v", time.Since(start)/n)
}
