package esm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// Tags on event source mapping ARNs: TagResource, UntagResource and
// ListTags (/2017-03-31/tags/{ARN}) for ARNs of this engine's mappings.
// The Lambda service keeps serving function ARNs; the server routes by
// IsTagPath.

const tagsPath = "/2017-03-31/tags/"

// IsTagPath reports whether r is a tags request for a mapping ARN.
func IsTagPath(r *http.Request) bool {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), tagsPath)
	if !ok {
		return false
	}
	arn, err := url.PathUnescape(rest)
	return err == nil && strings.Contains(arn, ":event-source-mapping:")
}

func (e *Engine) serveTags(w http.ResponseWriter, r *http.Request) {
	rest, _ := strings.CutPrefix(r.URL.EscapedPath(), tagsPath)
	arn, _ := url.PathUnescape(rest)
	id := arn[strings.LastIndex(arn, ":")+1:]
	ctx := r.Context()
	notFound := func() { writeError(w, userErrNotFoundESM(arn)) }
	switch r.Method {
	case http.MethodGet:
		m, _, err := e.maps.get(ctx, id)
		if errors.Is(err, errNoMapping) || (err == nil && m.EventSourceMappingArn != arn) {
			notFound()
			return
		}
		if err != nil {
			writeError(w, errService(err))
			return
		}
		tags := m.Tags
		if tags == nil {
			tags = map[string]string{}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"Tags": tags})
	case http.MethodPost:
		var body struct {
			Tags map[string]string `json:"Tags"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeError(w, errValidation("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null"))
			return
		}
		e.changeTags(ctx, w, id, arn, func(t map[string]string) {
			for k, v := range body.Tags {
				t[k] = v
			}
		})
	case http.MethodDelete:
		keys := r.URL.Query()["tagKeys"]
		e.changeTags(ctx, w, id, arn, func(t map[string]string) {
			for _, k := range keys {
				delete(t, k)
			}
		})
	default:
		writeError(w, errNotFound())
	}
}

func (e *Engine) changeTags(ctx context.Context, w http.ResponseWriter, id, arn string, f func(map[string]string)) {
	_, err := e.maps.update(ctx, id, func(m *Mapping) error {
		if m.EventSourceMappingArn != arn {
			return errNoMapping
		}
		if m.Tags == nil {
			m.Tags = map[string]string{}
		}
		f(m.Tags)
		return nil
	})
	if errors.Is(err, errNoMapping) {
		writeError(w, userErrNotFoundESM(arn))
		return
	}
	if err != nil {
		writeError(w, errService(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// userErrNotFoundESM is the recorded error for tags on an unknown mapping ARN.
func userErrNotFoundESM(arn string) error {
	return userErr("ResourceNotFoundException", http.StatusNotFound, "Event source mapping not found: "+arn)
}
