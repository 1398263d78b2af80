package s3_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/penstock/penstock/internal/penstocktest"
	"github.com/penstock/penstock/internal/server"
)

func pathClient(srv *server.Server) *s3.Client {
	return s3.NewFromConfig(penstocktest.AWSConfig(srv), func(o *s3.Options) { o.UsePathStyle = true })
}

// vhostClient sends virtual-host-style requests (http://<bucket>.localhost:<port>/key),
// dialling the server whatever the host name resolves to.
func vhostClient(srv *server.Server) *s3.Client {
	cfg := penstocktest.AWSConfig(srv)
	_, port, _ := net.SplitHostPort(srv.Addr())
	cfg.BaseEndpoint = aws.String("http://localhost:" + port)
	addr := srv.Addr()
	cfg.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
	return s3.NewFromConfig(cfg)
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func etagOf(b []byte) string {
	s := md5.Sum(b)
	return `"` + hex.EncodeToString(s[:]) + `"`
}

func TestBucketsAndObjects(t *testing.T) {
	srv := penstocktest.Start(t, nil)
	for name, c := range map[string]*s3.Client{"path": pathClient(srv), "vhost": vhostClient(srv)} {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			bucket := "dead-letters-" + name
			if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
				t.Fatal(err)
			}
			lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, b := range lb.Buckets {
				found = found || aws.ToString(b.Name) == bucket
			}
			if !found {
				t.Fatalf("ListBuckets=%v, want %s", lb.Buckets, bucket)
			}
			body := []byte(`{"hello":"world"}`)
			put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("a/b/c.json"), Body: bytes.NewReader(body),
				ContentType: aws.String("application/json"), Metadata: map[string]string{"origin": "test"}})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(put.ETag) != etagOf(body) {
				t.Errorf("ETag=%s, want %s", aws.ToString(put.ETag), etagOf(body))
			}
			get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("a/b/c.json")})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(get.Body)
			get.Body.Close()
			if !bytes.Equal(got, body) || aws.ToString(get.ContentType) != "application/json" || get.Metadata["origin"] != "test" || aws.ToString(get.ETag) != etagOf(body) {
				t.Errorf("GetObject=%q type %s meta %v etag %s", got, aws.ToString(get.ContentType), get.Metadata, aws.ToString(get.ETag))
			}
			rng, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("a/b/c.json"), Range: aws.String("bytes=2-6")})
			if err != nil {
				t.Fatal(err)
			}
			part, _ := io.ReadAll(rng.Body)
			rng.Body.Close()
			if string(part) != `hello` || aws.ToString(rng.ContentRange) != fmt.Sprintf("bytes 2-6/%d", len(body)) {
				t.Errorf("range read=%q %s", part, aws.ToString(rng.ContentRange))
			}
			head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("a/b/c.json")})
			if err != nil || aws.ToInt64(head.ContentLength) != int64(len(body)) || head.LastModified == nil {
				t.Fatalf("HeadObject=%+v,%v", head, err)
			}
			_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket})
			if code(err) != "BucketNotEmpty" {
				t.Fatalf("DeleteBucket non-empty: %v, want BucketNotEmpty", err)
			}
			if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: aws.String("a/b/c.json")}); err != nil {
				t.Fatal(err)
			}
			_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("a/b/c.json")})
			var nsk *types.NoSuchKey
			if !errors.As(err, &nsk) {
				t.Fatalf("GetObject after delete: %v, want NoSuchKey", err)
			}
			_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("a/b/c.json")})
			var nf *types.NotFound
			if !errors.As(err, &nf) {
				t.Fatalf("HeadObject after delete: %v, want NotFound", err)
			}
			if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket}); err != nil {
				t.Fatal(err)
			}
			_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("x"), Body: strings.NewReader("x")})
			if code(err) != "NoSuchBucket" {
				t.Fatalf("PutObject into deleted bucket: %v, want NoSuchBucket", err)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	srv := penstocktest.StartConfig(t, func() server.Config {
		cfg := server.DefaultConfig()
		cfg.Listen, cfg.DataDir, cfg.Region = "127.0.0.1:0", t.TempDir(), "eu-west-1"
		return cfg
	}())
	c := pathClient(srv)
	ctx := t.Context()
	loc := &types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("mine"), CreateBucketConfiguration: loc}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("mine"), Key: aws.String("k"), Body: strings.NewReader("0123456789")}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"create twice outside us-east-1", func() error {
			_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("mine"), CreateBucketConfiguration: loc})
			return err
		}, "BucketAlreadyOwnedByYou"},
		{"invalid bucket name", func() error {
			_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("Bad_Name"), CreateBucketConfiguration: loc})
			return err
		}, "InvalidBucketName"},
		{"get from missing bucket", func() error {
			_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("nope"), Key: aws.String("k")})
			return err
		}, "NoSuchBucket"},
		{"list missing bucket", func() error {
			_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("nope")})
			return err
		}, "NoSuchBucket"},
		{"missing key", func() error {
			_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("mine"), Key: aws.String("absent")})
			return err
		}, "NoSuchKey"},
		{"range past the end", func() error {
			_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("mine"), Key: aws.String("k"), Range: aws.String("bytes=100-")})
			return err
		}, "InvalidRange"},
		{"bad Content-MD5", func() error {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("mine"), Key: aws.String("k2"), Body: strings.NewReader("abc"),
				ContentMD5: aws.String("1B2M2Y8AsgTpgAmY7PhCfg==")})
			return err
		}, "BadDigest"},
		{"delete missing bucket", func() error {
			_, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("nope")})
			return err
		}, "NoSuchBucket"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := code(tc.call()); got != tc.want {
				t.Fatalf("code %q, want %q", got, tc.want)
			}
		})
	}
}

