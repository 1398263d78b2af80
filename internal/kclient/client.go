package kclient

import (
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/penstock/penstock/internal/kclient/wire"
)

// Config says where the tools connect and how.
type Config struct {
	Endpoint  string // e.g. http://127.0.0.1:4566
	Region    string // us-east-1 when empty
	AccessKey string // static credentials; any non-empty pair works for penstock
	SecretKey string
	// MaxConns is the number of idle keep-alive connections kept to the
	// endpoint; set it to the number of concurrent callers (default 16).
	MaxConns int
	// MaxAttempts bounds the retries of a whole request on throttling, 5xx
	// and network errors, by the SDK and the lean client alike (default 8).
	MaxAttempts int
}

// New returns a Kinesis client for cfg. Client-side retry quotas are off:
// a load generator must not give up because the server pushed back.
func New(cfg Config) *kinesis.Client {
	cfg = cfg.withDefaults()
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns = cfg.MaxConns * 2
		tr.MaxIdleConnsPerHost = cfg.MaxConns
		tr.IdleConnTimeout = 90 * time.Second
	})
	awsCfg := aws.Config{
		Region:       cfg.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, ""),
		BaseEndpoint: aws.String(cfg.Endpoint),
		HTTPClient:   httpClient,
		Retryer:      func() aws.Retryer { return cfg.retryer() },
	}
	return kinesis.NewFromConfig(awsCfg)
}

// NewWire returns the lean data-path client (package wire) for cfg: same
// endpoint, credentials, connection pool size and retry policy as New.
func NewWire(cfg Config) (*wire.Client, error) {
	cfg = cfg.withDefaults()
	return wire.New(wire.Config{
		Endpoint: cfg.Endpoint, Region: cfg.Region, AccessKey: cfg.AccessKey, SecretKey: cfg.SecretKey,
		MaxConns: cfg.MaxConns, Retryer: cfg.retryer(),
	})
}

func (cfg Config) withDefaults() Config {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 16
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		cfg.AccessKey, cfg.SecretKey = "penstock", "penstock"
	}
	return cfg
}

// retryer is the SDK's standard retryer with cfg's attempts, backoff up to
// 5 s and no client-side rate limit.
func (cfg Config) retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = cfg.MaxAttempts
		o.MaxBackoff = 5 * time.Second
		o.RateLimiter = ratelimit.None
	})
}
