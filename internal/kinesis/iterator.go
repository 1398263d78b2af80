package kinesis

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// An iterator is base64 of
//
//	version(1) | epoch | shard index | next seq | issued ms | name length | name | HMAC-SHA256[:16]
//
// (integers as varints). The HMAC key is the server's secret (kept in KV),
// so iterators survive restarts, and any change to the bytes is detected.
// The epoch binds the iterator to one incarnation of the stream. A stream
// name of 128 characters gives about 220 characters, under AWS's 512.
const (
	iteratorVersion  = 1
	iteratorLifetime = 300 * time.Second
	macLen           = 16
)

type iterator struct {
	stream string
	epoch  int64
	shard  int
	pos    uint64 // next storage seq to read; 0 = trim horizon
	issued time.Time
}

var errBadIterator = errors.New("kinesis: invalid shard iterator")

func (s *Service) encodeIterator(it iterator) string {
	b := make([]byte, 0, 64+len(it.stream))
	b = append(b, iteratorVersion)
	b = binary.AppendVarint(b, it.epoch)
	b = binary.AppendUvarint(b, uint64(it.shard))
	b = binary.AppendUvarint(b, it.pos)
	b = binary.AppendVarint(b, it.issued.UnixMilli())
	b = binary.AppendUvarint(b, uint64(len(it.stream)))
	b = append(b, it.stream...)
	b = append(b, s.mac(b)...)
	return base64.StdEncoding.EncodeToString(b)
}

func (s *Service) mac(b []byte) []byte {
	h := hmac.New(sha256.New, s.secret)
	h.Write(b)
	return h.Sum(nil)[:macLen]
}

func (s *Service) decodeIterator(str string) (iterator, error) {
	b, err := base64.StdEncoding.DecodeString(str)
	if err != nil || len(b) < 1+macLen || b[0] != iteratorVersion {
		return iterator{}, errBadIterator
	}
	body, sum := b[:len(b)-macLen], b[len(b)-macLen:]
	if !hmac.Equal(sum, s.mac(body)) {
		return iterator{}, errBadIterator
	}
	p := body[1:]
	var it iterator
	var ok bool
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(p)
		if n <= 0 {
			return 0, false
		}
		p = p[n:]
		return v, true
	}
	nextSigned := func() (int64, bool) {
		v, n := binary.Varint(p)
		if n <= 0 {
			return 0, false
		}
		p = p[n:]
		return v, true
	}
	if it.epoch, ok = nextSigned(); !ok {
		return iterator{}, errBadIterator
	}
	shard, ok := next()
	if !ok || shard > 1<<31-1 {
		return iterator{}, errBadIterator
	}
	it.shard = int(shard)
	if it.pos, ok = next(); !ok {
		return iterator{}, errBadIterator
	}
	issued, ok := nextSigned()
	if !ok {
		return iterator{}, errBadIterator
	}
	it.issued = time.UnixMilli(issued)
	n, ok := next()
	if !ok || n != uint64(len(p)) {
		return iterator{}, errBadIterator
	}
	it.stream = string(p)
	return it, nil
}
