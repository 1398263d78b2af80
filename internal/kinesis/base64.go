package kinesis

import (
	"encoding/base64"
	"encoding/binary"
)

// A faster standard base64 encoder for the data plane's answers: record
// data is most of a GetRecords answer, and encoding it was the largest
// single cost of building one. It writes exactly what
// base64.StdEncoding.Encode writes (TestBase64Matches, FuzzBase64): each
// 12 input bits become two output bytes from one lookup in a 4096-entry
// table, so six input bytes are four lookups and one 8-byte store, against
// eight single-character lookups in encoding/base64.

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// b64Pairs[v] holds the two characters of the 12-bit value v, the first in
// the low byte (little-endian order, as they are stored).
var b64Pairs = func() (t [4096]uint16) {
	for v := range t {
		t[v] = uint16(b64Alphabet[v>>6]) | uint16(b64Alphabet[v&63])<<8
	}
	return t
}()

// appendBase64 appends the standard (padded) base64 encoding of src.
func appendBase64(dst, src []byte) []byte {
	n := base64.StdEncoding.EncodedLen(len(src))
	if cap(dst)-len(dst) < n {
		grown := make([]byte, len(dst), len(dst)+n)
		copy(grown, dst)
		dst = grown
	}
	out := dst[len(dst) : len(dst)+n]
	encodeBase64(out, src)
	return dst[:len(dst)+n]
}

// encodeBase64 writes the standard base64 encoding of src to out, which is
// exactly base64.StdEncoding.EncodedLen(len(src)) bytes long.
func encodeBase64(out, src []byte) {
	o := 0
	// 24 bytes at a time, then six, each six read as eight (so at least
	// eight must remain).
	for len(src) >= 26 && len(out)-o >= 32 {
		v0 := binary.BigEndian.Uint64(src[0:]) >> 16
		v1 := binary.BigEndian.Uint64(src[6:]) >> 16
		v2 := binary.BigEndian.Uint64(src[12:]) >> 16
		v3 := binary.BigEndian.Uint64(src[18:]) >> 16
		dst := out[o : o+32]
		binary.LittleEndian.PutUint64(dst[0:], uint64(b64Pairs[v0>>36&0xfff])|uint64(b64Pairs[v0>>24&0xfff])<<16|
			uint64(b64Pairs[v0>>12&0xfff])<<32|uint64(b64Pairs[v0&0xfff])<<48)
		binary.LittleEndian.PutUint64(dst[8:], uint64(b64Pairs[v1>>36&0xfff])|uint64(b64Pairs[v1>>24&0xfff])<<16|
			uint64(b64Pairs[v1>>12&0xfff])<<32|uint64(b64Pairs[v1&0xfff])<<48)
		binary.LittleEndian.PutUint64(dst[16:], uint64(b64Pairs[v2>>36&0xfff])|uint64(b64Pairs[v2>>24&0xfff])<<16|
			uint64(b64Pairs[v2>>12&0xfff])<<32|uint64(b64Pairs[v2&0xfff])<<48)
		binary.LittleEndian.PutUint64(dst[24:], uint64(b64Pairs[v3>>36&0xfff])|uint64(b64Pairs[v3>>24&0xfff])<<16|
			uint64(b64Pairs[v3>>12&0xfff])<<32|uint64(b64Pairs[v3&0xfff])<<48)
		o += 32
		src = src[24:]
	}
	for len(src) >= 8 {
		v := binary.BigEndian.Uint64(src) >> 16 // the first six bytes, 48 bits
		w := uint64(b64Pairs[v>>36&0xfff]) | uint64(b64Pairs[v>>24&0xfff])<<16 |
			uint64(b64Pairs[v>>12&0xfff])<<32 | uint64(b64Pairs[v&0xfff])<<48
		binary.LittleEndian.PutUint64(out[o:], w)
		o += 8
		src = src[6:]
	}
	base64.StdEncoding.Encode(out[o:], src)
}