func TestListObjectsV2(t *testing.T) {
	srv := penstocktest.Start(t, nil)
	c := pathClient(srv)
	ctx := t.Context()
	b := aws.String("listing")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	keys := []string{"a.txt", "dir/1", "dir/2", "dir/sub/3", "other/x", "z"}
	for _, k := range keys {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(in *s3.ListObjectsV2Input) (keys, prefixes []string, out *s3.ListObjectsV2Output) {
		in.Bucket = b
		out, err := c.ListObjectsV2(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		for _, p := range out.CommonPrefixes {
			prefixes = append(prefixes, aws.ToString(p.Prefix))
		}
		return keys, prefixes, out
	}
	cases := []struct {
		name           string
		in             s3.ListObjectsV2Input
		keys, prefixes string
		truncated      bool
	}{
		{"all", s3.ListObjectsV2Input{}, "a.txt dir/1 dir/2 dir/sub/3 other/x z", "", false},
		{"prefix", s3.ListObjectsV2Input{Prefix: aws.String("dir/")}, "dir/1 dir/2 dir/sub/3", "", false},
		{"delimiter", s3.ListObjectsV2Input{Delimiter: aws.String("/")}, "a.txt z", "dir/ other/", false},
		{"prefix and delimiter", s3.ListObjectsV2Input{Prefix: aws.String("dir/"), Delimiter: aws.String("/")}, "dir/1 dir/2", "dir/sub/", false},
		{"max keys", s3.ListObjectsV2Input{MaxKeys: aws.Int32(2)}, "a.txt dir/1", "", true},
		{"start after", s3.ListObjectsV2Input{StartAfter: aws.String("dir/2")}, "dir/sub/3 other/x z", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			k, p, out := list(&in)
			if strings.Join(k, " ") != tc.keys || strings.Join(p, " ") != tc.prefixes || aws.ToBool(out.IsTruncated) != tc.truncated {
				t.Fatalf("keys %v prefixes %v truncated %v; want %q %q %v", k, p, aws.ToBool(out.IsTruncated), tc.keys, tc.prefixes, tc.truncated)
			}
			if int(aws.ToInt32(out.KeyCount)) != len(k)+len(p) {
				t.Errorf("KeyCount=%d, want %d", aws.ToInt32(out.KeyCount), len(k)+len(p))
			}
		})
	}
	// Paging with continuation tokens, delimiter included: every key or
	// prefix exactly once.
	var all []string
	var token *string
	for page := 0; ; page++ {
		k, p, out := list(&s3.ListObjectsV2Input{MaxKeys: aws.Int32(1), Delimiter: aws.String("/"), ContinuationToken: token})
		all = append(all, append(k, p...)...)
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		token = out.NextContinuationToken
		if page > 10 {
			t.Fatal("paging does not end")
		}
	}
	if got := strings.Join(all, " "); got != "a.txt dir/ other/ z" {
		t.Fatalf("paged listing=%q", got)
	}
}

func TestCopyObject(t *testing.T) {
	srv := penstocktest.Start(t, nil)
	c := pathClient(srv)
	ctx := t.Context()
	for _, b := range []string{"src-bucket", "dst-bucket"} {
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	body := []byte("copy me")
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("src-bucket"), Key: aws.String("dir/a b.txt"), Body: bytes.NewReader(body),
		ContentType: aws.String("text/plain"), Metadata: map[string]string{"m": "1"}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst-bucket"), Key: aws.String("copy.txt"), CopySource: aws.String("src-bucket/dir/a%20b.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.CopyObjectResult.ETag) != etagOf(body) {
		t.Errorf("copy ETag=%s", aws.ToString(out.CopyObjectResult.ETag))
	}
	get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("dst-bucket"), Key: aws.String("copy.txt")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(got, body) || get.Metadata["m"] != "1" || aws.ToString(get.ContentType) != "text/plain" {
		t.Errorf("copied object %q meta %v type %s", got, get.Metadata, aws.ToString(get.ContentType))
	}
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst-bucket"), Key: aws.String("x"), CopySource: aws.String("src-bucket/missing")})
	if code(err) != "NoSuchKey" {
		t.Errorf("copy of a missing key: %v, want NoSuchKey", err)
	}
	_, err = c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("dst-bucket"), Key: aws.String("copy.txt"), CopySource: aws.String("dst-bucket/copy.txt")})
	if code(err) != "InvalidRequest" {
		t.Errorf("copy onto itself: %v, want InvalidRequest", err)
	}
}
