package lambda

import (
	"net/http"
	"net/url"
	"strings"
)

// tagTarget resolves the {ARN} of the tags paths to a function name. Only
// function ARNs are served here; event source mapping ARNs belong to the
// mapping engine.
func (s *Service) tagTarget(seg string) (string, error) {
	arn, err := url.PathUnescape(seg)
	if err != nil {
		arn = seg
	}
	if !strings.HasPrefix(arn, "arn:") {
		var v validation
		v.add(arn, "resource", `satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|layer:([a-zA-Z0-9-_]+)|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})`)
		return "", v.err()
	}
	parts := strings.Split(arn, ":")
	if len(parts) < 7 || parts[5] != "function" {
		return "", errInvalid("penstock tags functions only on this path; %s is not a function ARN.", arn)
	}
	ref, err := parseFunctionName(arn)
	if err != nil {
		return "", err
	}
	if ref.Qualifier != "" {
		return "", errInvalid("Tags are not supported on function versions or aliases: %s", arn)
	}
	return ref.Name, nil
}

func (s *Service) tagResource(w http.ResponseWriter, r *http.Request, seg string) error {
	var req struct {
		Tags map[string]string `json:"Tags"`
	}
	if err := decodeJSON(r, 1<<20, "TagResource", &req); err != nil {
		return err
	}
	name, err := s.tagTarget(seg)
	if err != nil {
		return err
	}
	if req.Tags == nil {
		var v validation
		v.add(nil, "tags", "not be null")
		return v.err()
	}
	if _, err := s.mutate(r.Context(), name, func(rec *record) error {
		if rec.Tags == nil {
			rec.Tags = map[string]string{}
		}
		for k, v := range req.Tags {
			rec.Tags[k] = v
		}
		if len(rec.Tags) > 50 {
			return errInvalid("Number of tags exceeds resource tag limit.")
		}
		return nil
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) untagResource(w http.ResponseWriter, r *http.Request, seg string) error {
	name, err := s.tagTarget(seg)
	if err != nil {
		return err
	}
	keys := r.URL.Query()["tagKeys"]
	if _, err := s.mutate(r.Context(), name, func(rec *record) error {
		for _, k := range keys {
			delete(rec.Tags, k)
		}
		return nil
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) listTags(w http.ResponseWriter, r *http.Request, seg string) error {
	name, err := s.tagTarget(seg)
	if err != nil {
		return err
	}
	rec, _, err := s.load(r.Context(), name)
	if err != nil {
		return err
	}
	tags := rec.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"Tags": tags})
}
