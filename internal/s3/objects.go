package s3

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Object metadata lives in the object store's per-object headers.
const (
	hdrETag     = "Penstock-Etag"
	hdrType     = "Penstock-Content-Type"
	hdrModified = "Penstock-Last-Modified"
	hdrCRC32    = "Penstock-Crc32"
	hdrMetaPre  = "X-Amz-Meta-"
)

// passHeaders are request headers stored and returned on GET/HEAD.
var passHeaders = []string{"Content-Encoding", "Content-Disposition", "Content-Language", "Cache-Control", "Expires"}

func crc32b64(b []byte, table *crc32.Table) string {
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc32.Checksum(b, table))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// readBody returns the object bytes, decoding aws-chunked uploads and
// checking Content-MD5 and CRC32/CRC32C checksums (header or trailer).
func (s *Service) readBody(r *http.Request) ([]byte, error) {
	var body []byte
	trailers := map[string]string{}
	var err error
	if isChunked(r) {
		body, trailers, err = decodeChunked(r.Body, s.o.MaxObjectSize)
		if errors.Is(err, errTooLarge) {
			return nil, s3Error("EntityTooLarge", nil)
		}
		if err != nil {
			return nil, s3Error("IncompleteBody", nil, err.Error())
		}
		if dl := r.Header.Get("x-amz-decoded-content-length"); dl != "" {
			if n, _ := strconv.Atoi(dl); n != len(body) {
				return nil, s3Error("IncompleteBody", nil)
			}
		}
	} else {
		body, err = io.ReadAll(io.LimitReader(r.Body, s.o.MaxObjectSize+1))
		if err != nil {
			return nil, s3Error("IncompleteBody", nil, err.Error())
		}
		if int64(len(body)) > s.o.MaxObjectSize {
			return nil, s3Error("EntityTooLarge", nil)
		}
	}
	if cm := r.Header.Get("Content-MD5"); cm != "" {
		want, err := base64.StdEncoding.DecodeString(cm)
		if err != nil || len(want) != md5.Size {
			return nil, s3Error("InvalidDigest", nil)
		}
		if got := md5.Sum(body); !bytes.Equal(got[:], want) {
			return nil, s3Error("BadDigest", nil)
		}
	}
	check := func(name string, table *crc32.Table) error {
		v := r.Header.Get(name)
		if t, ok := trailers[name]; ok {
			v = t
		}
		if v != "" && v != crc32b64(body, table) {
			return s3Error("BadDigest", nil, "The "+strings.ToUpper(strings.TrimPrefix(name, "x-amz-checksum-"))+" you specified did not match the calculated checksum.")
		}
		return nil
	}
	if err := check("x-amz-checksum-crc32", crc32.IEEETable); err != nil {
		return nil, err
	}
	if err := check("x-amz-checksum-crc32c", crc32.MakeTable(crc32.Castagnoli)); err != nil {
		return nil, err
	}
	return body, nil
}

