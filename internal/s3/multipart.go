package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Multipart uploads: the upload record is in the S3_uploads KV bucket, the
// parts in the S3_MPU object store (upper case: no bucket's store can have
// that name) as "<uploadId>/<part number>". Complete streams the parts, in
// order, into the bucket's object store and deletes them.
const (
	uploadsKV = "S3_uploads"
	partStore = "S3_MPU"
	minPart   = 5 << 20 // every part but the last
)

type upload struct {
	ID      string      `json:"id"`
	Bucket  string      `json:"bucket"`
	Key     string      `json:"key"`
	Headers nats.Header `json:"headers"`
	Created time.Time   `json:"created"`
}

func (s *Service) uploads(ctx context.Context) (jetstream.KeyValue, jetstream.ObjectStore, error) {
	kv, err := s.store.KV(ctx, uploadsKV)
	if err != nil {
		return nil, nil, err
	}
	os, err := s.store.ObjectStore(ctx, partStore)
	if err != nil {
		return nil, nil, err
	}
	return kv, os, nil
}

func noSuchUpload(id string) error {
	return s3Error("NoSuchUpload", map[string]any{"UploadId": id})
}

func (s *Service) loadUpload(ctx context.Context, kv jetstream.KeyValue, bucket, key, id string) (*upload, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, noSuchUpload(id)
	}
	e, err := kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, noSuchUpload(id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading upload %s: %w", id, err)
	}
	var u upload
	if err := json.Unmarshal(e.Value(), &u); err != nil {
		return nil, fmt.Errorf("decoding upload %s: %w", id, err)
	}
	if u.Bucket != bucket || u.Key != key {
		return nil, noSuchUpload(id)
	}
	return &u, nil
}

func (s *Service) createUpload(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	ctx := r.Context()
	if _, err := s.objects(ctx, bucket); err != nil {
		return err
	}
	kv, _, err := s.uploads(ctx)
	if err != nil {
		return err
	}
	u := upload{ID: uuid.NewString(), Bucket: bucket, Key: key, Headers: objectMeta(r), Created: s.now().UTC()}
	b, _ := json.Marshal(u)
	if _, err := kv.Create(ctx, u.ID, b); err != nil {
		return fmt.Errorf("creating upload: %w", err)
	}
	type result struct {
		XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
		Xmlns    string   `xml:"xmlns,attr"`
		Bucket   string   `xml:"Bucket"`
		Key      string   `xml:"Key"`
		UploadID string   `xml:"UploadId"`
	}
	writeXML(w, http.StatusOK, result{Xmlns: s3xmlns, Bucket: bucket, Key: key, UploadID: u.ID})
	return nil
}

