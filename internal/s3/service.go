package s3

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penstock/penstock/internal/awsapi"
	"github.com/penstock/penstock/internal/storage"
)

const s3xmlns = "http://s3.amazonaws.com/doc/2006-03-01/"

// Options configures New.
type Options struct {
	Store             *storage.Store
	Region, AccountID string
	Logger            *slog.Logger
	Now               func() time.Time // nil = time.Now
	// Fallback serves unsigned requests that are not S3's: penstock routes
	// every unsigned request without X-Amz-Target to S3, so SNS's
	// SubscribeURL/UnsubscribeURL links (GET /?Action=...) and its signing
	// certificate (/_penstock/sns/...) arrive here and are handed on.
	Fallback http.Handler
	// MaxObjectSize bounds one PutObject (0 = 1 GiB; objects are buffered).
	MaxObjectSize int64
}

// Service serves the S3 REST API (path-style and virtual-host-style).
type Service struct {
	o       Options
	store   *storage.Store
	js      jetstream.JetStream
	buckets jetstream.KeyValue
	log     *slog.Logger
	now     func() time.Time
}

// New opens the bucket registry.
func New(ctx context.Context, o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("s3: Options.Store is required")
	}
	kv, err := o.Store.KV(ctx, "S3_buckets")
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	s := &Service{o: o, store: o.Store, js: o.Store.JetStream(), buckets: kv, log: o.Logger, now: o.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.o.MaxObjectSize <= 0 {
		s.o.MaxObjectSize = 1 << 30
	}
	return s, nil
}

// target splits a request into bucket and key: virtual-host style when the
// Host is <bucket>.localhost[:port] or <bucket>.s3[.<region>].<domain>,
// path style (/<bucket>/<key>) otherwise.
func target(r *http.Request) (bucket, key string) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	path := r.URL.Path
	if b, ok := strings.CutSuffix(host, ".localhost"); ok && b != "" {
		return b, strings.TrimPrefix(path, "/")
	}
	if i := strings.Index(host, ".s3."); i > 0 && net.ParseIP(host) == nil {
		return host[:i], strings.TrimPrefix(path, "/")
	}
	if i := strings.Index(host, ".s3-"); i > 0 && net.ParseIP(host) == nil {
		return host[:i], strings.TrimPrefix(path, "/")
	}
	p := strings.TrimPrefix(path, "/")
	bucket, key, _ = strings.Cut(p, "/")
	return bucket, key
}

// ServeHTTP dispatches by method, bucket/key and subresource.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.o.Fallback != nil && r.Header.Get("Authorization") == "" &&
		(strings.HasPrefix(r.URL.Path, "/_penstock/") || (r.URL.Path == "/" && r.URL.Query().Get("Action") != "")) {
		s.o.Fallback.ServeHTTP(w, r)
		return
	}
	w.Header().Set("x-amz-id-2", "penstock")
	bucket, key := target(r)
	q := r.URL.Query()
	var err error
	switch {
	case bucket == "":
		if r.Method != http.MethodGet {
			err = s3Error("MethodNotAllowed", nil)
			break
		}
		err = s.listBuckets(w, r)
	case key == "":
		err = s.bucketOp(w, r, bucket, q)
	default:
		err = s.objectOp(w, r, bucket, key, q)
	}
	if err != nil {
		s.writeError(w, r, err)
	}
}

func (s *Service) bucketOp(w http.ResponseWriter, r *http.Request, bucket string, q map[string][]string) error {
	if _, ok := q["uploads"]; ok && r.Method == http.MethodGet {
		return s.listUploads(w, r, bucket)
	}
	for _, sub := range []string{"versioning", "acl", "policy", "cors", "lifecycle", "tagging", "website", "notification", "encryption", "uploads", "object-lock", "replication", "logging", "ownershipControls", "publicAccessBlock", "accelerate", "requestPayment"} {
		if _, ok := q[sub]; ok {
			return s3Error("NotImplemented", nil, "penstock does not implement the ?"+sub+" subresource")
		}
	}
	switch r.Method {
	case http.MethodPut:
		return s.createBucket(w, r, bucket)
	case http.MethodDelete:
		return s.deleteBucket(w, r, bucket)
	case http.MethodHead:
		if _, err := s.bucket(r.Context(), bucket); err != nil {
			return err
		}
		w.Header().Set("x-amz-bucket-region", s.o.Region)
		w.WriteHeader(http.StatusOK)
		return nil
	case http.MethodGet:
		if _, ok := q["location"]; ok {
			return s.location(w, r, bucket)
		}
		return s.listObjects(w, r, bucket, q)
	case http.MethodPost:
		if _, ok := q["delete"]; ok {
			return s.deleteObjects(w, r, bucket)
		}
	}
	return s3Error("MethodNotAllowed", nil)
}

func (s *Service) objectOp(w http.ResponseWriter, r *http.Request, bucket, key string, q map[string][]string) error {
	for _, sub := range []string{"acl", "tagging", "retention", "legal-hold", "attributes", "torrent", "restore", "select"} {
		if _, ok := q[sub]; ok {
			return s3Error("NotImplemented", nil, "penstock does not implement the ?"+sub+" subresource")
		}
	}
	if len(key) > 1024 {
		return s3Error("KeyTooLongError", nil)
	}
	_, uploads := q["uploads"]
	_, uploadID := q["uploadId"]
	switch {
	case uploads && r.Method == http.MethodPost:
		return s.createUpload(w, r, bucket, key)
	case uploadID && r.Method == http.MethodPut:
		if r.Header.Get("x-amz-copy-source") != "" {
			return s3Error("NotImplemented", nil, "penstock does not implement UploadPartCopy")
		}
		return s.uploadPart(w, r, bucket, key)
	case uploadID && r.Method == http.MethodPost:
		return s.completeUpload(w, r, bucket, key)
	case uploadID && r.Method == http.MethodDelete:
		return s.abortUpload(w, r, bucket, key)
	case uploadID && r.Method == http.MethodGet:
		return s.listParts(w, r, bucket, key)
	case uploads || uploadID:
		return s3Error("MethodNotAllowed", nil)
	}
	switch r.Method {
	case http.MethodPut:
		if r.Header.Get("x-amz-copy-source") != "" {
			return s.copyObject(w, r, bucket, key)
		}
		return s.putObject(w, r, bucket, key)
	case http.MethodGet, http.MethodHead:
		return s.getObject(w, r, bucket, key)
	case http.MethodDelete:
		return s.deleteObject(w, r, bucket, key)
	}
	return s3Error("MethodNotAllowed", nil)
}

func writeXML(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("x-amz-request-id", awsapi.RequestID())
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(v)
}

func toString(v any) string { return fmt.Sprint(v) }
