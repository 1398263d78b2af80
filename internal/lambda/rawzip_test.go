package lambda_test

import (
	"archive/zip"
	"io"
	"testing"
)

// rawZip writes entries whose headers claim sizes without the data being
// there: enough for tests of size limits, cheap to build.
type rawZip struct{ zw *zip.Writer }

func newRawZip(w io.Writer) *rawZip { return &rawZip{zip.NewWriter(w)} }

func (z *rawZip) add(t testing.TB, name string, claimed uint64) {
	t.Helper()
	h := &zip.FileHeader{Name: name, Method: zip.Store, UncompressedSize64: claimed, CompressedSize64: 1, CRC32: 0}
	w, err := z.zw.CreateRaw(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
}

func (z *rawZip) close(t testing.TB) {
	t.Helper()
	if err := z.zw.Close(); err != nil {
		t.Fatal(err)
	}
}
