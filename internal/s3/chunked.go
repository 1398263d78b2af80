package s3

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// isChunked tells whether the body uses aws-chunked content encoding
// (x-amz-content-sha256: STREAMING-..., or Content-Encoding: aws-chunked).
func isChunked(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("x-amz-content-sha256"), "STREAMING-") ||
		strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked")
}

// decodeChunked reads an aws-chunked body: chunks of
// "<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n", a zero-size chunk,
// then optional trailer lines ("x-amz-checksum-crc32:<b64>",
// "x-amz-trailer-signature:<sig>") and a blank line. Chunk signatures are
// not verified (penstock does not verify SigV4). It returns the payload and
// the trailers.
func decodeChunked(body io.Reader, limit int64) ([]byte, map[string]string, error) {
	br := bufio.NewReader(body)
	var out bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, nil, fmt.Errorf("reading chunk header: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		sizeHex, _, _ := strings.Cut(line, ";")
		size, err := strconv.ParseInt(strings.TrimSpace(sizeHex), 16, 64)
		if err != nil || size < 0 {
			return nil, nil, fmt.Errorf("bad chunk header %q", line)
		}
		if size == 0 {
			break
		}
		if int64(out.Len())+size > limit {
			return nil, nil, errTooLarge
		}
		if _, err := io.CopyN(&out, br, size); err != nil {
			return nil, nil, fmt.Errorf("reading chunk: %w", err)
		}
		if crlf, err := br.ReadString('\n'); err != nil || strings.TrimRight(crlf, "\r\n") != "" {
			return nil, nil, errors.New("chunk not terminated by CRLF")
		}
	}
	trailers := map[string]string{}
	for {
		line, err := br.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line != "" {
			k, v, _ := strings.Cut(line, ":")
			trailers[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
		if err != nil || line == "" {
			break
		}
	}
	return out.Bytes(), trailers, nil
}

var errTooLarge = errors.New("entity too large")
