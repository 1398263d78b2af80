package s3

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// copyObject serves PUT with x-amz-copy-source ("bucket/key" or
// "/bucket/key", URL-encoded). Metadata is copied unless
// x-amz-metadata-directive is REPLACE.
func (s *Service) copyObject(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	ctx := r.Context()
	src, err := url.PathUnescape(r.Header.Get("x-amz-copy-source"))
	if err != nil {
		return s3Error("InvalidArgument", map[string]any{"ArgumentName": "x-amz-copy-source"}, "Invalid copy source encoding")
	}
	src, _, _ = strings.Cut(src, "?") // versionId: no versioning here
	srcBucket, srcKey, ok := strings.Cut(strings.TrimPrefix(src, "/"), "/")
	if !ok || srcBucket == "" || srcKey == "" {
		return s3Error("InvalidArgument", map[string]any{"ArgumentName": "x-amz-copy-source"}, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	from, err := s.objects(ctx, srcBucket)
	if err != nil {
		return err
	}
	to, err := s.objects(ctx, bucket)
	if err != nil {
		return err
	}
	info, err := from.GetInfo(ctx, srcKey)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return noSuchKey(srcKey)
	}
	if err != nil {
		return fmt.Errorf("reading %s/%s: %w", srcBucket, srcKey, err)
	}
	replace := strings.EqualFold(r.Header.Get("x-amz-metadata-directive"), "REPLACE")
	if srcBucket == bucket && srcKey == key && !replace {
		return s3Error("InvalidRequest", nil, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	body, err := from.GetBytes(ctx, srcKey)
	if err != nil {
		return fmt.Errorf("reading %s/%s: %w", srcBucket, srcKey, err)
	}
	h := nats.Header{}
	if replace {
		h = objectMeta(r)
	} else {
		for k, v := range info.Headers {
			h[k] = append([]string(nil), v...)
		}
	}
	now := s.now().UTC()
	h.Set(hdrETag, info.Headers.Get(hdrETag))
	h.Set(hdrModified, now.Format(time.RFC3339Nano))
	if _, err := to.Put(ctx, jetstream.ObjectMeta{Name: key, Headers: h}, bytes.NewReader(body)); err != nil {
		return fmt.Errorf("storing %s/%s: %w", bucket, key, err)
	}
	type result struct {
		XMLName      xml.Name `xml:"CopyObjectResult"`
		Xmlns        string   `xml:"xmlns,attr"`
		LastModified string   `xml:"LastModified"`
		ETag         string   `xml:"ETag"`
	}
	writeXML(w, http.StatusOK, result{Xmlns: s3xmlns, LastModified: now.Format("2006-01-02T15:04:05.000Z"), ETag: h.Get(hdrETag)})
	return nil
}
