package lambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/penstock/penstock/internal/awsapi"
	"github.com/penstock/penstock/internal/runtime"
)

// Invoke payload limits (esm.md §11).
const (
	maxSyncPayload  = 6291456
	maxAsyncPayload = 1048576
)

// FunctionInfo is what the mapping engine needs to know about a function.
type FunctionInfo struct {
	Name, ARN, Role, Runtime string
}

// Function looks a function up by name, partial ARN or ARN. A missing
// function (or a qualifier other than $LATEST) is ErrFunctionNotFound.
func (s *Service) Function(ctx context.Context, nameOrARN string) (FunctionInfo, error) {
	ref, err := parseFunctionName(nameOrARN)
	if err != nil {
		return FunctionInfo{}, err
	}
	if ref.Qualifier != "" && ref.Qualifier != latest {
		return FunctionInfo{}, errNotFound(s.functionARN(ref.Name) + ":" + ref.Qualifier)
	}
	rec, err := s.cached(ctx, ref.Name)
	if err != nil {
		return FunctionInfo{}, err
	}
	return FunctionInfo{Name: rec.Name, ARN: s.functionARN(rec.Name), Role: rec.Role, Runtime: rec.Runtime}, nil
}

// Invoke runs the function synchronously in process (the mapping engine's
// path; the HTTP Invoke handler uses it too). Function errors are in the
// Result (FunctionError "Unhandled"), not in err. err is an *awsapi.Error
// for API-level failures: not found (also ErrFunctionNotFound), payload
// too large, throttled (also runtime.ErrThrottled).
func (s *Service) Invoke(ctx context.Context, nameOrARN string, payload []byte, o runtime.InvokeOptions) (*runtime.Result, error) {
	ref, err := parseFunctionName(nameOrARN)
	if err != nil {
		return nil, err
	}
	return s.invoke(ctx, ref, payload, o)
}

