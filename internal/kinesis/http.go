package kinesis

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/penstock/penstock/internal/awsapi"
)

const targetPrefix = "Kinesis_20131202."

// maxBody bounds request bodies: a 10 MiB PutRecords in base64 JSON plus
// envelope fits.
const maxBody = 16 << 20

type handler func(ctx context.Context, r *reader) (any, error)

func (s *Service) handlers() map[string]handler {
	return map[string]handler{
		"CreateStream":                  s.createStream,
		"DeleteStream":                  s.deleteStream,
		"DescribeStream":                s.describeStream,
		"DescribeStreamSummary":         s.describeStreamSummary,
		"ListStreams":                   s.listStreams,
		"ListShards":                    s.listShards,
		"PutRecord":                     s.putRecord,
		"PutRecords":                    s.putRecords,
		"GetShardIterator":              s.getShardIterator,
		"GetRecords":                    s.getRecords,
		"SplitShard":                    s.splitShard,
		"MergeShards":                   s.mergeShards,
		"UpdateShardCount":              s.updateShardCount,
		"IncreaseStreamRetentionPeriod": s.increaseRetention,
		"DecreaseStreamRetentionPeriod": s.decreaseRetention,
		"AddTagsToStream":               s.addTagsToStream,
		"ListTagsForStream":             s.listTagsForStream,
		"RemoveTagsFromStream":          s.removeTagsFromStream,
		"TagResource":                   s.tagResource,
		"UntagResource":                 s.untagResource,
		"ListTagsForResource":           s.listTagsForResource,
		"UpdateStreamMode":              s.updateStreamMode,
		"UpdateMaxRecordSize":           s.updateMaxRecordSize,
		"DescribeLimits":                s.describeLimits,
		"RegisterStreamConsumer":        s.registerStreamConsumer,
		"DescribeStreamConsumer":        s.describeStreamConsumer,
		"ListStreamConsumers":           s.listStreamConsumers,
		"DeregisterStreamConsumer":      s.deregisterStreamConsumer,
		"SubscribeToShard":              nil, // streams; see ServeHTTP
	}
}

// ServeHTTP answers one Kinesis API call. Checks run in AWS's order (spec
// §1.2): method, empty body, content type, body syntax, operation, member
// types, constraints, then the operation itself.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-amzn-RequestId", awsapi.RequestID())
	w.Header().Set("x-amz-id-2", extendedRequestID())
	if r.Method != http.MethodPost {
		writeXMLError(w, http.StatusForbidden, "AccessDeniedException", "Unable to determine service/operation name to be authorized")
		return
	}
	target := r.Header.Get("X-Amz-Target")
	opName, hasPrefix := strings.CutPrefix(target, targetPrefix)
	h, known := s.ops[opName]
	if !hasPrefix {
		h, known = nil, false
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isCBOR := ct == contentCBOR
	isJSON := ct == contentJSON || ct == "application/x-amz-json-1.0"

	body, err := readBody(r.Body, r.ContentLength)
	if err != nil {
		writeError(w, errSerialization("reading request body: "+err.Error()), isCBOR)
		return
	}
	if len(body) > maxBody {
		writeXMLError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Request entity too large")
		return
	}
	if len(body) == 0 {
		if !known {
			writeError(w, &awsapi.Error{Code: codeUnknownOperation, Status: statusClient}, isCBOR)
		} else {
			writeError(w, &awsapi.Error{Code: codeSerialization, Status: statusClient}, isCBOR)
		}
		return
	}
	if !isCBOR && !isJSON {
		if !strings.Contains(target, ".") {
			writeXMLError(w, http.StatusForbidden, "AccessDeniedException", "Unable to determine service/operation name to be authorized")
		} else {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, "<UnknownOperationException/>\n")
		}
		return
	}
	// The data plane's usual JSON requests skip the generic tree (see
	// fastpath.go); anything unusual takes the generic path below.
	var m map[string]any
	fast := false
	if known && !isCBOR {
		switch opName {
		case "PutRecords":
			if req, ok := fastPutRecords(body); ok {
				fast = true
				h = func(ctx context.Context, _ *reader) (any, error) { return s.putRecordsTyped(ctx, &req) }
			}
		case "PutRecord":
			if req, ok := fastPutRecord(body); ok {
				fast = true
				h = func(ctx context.Context, _ *reader) (any, error) { return s.putRecordTyped(ctx, &req) }
			}
		case "GetRecords":
			if req, ok := fastGetRecords(body); ok {
				fast = true
				h = func(ctx context.Context, _ *reader) (any, error) { return s.getRecordsTyped(ctx, &req) }
			}
		}
	}
	if !fast {
		if m, err = decodeBody(body, isCBOR); err != nil {
			writeError(w, asAWS(err), isCBOR)
			return
		}
	}
	if !known {
		writeError(w, &awsapi.Error{Code: codeUnknownOperation, Status: statusClient}, isCBOR)
		return
	}
	if opName == "SubscribeToShard" {
		h = func(ctx context.Context, rd *reader) (any, error) {
			return nil, s.subscribeToShard(ctx, w, rd)
		}
	}
	out, err := s.call(r.Context(), h, &reader{m: m, isCBOR: isCBOR})
	if opName == "SubscribeToShard" && err == nil {
		return // the event stream was the answer
	}
	if err != nil {
		ae := asAWS(err)
		if ae.Status >= 500 {
			s.log.Error("kinesis request failed", "op", opName, "err", err)
			ae = &awsapi.Error{Code: codeInternalFailure, Status: ae.Status, Message: msgInternalFailure}
		}
		writeError(w, ae, isCBOR)
		return
	}
	writeOK(w, out, isCBOR)
}

