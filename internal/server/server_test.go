package server_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"golang.org/x/net/http2"

	"github.com/penstock/penstock/internal/penstocktest"
	"github.com/penstock/penstock/internal/server"
	"github.com/penstock/penstock/internal/storage"
)

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*server.Config)
		field  string // "" = valid
	}{
		{"defaults", func(*server.Config) {}, ""},
		{"bad listen", func(c *server.Config) { c.Listen = "nope" }, "listen"},
		{"no data dir", func(c *server.Config) { c.DataDir = "" }, "data-dir"},
		{"external needs no data dir", func(c *server.Config) { c.DataDir = ""; c.NATSURL = "nats://x:4222" }, ""},
		{"replicas", func(c *server.Config) { c.Replicas = 7 }, "replicas"},
		{"region", func(c *server.Config) { c.Region = "mars" }, "region"},
		{"account", func(c *server.Config) { c.AccountID = "123" }, "account-id"},
		{"durability", func(c *server.Config) { c.Durability = "sometimes" }, "durability"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := server.DefaultConfig()
			tt.mutate(&cfg)
			err := cfg.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ce *server.ConfigError
			if !errors.As(err, &ce) || ce.Field != tt.field {
				t.Fatalf("Validate() = %v, want a ConfigError on %s", err, tt.field)
			}
		})
	}
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestFront_HealthzOverHTTP1AndH2C(t *testing.T) {
	srv := penstocktest.Start(t, nil)
	if code, body := get(t, http.DefaultClient, srv.URL()+"/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Fatalf("HTTP/1.1 /healthz = %d %q", code, body)
	}
	// h2c with prior knowledge, as the JS SDK v3 speaks to Kinesis.
	h2c := &http.Client{Transport: &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	resp, err := h2c.Get(srv.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("h2c /healthz = %d over %s", resp.StatusCode, resp.Proto)
	}
}

func TestServer_ExternalNATS(t *testing.T) {
	// An external single-node NATS with JetStream, reached over TCP.
	ns, err := natsserver.NewServer(&natsserver.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	srv := penstocktest.Start(t, func(c *server.Config) {
		c.NATSURL = ns.ClientURL()
		c.Replicas = 1
	})
	if srv.Store().Embedded() {
		t.Fatal("store is embedded, want external")
	}
	ctx := t.Context()
	if err := srv.Store().CreateLog(ctx, "ext/0", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Store().Append(ctx, "ext/0", []storage.Entry{{PartitionKey: "k", Data: []byte("over tcp")}}); err != nil {
		t.Fatal(err)
	}
	res, err := srv.Store().Read(ctx, "ext/0", 1, 10, 0)
	if err != nil || len(res.Records) != 1 || string(res.Records[0].Data) != "over tcp" {
		t.Fatalf("Read = %+v, %v", res, err)
	}
}
