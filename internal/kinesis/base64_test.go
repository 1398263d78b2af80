package kinesis

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

func checkBase64(t *testing.T, src []byte) {
	t.Helper()
	want := base64.StdEncoding.EncodeToString(src)
	prefix := []byte("x:")
	if got := appendBase64(prefix, src); string(got) != "x:"+want {
		t.Fatalf("appendBase64(%x) = %q, want %q", src, got[2:], want)
	}
	// Into a buffer with room, as the answer builders use it.
	buf := make([]byte, 1, 1+len(want)+3)
	if got := appendBase64(buf, src); !bytes.Equal(got[1:], []byte(want)) || &got[0] != &buf[0] {
		t.Fatalf("appendBase64 with room (%x) = %q, want %q in place", src, got[1:], want)
	}
}

func TestBase64Matches(t *testing.T) {
	r := rand.NewChaCha8([32]byte{1, 2})
	for n := range 200 {
		src := make([]byte, n)
		_, _ = r.Read(src)
		checkBase64(t, src)
		checkBase64(t, bytes.Repeat([]byte{0xff}, n))
		checkBase64(t, make([]byte, n))
	}
	checkBase64(t, nil)
}

func FuzzBase64(f *testing.F) {
	for _, s := range []string{"", "a", "ab", "abc", "abcdefgh", "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7"} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkBase64)
}

func BenchmarkBase64(b *testing.B) {
	src := make([]byte, 1024)
	for i := range src {
		src[i] = byte(i * 7)
	}
	dst := make([]byte, 0, 2048)
	b.Run("stdlib", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			dst = base64.StdEncoding.AppendEncode(dst[:0], src)
		}
	})
	b.Run("pairs", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			dst = appendBase64(dst[:0], src)
		}
	})
}