func (s *Service) uploadPart(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	ctx := r.Context()
	q := r.URL.Query()
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || n < 1 || n > 10000 {
		return s3Error("InvalidArgument", map[string]any{"ArgumentName": "partNumber", "ArgumentValue": q.Get("partNumber")},
			"Part number must be an integer between 1 and 10000, inclusive")
	}
	kv, parts, err := s.uploads(ctx)
	if err != nil {
		return err
	}
	if _, err := s.loadUpload(ctx, kv, bucket, key, q.Get("uploadId")); err != nil {
		return err
	}
	body, err := s.readBody(r)
	if err != nil {
		return err
	}
	etag := `"` + hex.EncodeToString(md5sum(body)) + `"`
	h := nats.Header{}
	h.Set(hdrETag, etag)
	if _, err := parts.Put(ctx, jetstream.ObjectMeta{Name: q.Get("uploadId") + "/" + strconv.Itoa(n), Headers: h}, bytes.NewReader(body)); err != nil {
		return fmt.Errorf("storing part %d: %w", n, err)
	}
	w.Header().Set("ETag", etag)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Service) completeUpload(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	ctx := r.Context()
	id := r.URL.Query().Get("uploadId")
	kv, parts, err := s.uploads(ctx)
	if err != nil {
		return err
	}
	u, err := s.loadUpload(ctx, kv, bucket, key, id)
	if err != nil {
		return err
	}
	body, err := s.readBody(r)
	if err != nil {
		return err
	}
	var req struct {
		Parts []struct {
			PartNumber int    `xml:"PartNumber"`
			ETag       string `xml:"ETag"`
		} `xml:"Part"`
	}
	if err := xml.Unmarshal(body, &req); err != nil || len(req.Parts) == 0 {
		return s3Error("MalformedXML", nil)
	}
	var infos []*jetstream.ObjectInfo
	var sums []byte
	for i, p := range req.Parts {
		if i > 0 && p.PartNumber <= req.Parts[i-1].PartNumber {
			return s3Error("InvalidPartOrder", nil)
		}
	}
	for i, p := range req.Parts {
		info, err := parts.GetInfo(ctx, id+"/"+strconv.Itoa(p.PartNumber))
		if err != nil || strings.Trim(info.Headers.Get(hdrETag), `"`) != strings.Trim(p.ETag, `"`) {
			return s3Error("InvalidPart", nil)
		}
		if i < len(req.Parts)-1 && info.Size < minPart {
			return s3Error("EntityTooSmall", nil)
		}
		sum, _ := hex.DecodeString(strings.Trim(p.ETag, `"`))
		sums = append(sums, sum...)
		infos = append(infos, info)
	}
	os, err := s.objects(ctx, bucket)
	if err != nil {
		return err
	}
	all := md5.Sum(sums)
	etag := fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(all[:]), len(infos))
	h := nats.Header{}
	for k, v := range u.Headers {
		h[k] = append([]string(nil), v...)
	}
	h.Set(hdrETag, etag)
	h.Set(hdrModified, s.now().UTC().Format(time.RFC3339Nano))
	if _, err := os.Put(ctx, jetstream.ObjectMeta{Name: key, Headers: h}, &partsReader{ctx: ctx, store: parts, infos: infos}); err != nil {
		return fmt.Errorf("assembling %s/%s: %w", bucket, key, err)
	}
	s.dropUpload(ctx, kv, parts, id)
	type result struct {
		XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
		Xmlns    string   `xml:"xmlns,attr"`
		Location string   `xml:"Location"`
		Bucket   string   `xml:"Bucket"`
		Key      string   `xml:"Key"`
		ETag     string   `xml:"ETag"`
	}
	writeXML(w, http.StatusOK, result{Xmlns: s3xmlns, Location: "/" + bucket + "/" + key, Bucket: bucket, Key: key, ETag: etag})
	return nil
}

