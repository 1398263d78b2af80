package s3_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/penstock/penstock/internal/penstocktest"
)

// chunkedBody encodes payload the way SDKs stream uploads: aws-chunked with
// chunk signatures or a CRC32 trailer.
func chunkedBody(payload []byte, chunk int, signed bool, crc string) string {
	var b strings.Builder
	ext := func() string {
		if signed {
			return ";chunk-signature=" + strings.Repeat("0", 64)
		}
		return ""
	}
	for i := 0; i < len(payload); i += chunk {
		end := min(i+chunk, len(payload))
		fmt.Fprintf(&b, "%x%s\r\n%s\r\n", end-i, ext(), payload[i:end])
	}
	fmt.Fprintf(&b, "0%s\r\n", ext())
	if crc != "" {
		fmt.Fprintf(&b, "x-amz-checksum-crc32:%s\r\n", crc)
	}
	b.WriteString("\r\n")
	return b.String()
}

func crc32Of(b []byte) string {
	var s [4]byte
	binary.BigEndian.PutUint32(s[:], crc32.ChecksumIEEE(b))
	return base64.StdEncoding.EncodeToString(s[:])
}

func TestAWSChunkedUpload(t *testing.T) {
	srv := penstocktest.Start(t, nil)
	c := pathClient(srv)
	ctx := t.Context()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("chunks")}); err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1000) // 16000 bytes, several chunks
	cases := []struct {
		name, sha, body string
		status          int
	}{
		{"signed chunks", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", chunkedBody(payload, 4096, true, ""), 200},
		{"unsigned with crc32 trailer", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", chunkedBody(payload, 8192, false, crc32Of(payload)), 200},
		{"signed with crc32 trailer", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", chunkedBody(payload, 5000, true, crc32Of(payload)), 200},
		{"wrong crc32 trailer", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", chunkedBody(payload, 8192, false, crc32Of([]byte("x"))), 400},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("obj-%d", i)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL()+"/chunks/"+key, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00")
			req.Header.Set("x-amz-content-sha256", tc.sha)
			req.Header.Set("Content-Encoding", "aws-chunked")
			req.Header.Set("x-amz-decoded-content-length", fmt.Sprint(len(payload)))
			if strings.HasSuffix(tc.sha, "TRAILER") {
				req.Header.Set("x-amz-trailer", "x-amz-checksum-crc32")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, msg, tc.status)
			}
			if tc.status != 200 {
				if !strings.Contains(string(msg), "<Code>BadDigest</Code>") {
					t.Fatalf("error body %s, want BadDigest", msg)
				}
				return
			}
			get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("chunks"), Key: aws.String(key)})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(get.Body)
			get.Body.Close()
			if !bytes.Equal(got, payload) || aws.ToString(get.ContentEncoding) != "" {
				t.Fatalf("stored %d bytes (Content-Encoding %q), want the %d decoded bytes", len(got), aws.ToString(get.ContentEncoding), len(payload))
			}
		})
	}
}
