package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/penstock/penstock/internal/awsapi"
)

// front is the one HTTP handler on the port. It answers /healthz itself and
// hands every other request to the service named by awsapi.ServiceOf.
// Lambda's event-source-mapping paths go to the mapping engine's handler.
type front struct {
	ready    atomic.Bool
	auth     awsapi.Authenticator
	services map[string]http.Handler // by awsapi service name; read-only after start
	mappings http.Handler            // /2015-03-31/event-source-mappings/...
	penstock *http.ServeMux          // /_penstock/...: penstock's own endpoints (logs, code)
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		if !f.ready.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
		return
	}
	if !f.ready.Load() {
		writeUnavailable(w)
		return
	}
	if f.penstock != nil && strings.HasPrefix(r.URL.Path, "/_penstock/") {
		f.penstock.ServeHTTP(w, r)
		return
	}
	svc := awsapi.ServiceOf(r)
	if svc == "" && r.Header.Get("Authorization") == "" {
		// Unsigned requests without a target: plain HTTP tools reading S3
		// objects path-style (curl http://host/bucket/key).
		svc = awsapi.S3
	}
	if svc == awsapi.Lambda && f.mappings != nil && strings.Contains(r.URL.Path, "/event-source-mappings") {
		f.mappings.ServeHTTP(w, r)
		return
	}
	h := f.services[svc]
	if h == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{
			"__type":  "UnknownOperationException",
			"message": "penstock does not serve service " + svc,
		})
		return
	}
	if err := f.auth.Authenticate(r); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": "UnrecognizedClientException", "message": err.Error()})
		return
	}
	h.ServeHTTP(w, r)
}

func writeUnavailable(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`{"__type":"ServiceUnavailable","message":"penstock is starting"}`))
}
