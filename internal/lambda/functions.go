package lambda

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/penstock/penstock/internal/runtime"
)

type codeInput struct {
	ZipFile         []byte  `json:"ZipFile"`
	S3Bucket        *string `json:"S3Bucket"`
	S3Key           *string `json:"S3Key"`
	S3ObjectVersion *string `json:"S3ObjectVersion"`
	ImageURI        *string `json:"ImageUri"`
}

type createRequest struct {
	FunctionName *string `json:"FunctionName"`
	settings
	Code          *codeInput        `json:"Code"`
	Publish       bool              `json:"Publish"`
	PackageType   *string           `json:"PackageType"`
	Architectures []string          `json:"Architectures"`
	Tags          map[string]string `json:"Tags"`
}

func checkArchitectures(v *validation, a []string) {
	if a == nil {
		return
	}
	if len(a) != 1 {
		v.add(fmt.Sprintf("%v", a), "architectures", "have length less than or equal to 1")
		return
	}
	if a[0] != "x86_64" && a[0] != "arm64" {
		v.add(fmt.Sprintf("[%s]", a[0]), "architectures", "satisfy enum value set: [x86_64, arm64]")
	}
}

// zipInput validates the code source of CreateFunction/UpdateFunctionCode.
func zipInput(c *codeInput) ([]byte, error) {
	switch {
	case c == nil:
		var v validation
		v.add(nil, "code", "not be null")
		return nil, v.err()
	case c.ImageURI != nil:
		return nil, errInvalid("penstock runs Zip packages only; container images (ImageUri) are not supported.")
	case c.S3Bucket != nil || c.S3Key != nil:
		return nil, errInvalid("penstock does not fetch deployment packages from S3; upload the package with ZipFile (--zip-file fileb://function.zip).")
	case len(c.ZipFile) == 0:
		return nil, errInvalid("Please provide a source for function code.")
	}
	if err := checkZip(c.ZipFile); err != nil {
		return nil, err
	}
	return c.ZipFile, nil
}

// storeCode puts the package in the object store and unpacks it on this
// node.
func (s *Service) storeCode(ctx context.Context, name string, zip []byte) (code, error) {
	b64, hx := digest(zip)
	cd := code{Sha256: b64, Hex: hx, Size: int64(len(zip)), Object: name + "/" + hx}
	if err := s.code.put(ctx, cd.Object, zip); err != nil {
		return code{}, err
	}
	if _, err := s.code.path(ctx, cd, zip); err != nil {
		return code{}, err
	}
	return cd, nil
}