func (s *Service) putObject(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	ctx := r.Context()
	os, err := s.objects(ctx, bucket)
	if err != nil {
		return err
	}
	body, err := s.readBody(r)
	if err != nil {
		return err
	}
	etag := `"` + hex.EncodeToString(md5sum(body)) + `"`
	h := nats.Header{}
	h.Set(hdrETag, etag)
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = "binary/octet-stream"
	}
	h.Set(hdrType, ct)
	h.Set(hdrModified, s.now().UTC().Format(time.RFC3339Nano))
	h.Set(hdrCRC32, crc32b64(body, crc32.IEEETable))
	for k, v := range r.Header {
		if strings.HasPrefix(http.CanonicalHeaderKey(k), hdrMetaPre) && len(v) > 0 {
			h.Set(http.CanonicalHeaderKey(k), v[0])
		}
	}
	for _, k := range passHeaders {
		if v := r.Header.Get(k); v != "" && !(k == "Content-Encoding" && strings.TrimSpace(v) == "aws-chunked") {
			h.Set(k, strings.TrimPrefix(strings.TrimPrefix(v, "aws-chunked,"), "aws-chunked, "))
		}
	}
	if _, err := os.Put(ctx, jetstream.ObjectMeta{Name: key, Headers: h}, bytes.NewReader(body)); err != nil {
		return fmt.Errorf("storing %s/%s: %w", bucket, key, err)
	}
	w.Header().Set("ETag", etag)
	if r.Header.Get("x-amz-checksum-crc32") != "" || r.Header.Get("x-amz-sdk-checksum-algorithm") == "CRC32" || strings.Contains(r.Header.Get("x-amz-trailer"), "crc32") {
		w.Header().Set("x-amz-checksum-crc32", crc32b64(body, crc32.IEEETable))
	}
	if r.Header.Get("x-amz-sdk-checksum-algorithm") == "CRC32C" || strings.Contains(r.Header.Get("x-amz-trailer"), "crc32c") {
		w.Header().Set("x-amz-checksum-crc32c", crc32b64(body, crc32.MakeTable(crc32.Castagnoli)))
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func md5sum(b []byte) []byte { s := md5.Sum(b); return s[:] }

// objectHeaders writes the stored metadata of an object.
func objectHeaders(w http.ResponseWriter, info *jetstream.ObjectInfo) time.Time {
	h := info.Headers
	w.Header().Set("ETag", h.Get(hdrETag))
	w.Header().Set("Content-Type", h.Get(hdrType))
	mod, err := time.Parse(time.RFC3339Nano, h.Get(hdrModified))
	if err != nil {
		mod = info.ModTime
	}
	w.Header().Set("Last-Modified", mod.UTC().Format(http.TimeFormat))
	w.Header().Set("Accept-Ranges", "bytes")
	for k, v := range h {
		if strings.HasPrefix(k, hdrMetaPre) && len(v) > 0 {
			w.Header().Set(strings.ToLower(k), v[0])
		}
	}
	for _, k := range passHeaders {
		if v := h.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	return mod
}

func (s *Service) info(r *http.Request, bucket, key string) (jetstream.ObjectStore, *jetstream.ObjectInfo, error) {
	ctx := r.Context()
	os, err := s.objects(ctx, bucket)
	if err != nil {
		return nil, nil, err
	}
	info, err := os.GetInfo(ctx, key)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, nil, noSuchKey(key)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s/%s: %w", bucket, key, err)
	}
	return os, info, nil
}

func (s *Service) getObject(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	os, info, err := s.info(r, bucket, key)
	if err != nil {
		return err
	}
	etag := info.Headers.Get(hdrETag)
	mod := objectHeaders(w, info)
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && m != etag {
		return s3Error("PreconditionFailed", map[string]any{"Condition": "If-Match"})
	}
	if m := r.Header.Get("If-None-Match"); m != "" && (m == "*" || m == etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if ims, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !mod.Truncate(time.Second).After(ims) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	size := int64(info.Size)
	start, end, partial, err := parseRange(r.Header.Get("Range"), size)
	if err != nil {
		return err
	}
	if !partial && strings.EqualFold(r.Header.Get("x-amz-checksum-mode"), "ENABLED") {
		if c := info.Headers.Get(hdrCRC32); c != "" {
			w.Header().Set("x-amz-checksum-crc32", c)
			w.Header().Set("x-amz-checksum-type", "FULL_OBJECT")
		}
	}
	w.Header().Set("Content-Length", strconv.FormatInt(end-start, 10))
	status := http.StatusOK
	if partial {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, size))
		status = http.StatusPartialContent
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return nil
	}
	res, err := os.Get(r.Context(), key)
	if err != nil {
		return fmt.Errorf("reading %s/%s: %w", bucket, key, err)
	}
	defer res.Close()
	if _, err := io.CopyN(io.Discard, res, start); err != nil {
		return fmt.Errorf("reading %s/%s: %w", bucket, key, err)
	}
	w.WriteHeader(status)
	_, _ = io.CopyN(w, res, end-start)
	return nil
}

// parseRange parses a single "bytes=a-b", "bytes=a-" or "bytes=-n" range
// into [start, end). Multiple ranges are not supported (S3 ignores them too
// and returns the whole object).
func parseRange(h string, size int64) (start, end int64, partial bool, err error) {
	if h == "" {
		return 0, size, false, nil
	}
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, size, false, nil
	}
	a, b, _ := strings.Cut(spec, "-")
	bad := s3Error("InvalidRange", map[string]any{"RangeRequested": h, "ActualObjectSize": size})
	switch {
	case a == "":
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil {
			return 0, size, false, nil
		}
		if n == 0 {
			return 0, 0, false, bad
		}
		return max(0, size-n), size, true, nil
	default:
		s, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			return 0, size, false, nil
		}
		if s >= size {
			return 0, 0, false, bad
		}
		e := size - 1
		if b != "" {
			if e, err = strconv.ParseInt(b, 10, 64); err != nil || e < s {
				return 0, size, false, nil
			}
			e = min(e, size-1)
		}
		return s, e + 1, true, nil
	}
}

func (s *Service) deleteObject(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	ctx := r.Context()
	os, err := s.objects(ctx, bucket)
	if err != nil {
		return err
	}
	if err := os.Delete(ctx, key); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("deleting %s/%s: %w", bucket, key, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) deleteObjects(w http.ResponseWriter, r *http.Request, bucket string) error {
	ctx := r.Context()
	os, err := s.objects(ctx, bucket)
	if err != nil {
		return err
	}
	body, err := s.readBody(r)
	if err != nil {
		return err
	}
	var req struct {
		Quiet   bool `xml:"Quiet"`
		Objects []struct {
			Key string `xml:"Key"`
		} `xml:"Object"`
	}
	if err := xml.Unmarshal(body, &req); err != nil || len(req.Objects) > 1000 {
		return s3Error("MalformedXML", nil)
	}
	type deleted struct {
		Key string `xml:"Key"`
	}
	type delErr struct {
		Key     string `xml:"Key"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	type result struct {
		XMLName xml.Name  `xml:"DeleteResult"`
		Xmlns   string    `xml:"xmlns,attr"`
		Deleted []deleted `xml:"Deleted"`
		Errors  []delErr  `xml:"Error"`
	}
	res := result{Xmlns: s3xmlns}
	for _, o := range req.Objects {
		if err := os.Delete(ctx, o.Key); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			res.Errors = append(res.Errors, delErr{o.Key, "InternalError", err.Error()})
			continue
		}
		if !req.Quiet {
			res.Deleted = append(res.Deleted, deleted{o.Key})
		}
	}
	writeXML(w, http.StatusOK, res)
	return nil
}
