package s3

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrBucketNotFound is what the Go API returns for a missing bucket.
var ErrBucketNotFound = errors.New("s3: bucket does not exist")

// bucketRec is a bucket's entry in the S3_buckets KV bucket.
type bucketRec struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	Region  string    `json:"region"`
}

var bucketRe = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func validBucket(b string) bool {
	return bucketRe.MatchString(b) && !strings.Contains(b, "..") && net.ParseIP(b) == nil &&
		!strings.HasPrefix(b, "xn--") && !strings.HasSuffix(b, "-s3alias")
}

// storeName maps a bucket to its object store. Bucket names never contain
// '_', so replacing '.' (not allowed in JetStream names) with '_' is
// one-to-one.
func storeName(bucket string) string { return "S3_" + strings.ReplaceAll(bucket, ".", "_") }

func (s *Service) bucket(ctx context.Context, name string) (*bucketRec, error) {
	if !validBucket(name) {
		return nil, noSuchBucket(name)
	}
	e, err := s.buckets.Get(ctx, name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, noSuchBucket(name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading bucket %s: %w", name, err)
	}
	var b bucketRec
	if err := json.Unmarshal(e.Value(), &b); err != nil {
		return nil, fmt.Errorf("decoding bucket %s: %w", name, err)
	}
	return &b, nil
}

func (s *Service) objects(ctx context.Context, bucket string) (jetstream.ObjectStore, error) {
	if _, err := s.bucket(ctx, bucket); err != nil {
		return nil, err
	}
	os, err := s.js.ObjectStore(ctx, storeName(bucket))
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return s.store.ObjectStore(ctx, storeName(bucket))
	}
	if err != nil {
		return nil, fmt.Errorf("opening bucket %s: %w", bucket, err)
	}
	return os, nil
}

func (s *Service) createBucket(w http.ResponseWriter, r *http.Request, name string) error {
	if !validBucket(name) {
		return s3Error("InvalidBucketName", map[string]any{"BucketName": name})
	}
	region := s.o.Region
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if len(strings.TrimSpace(string(body))) > 0 {
		var cfg struct {
			LocationConstraint string `xml:"LocationConstraint"`
		}
		if err := xml.Unmarshal(body, &cfg); err != nil {
			return s3Error("MalformedXML", nil)
		}
		if cfg.LocationConstraint != "" {
			if cfg.LocationConstraint != s.o.Region {
				return s3Error("InvalidLocationConstraint", nil, "The specified location-constraint is not valid: penstock serves region "+s.o.Region)
			}
			region = cfg.LocationConstraint
		}
	}
	ctx := r.Context()
	rec := bucketRec{Name: name, Created: s.now().UTC(), Region: region}
	b, _ := json.Marshal(rec)
	if _, err := s.buckets.Create(ctx, name, b); err != nil {
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("creating bucket %s: %w", name, err)
		}
		// us-east-1 answers 200 to re-creating your own bucket (legacy
		// behaviour); every other region answers BucketAlreadyOwnedByYou.
		if s.o.Region != "us-east-1" {
			return s3Error("BucketAlreadyOwnedByYou", map[string]any{"BucketName": name})
		}
	} else if _, err := s.store.ObjectStore(ctx, storeName(name)); err != nil {
		_ = s.buckets.Delete(ctx, name)
		return fmt.Errorf("creating bucket %s: %w", name, err)
	}
	w.Header().Set("Location", "/"+name)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Service) deleteBucket(w http.ResponseWriter, r *http.Request, name string) error {
	ctx := r.Context()
	os, err := s.objects(ctx, name)
	if err != nil {
		return err
	}
	if _, err := os.List(ctx); err == nil {
		return s3Error("BucketNotEmpty", map[string]any{"BucketName": name})
	} else if !errors.Is(err, jetstream.ErrNoObjectsFound) {
		return fmt.Errorf("listing bucket %s: %w", name, err)
	}
	if err := s.js.DeleteObjectStore(ctx, storeName(name)); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) && !errors.Is(err, jetstream.ErrBucketNotFound) {
		return fmt.Errorf("deleting bucket %s: %w", name, err)
	}
	if err := s.buckets.Purge(ctx, name); err != nil {
		return fmt.Errorf("deleting bucket %s: %w", name, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

func (s *Service) owner() owner {
	return owner{ID: "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a", DisplayName: "penstock"}
}

func (s *Service) listBuckets(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	lister, err := s.buckets.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("listing buckets: %w", err)
	}
	var names []string
	for k := range lister.Keys() {
		names = append(names, k)
	}
	_ = lister.Stop()
	slices.Sort(names)
	type bucketXML struct {
		Name         string `xml:"Name"`
		CreationDate string `xml:"CreationDate"`
		BucketRegion string `xml:"BucketRegion"`
	}
	type result struct {
		XMLName xml.Name    `xml:"ListAllMyBucketsResult"`
		Xmlns   string      `xml:"xmlns,attr"`
		Owner   owner       `xml:"Owner"`
		Buckets []bucketXML `xml:"Buckets>Bucket"`
	}
	res := result{Xmlns: s3xmlns, Owner: s.owner(), Buckets: []bucketXML{}}
	prefix := r.URL.Query().Get("prefix")
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		b, err := s.bucket(ctx, n)
		if err != nil {
			continue
		}
		res.Buckets = append(res.Buckets, bucketXML{n, b.Created.Format("2006-01-02T15:04:05.000Z"), b.Region})
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

func (s *Service) location(w http.ResponseWriter, r *http.Request, name string) error {
	b, err := s.bucket(r.Context(), name)
	if err != nil {
		return err
	}
	loc := b.Region
	if loc == "us-east-1" {
		loc = "" // AWS reports us-east-1 as an empty constraint
	}
	type result struct {
		XMLName xml.Name `xml:"LocationConstraint"`
		Xmlns   string   `xml:"xmlns,attr"`
		Value   string   `xml:",chardata"`
	}
	writeXML(w, http.StatusOK, result{Xmlns: s3xmlns, Value: loc})
	return nil
}
