package b64

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

// checkDecode holds Decode to base64.StdEncoding.Decode and DecodeExact to
// base64.StdEncoding.DecodeString: the same bytes where both accept,
// refused where encoding/base64 refuses.
func checkDecode(t *testing.T, src []byte) {
	t.Helper()
	want, werr := base64.StdEncoding.DecodeString(string(src))

	dst := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
	n, err := Decode(dst, src)
	switch {
	case (err == nil) != (werr == nil):
		t.Fatalf("Decode(%q): error %v, encoding/base64: %v", src, err, werr)
	case err == nil && !bytes.Equal(dst[:n], want):
		t.Fatalf("Decode(%q) = %x, want %x", src, dst[:n], want)
	}

	clear(dst)
	n, ok := DecodeExact(dst, src)
	switch {
	case ok && werr != nil:
		t.Fatalf("DecodeExact(%q) accepted %x; DecodeString refuses it: %v", src, dst[:n], werr)
	case ok && !bytes.Equal(dst[:n], want):
		t.Fatalf("DecodeExact(%q) = %x, want %x", src, dst[:n], want)
	case !ok && werr == nil && len(src)%4 == 0 && !bytes.ContainsAny(src, "\r\n"):
		t.Fatalf("DecodeExact(%q) refused what DecodeString decodes to %x", src, want)
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

func TestDecode(t *testing.T) {
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

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "QUJD", "QUI=", "QQ==", "QQ=A", "Q===", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=", "####"} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkDecode)
}

// checkEncode holds AppendEncode to base64.StdEncoding.EncodeToString,
// appending after a prefix and into a buffer with room (as the answer
// builders use it, in place).
func checkEncode(t *testing.T, src []byte) {
	t.Helper()
	want := base64.StdEncoding.EncodeToString(src)
	prefix := []byte("x:")
	if got := AppendEncode(prefix, src); string(got) != "x:"+want {
		t.Fatalf("AppendEncode(%x) = %q, want %q", src, got[2:], want)
	}
	buf := make([]byte, 1, 1+len(want)+3)
	if got := AppendEncode(buf, src); !bytes.Equal(got[1:], []byte(want)) || &got[0] != &buf[0] {
		t.Fatalf("AppendEncode with room (%x) = %q, want %q in place", src, got[1:], want)
	}
}

func TestEncode(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 200 {
		checkEncode(t, randomBytes(r, n))
		checkEncode(t, bytes.Repeat([]byte{0xff}, n))
		checkEncode(t, make([]byte, n))
	}
	checkEncode(t, nil)
}

func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "a", "ab", "abc", "abcdefgh", "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7"} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkEncode)
}

// BenchmarkBase64 compares encoding/base64 with this package on 1 KiB of
// record data, each way.
func BenchmarkBase64(b *testing.B) {
	src := make([]byte, 1024)
	for i := range src {
		src[i] = byte(i * 7)
	}
	enc := []byte(base64.StdEncoding.EncodeToString(src))
	out := make([]byte, len(src))
	dst := make([]byte, 0, 2048)
	for _, bm := range []struct {
		name string
		f    func()
	}{
		{"decode/stdlib", func() { _, _ = base64.StdEncoding.Decode(out, enc) }},
		{"decode/b64", func() { _, _ = Decode(out, enc) }},
		{"encode/stdlib", func() { dst = base64.StdEncoding.AppendEncode(dst[:0], src) }},
		{"encode/b64", func() { dst = AppendEncode(dst[:0], src) }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				bm.f()
			}
		})
	}
}