// call runs a handler, turning a panic into an InternalFailure so bad input
// never kills the server.
func (s *Service) call(ctx context.Context, h handler, r *reader) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("kinesis handler panic", "panic", p)
			err = errInternal(errors.New("panic"))
		}
	}()
	return h(ctx, r)
}

func contentType(isCBOR bool) string {
	if isCBOR {
		return contentCBOR
	}
	return contentJSON
}

func writeOK(w http.ResponseWriter, out any, isCBOR bool) {
	w.Header().Set("Content-Type", contentType(isCBOR))
	if out == nil {
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	}
	if g, ok := out.(*getRecordsOut); ok && !isCBOR {
		g.writeHTTP(w)
		return
	}
	if a, ok := out.(jsonAppender); ok {
		if !isCBOR {
			buf := getBuf()
			b := a.appendJSON(*buf)
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(b)
			*buf = b
			putBuf(buf)
			return
		}
		out = a.tree()
	}
	b, err := encodeBody(out, isCBOR)
	if err != nil {
		writeError(w, errInternal(err), isCBOR)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, e *awsapi.Error, isCBOR bool) {
	body := map[string]any{"__type": e.Code}
	if e.Message != "" {
		body["message"] = e.Message
	}
	b, _ := encodeBody(body, isCBOR)
	w.Header().Set("Content-Type", contentType(isCBOR))
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	status := e.Status
	if status == 0 {
		status = statusClient
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeXMLError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, "<"+code+">\n  <Message>"+msg+"</Message>\n</"+code+">\n")
}

func extendedRequestID() string {
	b := make([]byte, 72)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// readBody is io.ReadAll(io.LimitReader(body, maxBody+1)) with the buffer
// sized from Content-Length up front (no regrowing and copying of large
// PutRecords bodies).
func readBody(body io.Reader, contentLength int64) ([]byte, error) {
	if contentLength <= 0 || contentLength > maxBody {
		return io.ReadAll(io.LimitReader(body, maxBody+1))
	}
	lr := io.LimitReader(body, maxBody+1)
	b := make([]byte, 0, contentLength+1) // +1: the read that sees EOF needs room
	for {
		n, err := lr.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}
