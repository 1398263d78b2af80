package esm_test

import (
	"path/filepath"
	"testing"

	"github.com/penstock/penstock/internal/penstocktest"
	"github.com/penstock/penstock/internal/runtime"
)

// BenchmarkLambdaInvoke is the floor under every mapping invoke: one
// synchronous in-process invoke of the warm test function.
//
//	go test ./internal/esm -run '^$' -bench LambdaInvoke
func BenchmarkLambdaInvoke(b *testing.B) {
	srv := penstocktest.Start(b, nil)
	c := newClients(srv)
	c.setupTB(b, b.Context(), "s", 1, filepath.Join(b.TempDir(), "fn.log"))
	payload := []byte(`{"Records":[]}`)
	if _, err := srv.Lambda().Invoke(b.Context(), "fn", payload, runtime.InvokeOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := srv.Lambda().Invoke(b.Context(), "fn", payload, runtime.InvokeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