func (s *Service) abortUpload(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	ctx := r.Context()
	id := r.URL.Query().Get("uploadId")
	kv, parts, err := s.uploads(ctx)
	if err != nil {
		return err
	}
	if _, err := s.loadUpload(ctx, kv, bucket, key, id); err != nil {
		return err
	}
	s.dropUpload(ctx, kv, parts, id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// dropUpload deletes an upload's parts and record (best effort: leftovers
// only cost space).
func (s *Service) dropUpload(ctx context.Context, kv jetstream.KeyValue, parts jetstream.ObjectStore, id string) {
	if infos, err := parts.List(ctx); err == nil {
		for _, info := range infos {
			if strings.HasPrefix(info.Name, id+"/") {
				_ = parts.Delete(ctx, info.Name)
			}
		}
	}
	_ = kv.Purge(ctx, id)
}

// partsReader streams parts one after the other.
type partsReader struct {
	ctx   context.Context
	store jetstream.ObjectStore
	infos []*jetstream.ObjectInfo
	cur   jetstream.ObjectResult
}

func (p *partsReader) Read(b []byte) (int, error) {
	for {
		if p.cur == nil {
			if len(p.infos) == 0 {
				return 0, io.EOF
			}
			res, err := p.store.Get(p.ctx, p.infos[0].Name)
			if err != nil {
				return 0, err
			}
			p.cur, p.infos = res, p.infos[1:]
		}
		n, err := p.cur.Read(b)
		if err == io.EOF {
			p.cur.Close()
			p.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

// objectMeta collects the request headers an object keeps.
func objectMeta(r *http.Request) nats.Header {
	h := nats.Header{}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = "binary/octet-stream"
	}
	h.Set(hdrType, ct)
	for k, v := range r.Header {
		if strings.HasPrefix(http.CanonicalHeaderKey(k), hdrMetaPre) && len(v) > 0 {
			h.Set(http.CanonicalHeaderKey(k), v[0])
		}
	}
	for _, k := range passHeaders {
		if v := r.Header.Get(k); v != "" && strings.TrimSpace(v) != "aws-chunked" {
			h.Set(k, strings.TrimPrefix(strings.TrimPrefix(v, "aws-chunked,"), "aws-chunked, "))
		}
	}
	return h
}

// listParts serves GET ?uploadId (ListParts), all parts in one page.
func (s *Service) listParts(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	ctx := r.Context()
	id := r.URL.Query().Get("uploadId")
	kv, parts, err := s.uploads(ctx)
	if err != nil {
		return err
	}
	if _, err := s.loadUpload(ctx, kv, bucket, key, id); err != nil {
		return err
	}
	type part struct {
		PartNumber   int    `xml:"PartNumber"`
		LastModified string `xml:"LastModified"`
		ETag         string `xml:"ETag"`
		Size         int64  `xml:"Size"`
	}
	type result struct {
		XMLName     xml.Name `xml:"ListPartsResult"`
		Xmlns       string   `xml:"xmlns,attr"`
		Bucket      string   `xml:"Bucket"`
		Key         string   `xml:"Key"`
		UploadID    string   `xml:"UploadId"`
		IsTruncated bool     `xml:"IsTruncated"`
		Parts       []part   `xml:"Part"`
	}
	res := result{Xmlns: s3xmlns, Bucket: bucket, Key: key, UploadID: id}
	if infos, err := parts.List(ctx); err == nil {
		for _, info := range infos {
			rest, ok := strings.CutPrefix(info.Name, id+"/")
			if !ok {
				continue
			}
			n, _ := strconv.Atoi(rest)
			res.Parts = append(res.Parts, part{n, info.ModTime.UTC().Format("2006-01-02T15:04:05.000Z"), info.Headers.Get(hdrETag), int64(info.Size)})
		}
	}
	slices.SortFunc(res.Parts, func(a, b part) int { return a.PartNumber - b.PartNumber })
	writeXML(w, http.StatusOK, res)
	return nil
}

// listUploads serves GET /bucket?uploads (ListMultipartUploads), one page.
func (s *Service) listUploads(w http.ResponseWriter, r *http.Request, bucket string) error {
	ctx := r.Context()
	if _, err := s.objects(ctx, bucket); err != nil {
		return err
	}
	kv, _, err := s.uploads(ctx)
	if err != nil {
		return err
	}
	type up struct {
		Key       string `xml:"Key"`
		UploadID  string `xml:"UploadId"`
		Initiated string `xml:"Initiated"`
	}
	type result struct {
		XMLName     xml.Name `xml:"ListMultipartUploadsResult"`
		Xmlns       string   `xml:"xmlns,attr"`
		Bucket      string   `xml:"Bucket"`
		IsTruncated bool     `xml:"IsTruncated"`
		Uploads     []up     `xml:"Upload"`
	}
	res := result{Xmlns: s3xmlns, Bucket: bucket}
	prefix := r.URL.Query().Get("prefix")
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("listing uploads: %w", err)
	}
	var ids []string
	for k := range lister.Keys() {
		ids = append(ids, k)
	}
	_ = lister.Stop()
	for _, id := range ids {
		e, err := kv.Get(ctx, id)
		if err != nil {
			continue
		}
		var u upload
		if json.Unmarshal(e.Value(), &u) != nil || u.Bucket != bucket || !strings.HasPrefix(u.Key, prefix) {
			continue
		}
		res.Uploads = append(res.Uploads, up{u.Key, u.ID, u.Created.Format("2006-01-02T15:04:05.000Z")})
	}
	slices.SortFunc(res.Uploads, func(a, b up) int { return strings.Compare(a.Key+a.UploadID, b.Key+b.UploadID) })
	writeXML(w, http.StatusOK, res)
	return nil
}
