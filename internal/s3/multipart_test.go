package s3_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/penstock/penstock/internal/penstocktest"
)

func TestMultipartUpload(t *testing.T) {
	srv := penstocktest.Start(t, nil)
	c := pathClient(srv)
	ctx := t.Context()
	b := aws.String("mpu")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	part1 := bytes.Repeat([]byte("a"), 5<<20)
	part2 := []byte("tail")
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("big"), ContentType: aws.String("text/plain"),
		Metadata: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	var done []types.CompletedPart
	for i, p := range [][]byte{part1, part2} {
		out, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: aws.String("big"), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag})
	}
	// Error cases before completing: a wrong ETag, parts out of order.
	cases := []struct {
		name  string
		parts []types.CompletedPart
		want  string
	}{
		{"wrong etag", []types.CompletedPart{done[0], {PartNumber: aws.Int32(2), ETag: aws.String(`"00000000000000000000000000000000"`)}}, "InvalidPart"},
		{"out of order", []types.CompletedPart{done[1], done[0]}, "InvalidPartOrder"},
		{"missing part", []types.CompletedPart{done[0], {PartNumber: aws.Int32(3), ETag: done[1].ETag}}, "InvalidPart"},
	}
	for _, tc := range cases {
		_, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: aws.String("big"), UploadId: up.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: tc.parts}})
		if code(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	lp, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: b, Key: aws.String("big"), UploadId: up.UploadId})
	if err != nil || len(lp.Parts) != 2 || aws.ToInt64(lp.Parts[0].Size) != 5<<20 || aws.ToString(lp.Parts[1].ETag) != aws.ToString(done[1].ETag) {
		t.Fatalf("ListParts=%+v,%v", lp, err)
	}
	lu, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: b})
	if err != nil || len(lu.Uploads) != 1 || aws.ToString(lu.Uploads[0].UploadId) != aws.ToString(up.UploadId) || aws.ToString(lu.Uploads[0].Key) != "big" {
		t.Fatalf("ListMultipartUploads=%+v,%v", lu, err)
	}
	out, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: aws.String("big"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := md5.Sum(part1), md5.Sum(part2)
	all := md5.Sum(append(s1[:], s2[:]...))
	if want := fmt.Sprintf(`"%s-2"`, hex.EncodeToString(all[:])); aws.ToString(out.ETag) != want {
		t.Errorf("ETag=%s, want %s", aws.ToString(out.ETag), want)
	}
	get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("big")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(got, append(append([]byte{}, part1...), part2...)) || aws.ToString(get.ContentType) != "text/plain" || get.Metadata["k"] != "v" {
		t.Errorf("assembled object: %d bytes, type %s, meta %v", len(got), aws.ToString(get.ContentType), get.Metadata)
	}
	// The upload is gone once completed; an aborted one too.
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: aws.String("big"), UploadId: up.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader(part2)})
	if code(err) != "NoSuchUpload" {
		t.Errorf("UploadPart after complete: %v, want NoSuchUpload", err)
	}
	up2, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("other")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: b, Key: aws.String("other"), UploadId: up2.UploadId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: b, Key: aws.String("other"), UploadId: up2.UploadId})
	if code(err) != "NoSuchUpload" {
		t.Errorf("second abort: %v, want NoSuchUpload", err)
	}
	// Parts below 5 MiB except the last are refused at completion.
	up3, _ := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: b, Key: aws.String("small")})
	var small []types.CompletedPart
	for i := range 2 {
		o, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: aws.String("small"), UploadId: up3.UploadId, PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(part2)})
		if err != nil {
			t.Fatal(err)
		}
		small = append(small, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: o.ETag})
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: b, Key: aws.String("small"), UploadId: up3.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: small}})
	if code(err) != "EntityTooSmall" {
		t.Errorf("small parts: %v, want EntityTooSmall", err)
	}
}
