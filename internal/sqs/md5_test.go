package sqs_test

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// attributesMD5ForTest is an independent transcription of botocore's
// _add_md5_of_message_attributes (botocore/handlers.py).
func attributesMD5ForTest(attrs map[string]types.MessageAttributeValue) string {
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := md5.New()
	lp := func(b []byte) {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(b)))
		h.Write(l[:])
		h.Write(b)
	}
	for _, n := range names {
		a := attrs[n]
		lp([]byte(n))
		lp([]byte(aws.ToString(a.DataType)))
		if a.BinaryValue != nil {
			h.Write([]byte{2})
			lp(a.BinaryValue)
		} else {
			h.Write([]byte{1})
			lp([]byte(aws.ToString(a.StringValue)))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
