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

// randomBytes returns n bytes from r.
func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestBase64Matches(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 200 {
		src := randomBytes(r, n)
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

// checkDecode holds decodeBase64 to base64.StdEncoding.DecodeString: the
// same bytes where both accept, refused where DecodeString refuses.
func checkDecode(t *testing.T, src []byte) {
	t.Helper()
	want, werr := base64.StdEncoding.DecodeString(string(src))
	dst := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
	n, ok := decodeBase64(dst, src)
	switch {
	case ok && werr != nil:
		t.Fatalf("decodeBase64(%q) accepted %x; DecodeString refuses it: %v", src, dst[:n], werr)
	case ok && !bytes.Equal(dst[:n], want):
		t.Fatalf("decodeBase64(%q) = %x, want %x", src, dst[:n], want)
	case !ok && werr == nil && len(src)%4 == 0 && !bytes.ContainsAny(src, "\r\n"):
		t.Fatalf("decodeBase64(%q) refused what DecodeString decodes to %x", src, want)
	}
}

func TestDecodeBase64(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := range 300 {
		enc := []byte(base64.StdEncoding.EncodeToString(randomBytes(r, n)))
		checkDecode(t, enc)
		if len(enc) > 0 {
			// One byte changed anywhere: to another base64 character, to
			// padding, to something outside the alphabet.
			for _, c := range []byte{'A', '/', '=', '-', '_', ' ', 0, 0x80, '\n'} {
				bad := bytes.Clone(enc)
				bad[r.IntN(len(bad))] = c
				checkDecode(t, bad)
			}
		}
	}
	for _, s := range []string{"", "=", "==", "====", "A===", "AA==", "AAA=", "AAAA", "AB==", "AAB=", "AA=A", "AA==AAAA", "AAAA====", "\r\nAA", "AA\r\n=="} {
		checkDecode(t, []byte(s))
	}
}

func FuzzDecodeBase64(f *testing.F) {
	for _, s := range []string{"", "QUJD", "QUI=", "QQ==", "QQ=A", "Q===", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=", "####"} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkDecode)
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
	enc := base64.StdEncoding.EncodeToString(src)
	out := make([]byte, len(src))
	b.Run("decode/stdlib", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			_, _ = base64.StdEncoding.Decode(out, []byte(enc))
		}
	})
	b.Run("decode/simd", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			_, _ = decodeBase64(out, []byte(enc))
		}
	})
}
