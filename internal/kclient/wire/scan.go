package wire

import (
	"bytes"
	"encoding/base64"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/penstock/penstock/internal/b64"
)

// maxDepth is encoding/json's nesting limit: 10000 levels are accepted,
// 10001 are not.
const maxDepth = 10000

// scanner reads one JSON document in place. It accepts exactly the
// documents encoding/json accepts, except that it refuses invalid UTF-8
// (which encoding/json replaces with U+FFFD and RFC 8259 does not allow):
// any member order, whitespace, escapes and unknown members of any type.
// Its methods return false on malformed input and leave the position
// undefined; the decoders then give up on the whole document.
type scanner struct {
	b     []byte
	i     int
	depth int
	key   []byte // unescaped member names that had escapes
}

// ws skips whitespace.
func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek skips whitespace and returns the next byte (0 at the end).
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// end is true when only whitespace is left.
func (s *scanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// null reads a null literal if one comes next.
func (s *scanner) null() bool {
	if s.peek() == 'n' {
		return s.lit("null")
	}
	return false
}

func (s *scanner) lit(word string) bool {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

// number reads a number (RFC 8259 grammar) and returns its text.
func (s *scanner) number() ([]byte, bool) {
	s.ws()
	start, i := s.i, s.i
	if i < len(s.b) && s.b[i] == '-' {
		i++
	}
	switch {
	case i < len(s.b) && s.b[i] == '0':
		i++
	case i < len(s.b) && s.b[i] >= '1' && s.b[i] <= '9':
		i = digits(s.b, i)
	default:
		return nil, false
	}
	if i < len(s.b) && s.b[i] == '.' {
		j := digits(s.b, i+1)
		if j == i+1 {
			return nil, false
		}
		i = j
	}
	if i < len(s.b) && (s.b[i] == 'e' || s.b[i] == 'E') {
		i++
		if i < len(s.b) && (s.b[i] == '+' || s.b[i] == '-') {
			i++
		}
		j := digits(s.b, i)
		if j == i {
			return nil, false
		}
		i = j
	}
	s.i = i
	return s.b[start:i], true
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// str reads a string whose opening quote is next and returns the bytes
// between the quotes, and whether they hold escapes. Escapes are checked
// for form; control characters and UTF-8 are not (see valid): a caller
// that decodes the bytes more strictly anyway (base64) skips that pass.
func (s *scanner) str() (raw []byte, escaped, ok bool) {
	if s.peek() != '"' {
		return nil, false, false
	}
	start := s.i + 1
	q := bytes.IndexByte(s.b[start:], '"')
	if q < 0 {
		return nil, false, false
	}
	if bytes.IndexByte(s.b[start:start+q], '\\') < 0 {
		s.i = start + q + 1
		return s.b[start : start+q], false, true
	}
	for i := start; i < len(s.b); {
		switch s.b[i] {
		case '"':
			s.i = i + 1
			return s.b[start:i], true, true
		case '\\':
			if i+1 >= len(s.b) {
				return nil, false, false
			}
			switch s.b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if hex4(s.b[i+2:]) < 0 {
					return nil, false, false
				}
				i += 6
			default:
				return nil, false, false
			}
		default:
			i++
		}
	}
	return nil, false, false
}

// valid reports whether a string's raw bytes are allowed in JSON: no
// control characters and valid UTF-8.
func valid(raw []byte) bool {
	high := false
	for _, c := range raw {
		if c < 0x20 {
			return false
		}
		if c >= utf8.RuneSelf {
			high = true
		}
	}
	return !high || utf8.Valid(raw)
}

// hex4 reads four hex digits (-1 if they are not).
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// unescape appends the string raw (checked by str and valid) denotes to
// dst, as encoding/json decodes it: a lone surrogate becomes U+FFFD. The
// result is never longer than raw.
func unescape(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			j := bytes.IndexByte(raw[i:], '\\')
			if j < 0 {
				return append(dst, raw[i:]...)
			}
			dst = append(dst, raw[i:i+j]...)
			i += j
			continue
		}
		switch e := raw[i+1]; e {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(raw[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if d := utf16.DecodeRune(r, hex4(raw[i+2:])); d != utf8.RuneError {
						dst = utf8.AppendRune(dst, d)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, e)
		}
		i += 2
	}
	return dst
}

// text reads a string or null. An escaped string is unescaped onto the end
// of *buf; otherwise the result points into the document. null is
// (nil, true, true).
func (s *scanner) text(buf *[]byte) (v []byte, null, ok bool) {
	if s.null() {
		return nil, true, true
	}
	raw, escaped, ok := s.str()
	if !ok || !valid(raw) {
		return nil, false, false
	}
	if !escaped {
		return raw, false, true
	}
	return appendStable(buf, raw, func(dst []byte) []byte { return unescape(dst, raw) }), false, true
}

// appendStable appends what fill appends (at most len(raw) bytes) to *buf
// and returns those bytes. When *buf has no room left it starts a new
// array instead of growing the old one, so slices handed out earlier stay
// valid.
func appendStable(buf *[]byte, raw []byte, fill func([]byte) []byte) []byte {
	b := *buf
	if cap(b)-len(b) < len(raw) {
		b = make([]byte, 0, max(len(raw), 2*cap(b)))
	}
	start := len(b)
	b = fill(b)
	*buf = b
	return b[start:len(b):len(b)]
}

// blob reads a base64 string (or null) and decodes it exactly as
// base64.StdEncoding.DecodeString does onto the end of *buf.
func (s *scanner) blob(buf *[]byte, tmp *[]byte) (v []byte, null, ok bool) {
	if s.null() {
		return nil, true, true
	}
	raw, escaped, ok := s.str()
	if !ok {
		return nil, false, false
	}
	if !escaped {
		// Only base64 bytes decode, and those need no JSON checks.
		if d, _, ok := decodeStable(buf, raw, true); ok {
			return d, false, true
		}
	}
	if !valid(raw) {
		return nil, false, false
	}
	src := raw
	if escaped {
		*tmp = unescape((*tmp)[:0], raw)
		src = *tmp
	}
	return decodeStable(buf, src, false)
}

// decodeStable decodes base64 src onto the end of *buf (see
// appendStable). With exact, it refuses what Decode accepts only by
// skipping '\r' and '\n': with len(src) a multiple of 4, skipping any
// leaves fewer bytes than the length implies.
func decodeStable(buf *[]byte, src []byte, exact bool) ([]byte, bool, bool) {
	if len(src) == 0 {
		return []byte{}, false, true
	}
	b := *buf
	need := base64.StdEncoding.DecodedLen(len(src))
	if cap(b)-len(b) < need {
		b = make([]byte, 0, max(need, 2*cap(b)))
		*buf = b
	}
	start := len(b)
	var n int
	if exact {
		var ok bool
		if n, ok = b64.DecodeExact(b[start:start+need], src); !ok {
			return nil, false, false
		}
	} else {
		var err error
		if n, err = b64.Decode(b[start:start+need], src); err != nil {
			return nil, false, false
		}
	}
	*buf = b[:start+n]
	return b[start : start+n : start+n], false, true
}

// enter reads the opening byte of an object or array.
func (s *scanner) enter(open byte) bool {
	if s.peek() != open {
		return false
	}
	s.depth++
	if s.depth > maxDepth {
		return false
	}
	s.i++
	return true
}

// object reads an object; fn reads each member's value. A member name with
// escapes is passed unescaped.
func (s *scanner) object(fn func(key []byte) bool) bool {
	if !s.enter('{') {
		return false
	}
	if s.peek() == '}' {
		s.i++
		s.depth--
		return true
	}
	for {
		raw, escaped, ok := s.str()
		if !ok || !valid(raw) || s.peek() != ':' {
			return false
		}
		s.i++
		key := raw
		if escaped {
			s.key = unescape(s.key[:0], raw)
			key = s.key
		}
		if !fn(key) {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// array reads an array; fn reads each element.
func (s *scanner) array(fn func() bool) bool {
	if !s.enter('[') {
		return false
	}
	if s.peek() == ']' {
		s.i++
		s.depth--
		return true
	}
	for {
		if !fn() {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// skip reads any value.
func (s *scanner) skip() bool {
	switch s.peek() {
	case '"':
		raw, _, ok := s.str()
		return ok && valid(raw)
	case '{':
		return s.object(func([]byte) bool { return s.skip() })
	case '[':
		return s.array(s.skip)
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	default:
		_, ok := s.number()
		return ok
	}
}

// raw reads any value and returns its text.
func (s *scanner) raw() ([]byte, bool) {
	s.ws()
	start := s.i
	if !s.skip() {
		return nil, false
	}
	return s.b[start:s.i], true
}
