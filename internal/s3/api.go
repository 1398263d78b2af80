package s3

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Exists reports whether the bucket exists: nil or an error wrapping
// ErrBucketNotFound.
func (s *Service) Exists(ctx context.Context, bucket string) error {
	if _, err := s.bucket(ctx, bucket); err != nil {
		if asAPI(err) {
			return fmt.Errorf("%w: %s", ErrBucketNotFound, bucket)
		}
		return err
	}
	return nil
}

// Put stores an object as PutObject does (Content-Type application/json
// when contentType is ""), and returns its ETag.
func (s *Service) Put(ctx context.Context, bucket, key string, body []byte, contentType string) (string, error) {
	os, err := s.objects(ctx, bucket)
	if err != nil {
		if asAPI(err) {
			return "", fmt.Errorf("%w: %s", ErrBucketNotFound, bucket)
		}
		return "", err
	}
	if contentType == "" {
		contentType = "application/json"
	}
	etag := `"` + hex.EncodeToString(md5sum(body)) + `"`
	h := nats.Header{}
	h.Set(hdrETag, etag)
	h.Set(hdrType, contentType)
	h.Set(hdrModified, s.now().UTC().Format(time.RFC3339Nano))
	h.Set(hdrCRC32, crc32b64(body, crc32.IEEETable))
	if _, err := os.Put(ctx, jetstream.ObjectMeta{Name: key, Headers: h}, bytes.NewReader(body)); err != nil {
		return "", fmt.Errorf("storing %s/%s: %w", bucket, key, err)
	}
	return etag, nil
}