// prepare resolves the function an invocation runs and applies the
// checks that come before running it.
func (s *Service) prepare(ctx context.Context, ref ref) (*record, error) {
	if ref.Qualifier != "" && ref.Qualifier != latest {
		return nil, errNotFound(s.functionARN(ref.Name) + ":" + ref.Qualifier)
	}
	rec, err := s.cached(ctx, ref.Name)
	if errors.Is(err, ErrFunctionNotFound) {
		return nil, errNotFound(s.functionARN(ref.Name) + ":" + latest)
	}
	if err != nil {
		return nil, err
	}
	if rec.Reserved != nil && *rec.Reserved == 0 {
		return nil, errThrottled("ReservedFunctionConcurrentInvocationLimitExceeded")
	}
	if rec.Live == nil {
		if rec, err = s.waitActive(ctx, ref.Name); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

func (s *Service) invoke(ctx context.Context, ref ref, payload []byte, o runtime.InvokeOptions) (*runtime.Result, error) {
	if len(payload) > maxSyncPayload {
		return nil, errTooLarge(maxSyncPayload, "InvokeFunction")
	}
	rec, err := s.prepare(ctx, ref)
	if err != nil {
		return nil, err
	}
	return s.run(ctx, rec, payload, o)
}

// run invokes the live configuration of rec.
func (s *Service) run(ctx context.Context, rec *record, payload []byte, o runtime.InvokeOptions) (*runtime.Result, error) {
	lv := rec.Live
	dir, err := s.code.path(ctx, lv.Code, nil)
	if err != nil {
		return nil, fmt.Errorf("preparing code of %s: %w", rec.Name, err)
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if o.RequestID == "" {
		o.RequestID = awsapi.RequestID()
	}
	spec := &runtime.Spec{
		Name: rec.Name, ARN: s.functionARN(rec.Name), Version: latest,
		Runtime: lv.Runtime, Handler: lv.Handler, CodeDir: dir, Revision: lv.RevisionID,
		Timeout: time.Duration(lv.Timeout) * time.Second, MemoryMB: lv.MemorySize, Env: lv.Env,
	}
	if rec.Reserved != nil {
		spec.Concurrency = *rec.Reserved
	}
	res, err := s.rt.Invoke(ctx, spec, payload, o)
	if errors.Is(err, runtime.ErrThrottled) {
		reason := "ConcurrentInvocationLimitExceeded"
		if rec.Reserved != nil {
			reason = "ReservedFunctionConcurrentInvocationLimitExceeded"
		}
		return nil, errThrottled(reason)
	}
	if err != nil {
		return nil, fmt.Errorf("invoking %s: %w", rec.Name, err)
	}
	return res, nil
}

// invokeHTTP is POST /2015-03-31/functions/{FunctionName}/invocations.
func (s *Service) invokeHTTP(w http.ResponseWriter, r *http.Request, seg string) error {
	typ := r.Header.Get("X-Amz-Invocation-Type")
	if typ == "" {
		typ = "RequestResponse"
	}
	logType := r.Header.Get("X-Amz-Log-Type")
	var v validation
	switch typ {
	case "RequestResponse", "Event", "DryRun":
	default:
		v.add(typ, "invocationType", "satisfy enum value set: [Event, RequestResponse, DryRun]")
	}
	if logType != "" && logType != "None" && logType != "Tail" {
		v.add(logType, "logType", "satisfy enum value set: [None, Tail]")
	}
	if err := v.err(); err != nil {
		return err
	}
	ref, err := pathFunctionName(seg, r.URL.Query())
	if err != nil {
		return err
	}
	limit := int64(maxSyncPayload)
	if typ == "Event" {
		limit = maxAsyncPayload
	}
	payload, err := readBody(r, limit, "InvokeFunction")
	if err != nil {
		return err
	}
	if len(payload) > 0 && !json.Valid(payload) {
		var x any
		jerr := json.Unmarshal(payload, &x)
		return apiErr("InvalidRequestContentException", "Could not parse request body into json: Could not parse payload into json: %v", jerr)
	}
	o := runtime.InvokeOptions{RequestID: awsapi.RequestID(), TailLog: logType == "Tail"}
	if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
		if typ != "RequestResponse" {
			// AWS passes client context to synchronous invocations only.
		} else if b, err := base64.StdEncoding.DecodeString(cc); err != nil || !json.Valid(b) {
			return errInvalid("Client context must be a valid Base64-encoded JSON object.")
		} else if len(cc) > 3583 {
			return errInvalid("Client context must be smaller than 3583 bytes.")
		} else {
			o.ClientContext = string(b)
		}
	}
	w.Header().Set("X-Amzn-RequestId", o.RequestID)
	ctx := r.Context()
	switch typ {
	case "DryRun":
		if _, err := s.prepareDry(ctx, ref); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	case "Event":
		if err := s.enqueue(ctx, ref, payload, o.RequestID); err != nil {
			return err
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	res, err := s.invoke(ctx, ref, payload, o)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amz-Executed-Version", latest)
	if res.FunctionError != "" {
		h.Set("X-Amz-Function-Error", res.FunctionError)
	}
	if o.TailLog {
		h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString([]byte(lastBytes(res.LogTail, 4096))))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(res.Payload)
	return nil
}

// prepareDry checks that an invocation would be accepted, without running.
func (s *Service) prepareDry(ctx context.Context, ref ref) (*record, error) {
	if ref.Qualifier != "" && ref.Qualifier != latest {
		return nil, errNotFound(s.functionARN(ref.Name) + ":" + ref.Qualifier)
	}
	rec, _, err := s.load(ctx, ref.Name)
	if errors.Is(err, ErrFunctionNotFound) {
		return nil, errNotFound(s.functionARN(ref.Name) + ":" + latest)
	}
	return rec, err
}

// lastBytes keeps the last n bytes of s, starting at a UTF-8 boundary.
func lastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	for i := 0; i < 4 && i < len(s); i++ {
		if s[i]&0xC0 != 0x80 {
			return s[i:]
		}
	}
	return s
}
