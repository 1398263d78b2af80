package s3

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

type content struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
	Owner        *owner `xml:"Owner,omitempty"`
}

type commonPrefix struct {
	Prefix string `xml:"Prefix"`
}

type listResult struct {
	XMLName               xml.Name       `xml:"ListBucketResult"`
	Xmlns                 string         `xml:"xmlns,attr"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	Marker                *string        `xml:"Marker,omitempty"`
	NextMarker            string         `xml:"NextMarker,omitempty"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	KeyCount              *int           `xml:"KeyCount,omitempty"`
	MaxKeys               int            `xml:"MaxKeys"`
	Delimiter             string         `xml:"Delimiter,omitempty"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	IsTruncated           bool           `xml:"IsTruncated"`
	Contents              []content      `xml:"Contents"`
	CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
}

// listObjects serves ListObjectsV2 (list-type=2) and ListObjects (v1).
// Pages are computed from the sorted key list; a continuation token is the
// base64 of the last key or common prefix returned.
func (s *Service) listObjects(w http.ResponseWriter, r *http.Request, bucket string, q url.Values) error {
	ctx := r.Context()
	os, err := s.objects(ctx, bucket)
	if err != nil {
		return err
	}
	v2 := q.Get("list-type") == "2"
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	maxKeys := 1000
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return s3Error("InvalidArgument", map[string]any{"ArgumentName": "max-keys", "ArgumentValue": v}, "Provided max-keys not an integer or within integer range")
		}
		maxKeys = min(n, 1000)
	}
	encURL := q.Get("encoding-type") == "url"
	if et := q.Get("encoding-type"); et != "" && et != "url" {
		return s3Error("InvalidArgument", map[string]any{"ArgumentName": "encoding-type", "ArgumentValue": et}, "Invalid Encoding Method specified in Request")
	}
	after := ""
	res := listResult{Xmlns: s3xmlns, Name: bucket, Prefix: prefix, MaxKeys: maxKeys, Delimiter: delim}
	if v2 {
		res.StartAfter = q.Get("start-after")
		after = res.StartAfter
		if tok := q.Get("continuation-token"); tok != "" {
			b, err := base64.RawURLEncoding.DecodeString(tok)
			if err != nil {
				return s3Error("InvalidArgument", map[string]any{"ArgumentName": "continuation-token"}, "The continuation token provided is incorrect")
			}
			res.ContinuationToken = tok
			after = max(after, string(b))
		}
	} else {
		m := q.Get("marker")
		res.Marker = &m
		after = m
	}
	if encURL {
		res.EncodingType = "url"
	}
	infos, err := os.List(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
		return fmt.Errorf("listing %s: %w", bucket, err)
	}
	slices.SortFunc(infos, func(a, b *jetstream.ObjectInfo) int { return strings.Compare(a.Name, b.Name) })
	res.Contents = []content{}
	count, last := 0, ""
	for _, info := range infos {
		k := info.Name
		if !strings.HasPrefix(k, prefix) || k <= after {
			continue
		}
		cp := ""
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				cp = k[:len(prefix)+i+len(delim)]
			}
		}
		if cp != "" && (cp == last || (after != "" && strings.HasPrefix(after, cp))) {
			continue // this common prefix was already returned
		}
		if count == maxKeys {
			res.IsTruncated = true
			break
		}
		count++
		if cp != "" {
			res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{enc(cp, encURL)})
			last = cp
			continue
		}
		last = k
		mod, err := time.Parse(time.RFC3339Nano, info.Headers.Get(hdrModified))
		if err != nil {
			mod = info.ModTime
		}
		c := content{Key: enc(k, encURL), LastModified: mod.UTC().Format("2006-01-02T15:04:05.000Z"),
			ETag: info.Headers.Get(hdrETag), Size: int64(info.Size), StorageClass: "STANDARD"}
		if !v2 || q.Get("fetch-owner") == "true" {
			o := s.owner()
			c.Owner = &o
		}
		res.Contents = append(res.Contents, c)
	}
	if v2 {
		res.KeyCount = &count
		if res.IsTruncated {
			// A common prefix as the token makes the next page skip every key
			// under it (keys under cp sort after cp; the HasPrefix check above).
			res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(last))
		}
	} else if res.IsTruncated && delim != "" {
		res.NextMarker = enc(last, encURL)
	}
	if encURL {
		res.Prefix, res.Delimiter, res.StartAfter = enc(prefix, true), enc(delim, true), enc(res.StartAfter, true)
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

// enc applies encoding-type=url as S3 does (slashes kept).
func enc(s string, on bool) string {
	if !on {
		return s
	}
	return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/")
}
