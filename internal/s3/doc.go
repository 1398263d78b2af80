// Package s3 serves the Amazon S3 REST API subset penstock needs for
// on-failure destinations and everyday CLI use: buckets (create, list,
// head, delete, location), objects (put, get with Range and conditional
// headers, head, delete, multi-delete, copy), multipart uploads (create,
// upload part, complete, abort, list parts and uploads: multipart.go) and
// listing (ListObjectsV2 with prefix, delimiter/CommonPrefixes, max-keys,
// continuation tokens, start-after, encoding-type=url; ListObjects v1 with
// markers).
//
// # Addressing
//
// Path style (http://host/bucket/key) and virtual-host style
// (http://bucket.localhost:port/key, or any <bucket>.s3.<domain>). Requests
// without a signature and without X-Amz-Target are routed here by the
// front (curl http://host/bucket/key works); unsigned GET /?Action=... and
// /_penstock/ paths are handed to Options.Fallback (SNS's confirmation and
// unsubscribe links).
//
// # Storage
//
// One JetStream object store per bucket, S3_<bucket> with '.' mapped to
// '_' (bucket names cannot contain '_', so the mapping is one-to-one);
// bucket records in the S3_buckets KV bucket. Object metadata (ETag,
// Content-Type, Last-Modified, CRC32, x-amz-meta-*, Content-Encoding/
// Disposition/Language, Cache-Control, Expires) is kept in the object's
// headers. Listing reads the store's object infos and sorts them: fine for
// dead-letter buckets, linear in the bucket's object count.
//
// # Uploads
//
// ETag is the quoted hex MD5 of the body. aws-chunked bodies
// (x-amz-content-sha256: STREAMING-..., Content-Encoding: aws-chunked) are
// decoded, with or without chunk signatures, and their trailers read: a
// CRC32 or CRC32C checksum in a header or trailer is verified (BadDigest),
// as is Content-MD5. GetObject returns x-amz-checksum-crc32 when the client
// sends x-amz-checksum-mode: ENABLED. Signatures are not verified (penstock
// accepts any credentials).
//
// # Choices and UNCONFIRMED behaviour
//
//   - Bodies are buffered in memory (Options.MaxObjectSize, default 1 GiB).
//   - Re-creating your own bucket answers 200 in us-east-1 and
//     BucketAlreadyOwnedByYou elsewhere, as AWS does.
//   - Versioning, ACLs, policies, CORS, lifecycle, tagging, UploadPartCopy
//     and other subresources answer NotImplemented (501), never a fake
//     success. ListParts and ListMultipartUploads answer in one page.
//   - Multipart objects carry no stored CRC32 (GetObject then returns no
//     x-amz-checksum-crc32; the SDKs skip validation), as AWS's composite
//     checksums are not computed.
package s3
