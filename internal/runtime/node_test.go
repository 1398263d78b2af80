package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNodeSeedHandlerUnchanged(t *testing.T) {
	// The handler from the study guide, byte for byte, with the Kinesis
	// event from aws-lambda-go's testdata (two "Hello World" records).
	m, _ := newTestManager(t, nil)
	event, err := os.ReadFile(filepath.Join("testdata", "kinesis-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := &Spec{Name: "seed", Runtime: "nodejs20.x", Handler: "index.handler", CodeDir: abs("testdata/node/seed")}
	res, err := m.Invoke(t.Context(), s, event, InvokeOptions{TailLog: true})
	if err != nil {
		t.Fatal(err)
	}
	requireEqual(t, "Payload", string(res.Payload), `"Successfully processed 2 records."`)
	if got := strings.Count(res.LogTail, "\tINFO\tDecoded payload: Hello World\n"); got != 2 {
		t.Errorf("decoded payload lines = %d, want 2; tail:\n%s", got, res.LogTail)
	}
}

func TestNodeHandlerStyles(t *testing.T) {
	m, _ := newTestManager(t, nil)
	tests := []struct{ handler, event, want, wantType string }{
		{"index.callback", `{}`, `{"style":"callback","count":1}`, ""},
		{"index.callback", `{"action":"error","message":"cb failed"}`, "", "Error"},
		{"index.sync", `{}`, `{"style":"sync","count":1}`, ""},
	}
	s := &Spec{Name: "styles", Runtime: "nodejs20.x", CodeDir: abs("testdata/node/behaviors"), Timeout: 3 * time.Second}
	for _, tc := range tests {
		s.Handler = tc.handler
		s.Revision = tc.handler // the handler is part of the configuration
		res, err := m.Invoke(t.Context(), s, []byte(tc.event), InvokeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		requireEqual(t, tc.handler+" ErrorType", res.ErrorType, tc.wantType)
		if tc.want != "" {
			requireEqual(t, tc.handler+" Payload", string(res.Payload), tc.want)
		}
	}
}

func TestNodeESModule(t *testing.T) {
	m, _ := newTestManager(t, nil)
	s := &Spec{Name: "esm", Runtime: "nodejs22.x", Handler: "index.handler", CodeDir: abs("testdata/node/esm")}
	res, err := m.Invoke(t.Context(), s, []byte(`{}`), InvokeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	requireEqual(t, "Payload", string(res.Payload), `{"esm":true,"file":"index.mjs","fn":"esm"}`)
}