func (s *Service) createFunction(w http.ResponseWriter, r *http.Request) error {
	var req createRequest
	if err := decodeJSON(r, maxRequestBody, "CreateFunction", &req); err != nil {
		return err
	}
	var v validation
	var name string
	if req.FunctionName == nil {
		v.add(nil, "functionName", "not be null")
	} else if ref, err := parseFunctionName(*req.FunctionName); err != nil {
		return err
	} else if ref.Qualifier != "" {
		v.add(req.FunctionName, "functionName", "satisfy regular expression pattern: "+functionNamePattern)
	} else {
		name = ref.Name
	}
	if req.Role == nil {
		v.add(nil, "role", "not be null")
	}
	if req.Code == nil {
		v.add(nil, "code", "not be null")
	}
	req.validate(&v)
	checkArchitectures(&v, req.Architectures)
	if req.PackageType != nil && *req.PackageType != "Zip" && *req.PackageType != "Image" {
		v.add(req.PackageType, "packageType", "satisfy enum value set: [Zip, Image]")
	}
	if err := v.err(); err != nil {
		return err
	}
	if req.PackageType != nil && *req.PackageType == "Image" {
		return errInvalid("penstock runs Zip packages only; PackageType Image is not supported.")
	}
	if req.Runtime == nil || req.Handler == nil {
		return errInvalid("Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	if err := req.semantic(); err != nil {
		return err
	}
	if req.Publish {
		return errInvalid("penstock does not publish function versions; create the function without --publish and invoke $LATEST.")
	}
	if err := runtime.CheckRuntime(*req.Runtime); err != nil {
		return errInvalid("The runtime parameter of %s is not supported by this penstock server: %v", *req.Runtime, err)
	}
	zip, err := zipInput(req.Code)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if _, _, err := s.load(ctx, name); err == nil {
		return apiErr("ResourceConflictException", "Function already exist: %s", name)
	}
	cd, err := s.storeCode(ctx, name, zip)
	if err != nil {
		return err
	}
	rec := &record{
		Name: name, Timeout: 3, MemorySize: 128,
		Architectures: []string{"x86_64"}, EphemeralStorage: 512, TracingMode: "PassThrough",
		LogFormat: "Text", LogGroup: "/aws/lambda/" + name,
		Code: cd, LastModified: time.Now(), RevisionID: uuid.NewString(),
		State: statePending, StateReason: reasonCreating, StateReasonCode: codeCreating,
		Tags: req.Tags,
	}
	if req.Architectures != nil {
		rec.Architectures = req.Architectures
	}
	req.apply(rec)
	if err := s.insert(ctx, rec); err != nil {
		// Not deleting the stored package: a concurrent create of the same
		// name with the same zip wrote the very same object.
		return err
	}
	s.queueActivation(name)
	return writeJSON(w, http.StatusCreated, s.configuration(rec, false))
}

// lookup resolves a path FunctionName (with ?Qualifier=) to a stored
// function. Only $LATEST exists.
func (s *Service) lookup(ctx context.Context, seg string, q url.Values) (*record, uint64, error) {
	ref, err := pathFunctionName(seg, q)
	if err != nil {
		return nil, 0, err
	}
	if ref.Qualifier != "" && ref.Qualifier != latest {
		return nil, 0, errNotFound(s.functionARN(ref.Name) + ":" + ref.Qualifier)
	}
	return s.load(ctx, ref.Name)
}

func (s *Service) getFunction(w http.ResponseWriter, r *http.Request, seg string) error {
	rec, _, err := s.lookup(r.Context(), seg, r.URL.Query())
	if err != nil {
		return err
	}
	out := map[string]any{
		"Configuration": s.configuration(rec, false),
		"Code": map[string]string{
			"RepositoryType": "S3",
			"Location":       codeLocation(r, rec),
		},
	}
	if len(rec.Tags) > 0 {
		out["Tags"] = rec.Tags
	}
	if rec.Reserved != nil {
		out["Concurrency"] = map[string]int{"ReservedConcurrentExecutions": *rec.Reserved}
	}
	return writeJSON(w, http.StatusOK, out)
}

// codeLocation is where GetFunction's Code.Location points: penstock serves
// the package itself at /_penstock/code/<name>?sha256=<hex>.
func codeLocation(r *http.Request, rec *record) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/_penstock/code/" + rec.Name + "?sha256=" + rec.Code.Hex
}

func (s *Service) getFunctionConfiguration(w http.ResponseWriter, r *http.Request, seg string) error {
	rec, _, err := s.lookup(r.Context(), seg, r.URL.Query())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.configuration(rec, false))
}

