// Package b64 decodes standard base64 fast: record data is most of a
// PutRecords request and of a GetRecords answer, and decoding it was the
// largest single cost of reading one.
//
// github.com/segmentio/asm's decoder (AVX2 where the CPU has it, pure Go
// elsewhere) takes ~170 ns for 1 KiB of data against ~1 µs for
// encoding/base64. Whatever it refuses, encoding/base64 decides; what it
// accepts, TestDecode and FuzzDecode hold to encoding/base64's answer (the
// same bytes, and refused where encoding/base64 refuses).
package b64

import (
	"encoding/base64"

	simd "github.com/segmentio/asm/base64"
)

// Decode decodes src into dst (at least base64.StdEncoding.DecodedLen(len(src))
// long) exactly as base64.StdEncoding.Decode does.
func Decode(dst, src []byte) (int, error) {
	n, err := simd.StdEncoding.Decode(dst, src)
	if err != nil {
		return base64.StdEncoding.Decode(dst, src)
	}
	return n, nil
}

// DecodeExact is Decode for strings that cannot hold raw '\r' or '\n'
// (JSON strings): it reports false for whatever
// base64.StdEncoding.DecodeString refuses, and also for input that Decode
// accepts only by skipping '\r' and '\n'. With len(src) a multiple of 4,
// skipping any would leave fewer output bytes than the length implies, so
// the length check refuses them.
func DecodeExact(dst, src []byte) (int, bool) {
	if len(src)%4 != 0 {
		return 0, false
	}
	n, err := Decode(dst, src)
	if err != nil {
		return 0, false
	}
	want := len(src) / 4 * 3
	if len(src) > 0 && src[len(src)-1] == '=' {
		want--
		if src[len(src)-2] == '=' {
			want--
		}
	}
	return n, n == want
}
