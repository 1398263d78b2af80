// Package b64 encodes and decodes standard base64 fast: record data is
// most of a PutRecords request and of a GetRecords answer.
//
// Decoding was the largest single cost of reading a PutRecords request.
// github.com/segmentio/asm's decoder (AVX2 where the CPU has it, pure Go
// elsewhere) takes ~170 ns for 1 KiB of data against ~1 µs for
// encoding/base64. Whatever it refuses, encoding/base64 decides; what it
// accepts, TestDecode and FuzzDecode hold to encoding/base64's answer (the
// same bytes, and refused where encoding/base64 refuses).
package b64

import (
	"encoding/base64"
	"encoding/binary"

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

// Encoding: record data is most of a GetRecords answer, and encoding it
// was the largest single cost of building one. AppendEncode writes exactly
// what base64.StdEncoding.Encode writes (TestEncode, FuzzEncode): each
// 12 input bits become two output bytes from one lookup in a 4096-entry
// table, so six input bytes are four lookups and one 8-byte store, against
// eight single-character lookups in encoding/base64.

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// pairs[v] holds the two characters of the 12-bit value v, the first in
// the low byte (little-endian order, as they are stored).
var pairs = func() (t [4096]uint16) {
	for v := range t {
		t[v] = uint16(alphabet[v>>6]) | uint16(alphabet[v&63])<<8
	}
	return t
}()

// AppendEncode appends the standard (padded) base64 encoding of src.
func AppendEncode(dst, src []byte) []byte {
	n := base64.StdEncoding.EncodedLen(len(src))
	if cap(dst)-len(dst) < n {
		grown := make([]byte, len(dst), len(dst)+n)
		copy(grown, dst)
		dst = grown
	}
	out := dst[len(dst) : len(dst)+n]
	encode(out, src)
	return dst[:len(dst)+n]
}

// encode writes the standard base64 encoding of src to out, which is
// exactly base64.StdEncoding.EncodedLen(len(src)) bytes long.
func encode(out, src []byte) {
	o := 0
	// 24 bytes at a time, then six, each six read as eight (so at least
	// eight must remain).
	for len(src) >= 26 && len(out)-o >= 32 {
		v0 := binary.BigEndian.Uint64(src[0:]) >> 16
		v1 := binary.BigEndian.Uint64(src[6:]) >> 16
		v2 := binary.BigEndian.Uint64(src[12:]) >> 16
		v3 := binary.BigEndian.Uint64(src[18:]) >> 16
		dst := out[o : o+32]
		binary.LittleEndian.PutUint64(dst[0:], uint64(pairs[v0>>36&0xfff])|uint64(pairs[v0>>24&0xfff])<<16|
			uint64(pairs[v0>>12&0xfff])<<32|uint64(pairs[v0&0xfff])<<48)
		binary.LittleEndian.PutUint64(dst[8:], uint64(pairs[v1>>36&0xfff])|uint64(pairs[v1>>24&0xfff])<<16|
			uint64(pairs[v1>>12&0xfff])<<32|uint64(pairs[v1&0xfff])<<48)
		binary.LittleEndian.PutUint64(dst[16:], uint64(pairs[v2>>36&0xfff])|uint64(pairs[v2>>24&0xfff])<<16|
			uint64(pairs[v2>>12&0xfff])<<32|uint64(pairs[v2&0xfff])<<48)
		binary.LittleEndian.PutUint64(dst[24:], uint64(pairs[v3>>36&0xfff])|uint64(pairs[v3>>24&0xfff])<<16|
			uint64(pairs[v3>>12&0xfff])<<32|uint64(pairs[v3&0xfff])<<48)
		o += 32
		src = src[24:]
	}
	for len(src) >= 8 {
		v := binary.BigEndian.Uint64(src) >> 16 // the first six bytes, 48 bits
		w := uint64(pairs[v>>36&0xfff]) | uint64(pairs[v>>24&0xfff])<<16 |
			uint64(pairs[v>>12&0xfff])<<32 | uint64(pairs[v&0xfff])<<48
		binary.LittleEndian.PutUint64(out[o:], w)
		o += 8
		src = src[6:]
	}
	base64.StdEncoding.Encode(out[o:], src)
}