func (s *Service) listFunctions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	max := 50
	if m := q.Get("MaxItems"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > 10000 {
			var v validation
			if err == nil && n > 10000 {
				v.add(m, "maxItems", "have value less than or equal to 10000")
			} else {
				v.add(m, "maxItems", "have value greater than or equal to 1")
			}
			return v.err()
		}
		max = min(n, 50)
	}
	after := ""
	if m := q.Get("Marker"); m != "" {
		b, err := base64.RawURLEncoding.DecodeString(m)
		if err != nil {
			return errInvalid("Invalid Marker: %s", m)
		}
		after = string(b)
	}
	recs, err := s.all(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Functions  []functionConfiguration `json:"Functions"`
		NextMarker string                  `json:"NextMarker,omitempty"`
	}{Functions: []functionConfiguration{}}
	for _, rec := range recs {
		if rec.Name <= after {
			continue
		}
		if len(out.Functions) == max {
			out.NextMarker = base64.RawURLEncoding.EncodeToString([]byte(out.Functions[len(out.Functions)-1].FunctionName))
			break
		}
		out.Functions = append(out.Functions, s.configuration(rec, true))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Service) deleteFunction(w http.ResponseWriter, r *http.Request, seg string) error {
	ctx := r.Context()
	ref, err := pathFunctionName(seg, r.URL.Query())
	if err != nil {
		return err
	}
	if ref.Qualifier == latest {
		return errInvalid("$LATEST version cannot be deleted without deleting the function.")
	}
	if ref.Qualifier != "" {
		return errNotFound(s.functionARN(ref.Name) + ":" + ref.Qualifier)
	}
	rec, rev, err := s.load(ctx, ref.Name)
	if err != nil {
		return err
	}
	if err := s.remove(ctx, ref.Name, rev); err != nil {
		if isCASConflict(err) {
			return errConflictUpdate(s.functionARN(ref.Name))
		}
		return err
	}
	s.rt.Evict(ref.Name)
	cleanup := context.WithoutCancel(ctx)
	if err := s.code.delete(cleanup, rec.Code.Object); err != nil {
		s.log.Warn("lambda: deleting code", "function", ref.Name, "err", err)
	}
	if rec.Live != nil && rec.Live.Code.Object != rec.Code.Object {
		_ = s.code.delete(cleanup, rec.Live.Code.Object)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// beginUpdate refuses an update while the function is not settled, and
// checks an optional RevisionId.
func (s *Service) beginUpdate(rec *record, revisionID *string) error {
	if rec.State == statePending {
		return apiErr("ResourceConflictException", "The operation cannot be performed at this time. The function is currently in the following state: %s", rec.State)
	}
	if rec.LastUpdateStatus == updInProgress {
		return errConflictUpdate(s.functionARN(rec.Name))
	}
	if revisionID != nil && *revisionID != rec.RevisionID {
		return apiErr("PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
	}
	return nil
}

func markUpdating(rec *record) {
	rec.LastModified = time.Now()
	rec.RevisionID = uuid.NewString()
	rec.LastUpdateStatus = updInProgress
	rec.LastUpdateStatusReason = reasonCreating
	rec.LastUpdateStatusReasonCode = codeCreating
}

func (s *Service) updateFunctionConfiguration(w http.ResponseWriter, r *http.Request, seg string) error {
	var req settings
	if err := decodeJSON(r, 1<<20, "UpdateFunctionConfiguration", &req); err != nil {
		return err
	}
	var v validation
	req.validate(&v)
	if err := v.err(); err != nil {
		return err
	}
	if err := req.semantic(); err != nil {
		return err
	}
	if req.Runtime != nil {
		if err := runtime.CheckRuntime(*req.Runtime); err != nil {
			return errInvalid("The runtime parameter of %s is not supported by this penstock server: %v", *req.Runtime, err)
		}
	}
	ref, err := pathFunctionName(seg, r.URL.Query())
	if err != nil {
		return err
	}
	if ref.Qualifier != "" && ref.Qualifier != latest {
		return errNotFound(s.functionARN(ref.Name) + ":" + ref.Qualifier)
	}
	rec, err := s.mutate(r.Context(), ref.Name, func(rec *record) error {
		if err := s.beginUpdate(rec, req.RevisionID); err != nil {
			return err
		}
		req.apply(rec)
		markUpdating(rec)
		return nil
	})
	if err != nil {
		return err
	}
	s.queueActivation(rec.Name)
	return writeJSON(w, http.StatusOK, s.configuration(rec, false))
}

type updateCodeRequest struct {
	codeInput
	Publish       bool     `json:"Publish"`
	DryRun        bool     `json:"DryRun"`
	RevisionID    *string  `json:"RevisionId"`
	Architectures []string `json:"Architectures"`
}

func (s *Service) updateFunctionCode(w http.ResponseWriter, r *http.Request, seg string) error {
	var req updateCodeRequest
	if err := decodeJSON(r, maxRequestBody, "UpdateFunctionCode", &req); err != nil {
		return err
	}
	var v validation
	checkArchitectures(&v, req.Architectures)
	if err := v.err(); err != nil {
		return err
	}
	if req.Publish {
		return errInvalid("penstock does not publish function versions; update the code without --publish and invoke $LATEST.")
	}
	ctx := r.Context()
	ref, err := pathFunctionName(seg, r.URL.Query())
	if err != nil {
		return err
	}
	if ref.Qualifier != "" && ref.Qualifier != latest {
		return errNotFound(s.functionARN(ref.Name) + ":" + ref.Qualifier)
	}
	rec, _, err := s.load(ctx, ref.Name)
	if err != nil {
		return err
	}
	if err := s.beginUpdate(rec, req.RevisionID); err != nil {
		return err
	}
	zip, err := zipInput(&req.codeInput)
	if err != nil {
		return err
	}
	if req.DryRun {
		rec.Code.Sha256, _ = digest(zip)
		rec.Code.Size = int64(len(zip))
		return writeJSON(w, http.StatusOK, s.configuration(rec, false))
	}
	cd, err := s.storeCode(ctx, ref.Name, zip)
	if err != nil {
		return err
	}
	rec, err = s.mutate(ctx, ref.Name, func(rec *record) error {
		if err := s.beginUpdate(rec, req.RevisionID); err != nil {
			return err
		}
		rec.Code = cd
		if req.Architectures != nil {
			rec.Architectures = req.Architectures
		}
		markUpdating(rec)
		return nil
	})
	if err != nil {
		return err
	}
	s.queueActivation(rec.Name)
	return writeJSON(w, http.StatusOK, s.configuration(rec, false))
}
