package sqs

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"sort"
	"strings"
)

// MessageAttribute is one SQS message attribute as the JSON protocol carries
// it (BinaryValue is base64 on the wire, raw bytes here).
type MessageAttribute struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
	BinaryValue []byte `json:"BinaryValue,omitempty"`
}

func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// attributesMD5 computes MD5OfMessageAttributes the way AWS does: for each
// attribute in name order, the length-prefixed (4-byte big endian) name and
// data type, a transport byte (1 string/number, 2 binary), and the
// length-prefixed value. "" when there are no attributes.
func attributesMD5(attrs map[string]MessageAttribute) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf []byte
	put := func(b []byte) {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(b)))
		buf = append(buf, b...)
	}
	for _, n := range names {
		a := attrs[n]
		put([]byte(n))
		put([]byte(a.DataType))
		if strings.HasPrefix(a.DataType, "Binary") {
			buf = append(buf, 2)
			put(a.BinaryValue)
		} else {
			buf = append(buf, 1)
			put([]byte(a.StringValue))
		}
	}
	return md5Hex(buf)
}

func sortStrings(s []string) { sort.Strings(s) }
