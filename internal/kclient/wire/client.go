package wire

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	contentType  = "application/x-amz-json-1.1"
	targetPrefix = "Kinesis_20131202."
	signingName  = "kinesis"
	// maxPrealloc bounds the buffer a reply's Content-Length makes us
	// allocate up front; longer replies grow as they arrive.
	maxPrealloc = 64 << 20
)

// Config says where a Client connects and how.
type Config struct {
	Endpoint string // e.g. http://127.0.0.1:4566 or https://kinesis.us-east-1.amazonaws.com
	Region   string // the region requests are signed for
	// Static credentials. The signature is checked by AWS only; penstock
	// and the emulators take any pair.
	AccessKey    string
	SecretKey    string
	SessionToken string
	// MaxConns is the number of idle keep-alive connections kept to the
	// endpoint; set it to the number of concurrent callers (default 16).
	MaxConns int
	// Retryer decides which failed attempts are made again and after what
	// pause (nil: the SDK's standard retryer with its defaults).
	Retryer aws.Retryer
}

// Client is a lean Kinesis data-path client: PutRecords, GetShardIterator
// and GetRecords over awsJson 1.1, signed with SigV4 by the SDK's signer
// (payload hash included, as the SDK signs), retried as the SDK's retryer
// says. Bodies are encoded by hand into pooled buffers and replies read by
// a scanner into buffers the caller's output keeps for the next call.
// A Client is safe for concurrent use; an output is not.
type Client struct {
	endpoint string
	region   string
	creds    aws.Credentials
	signer   *v4.Signer
	http     *http.Client
	retryer  aws.Retryer
	bodies   sync.Pool // *[]byte request bodies
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("kinesis endpoint %q: %w", cfg.Endpoint, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("kinesis endpoint %q: want http(s)://host[:port]", cfg.Endpoint)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	if cfg.Region == "" {
		return nil, errors.New("kinesis client: no region to sign requests for")
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 16
	}
	if cfg.Retryer == nil {
		cfg.Retryer = retry.NewStandard()
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 2 * cfg.MaxConns
	tr.MaxIdleConnsPerHost = cfg.MaxConns
	tr.IdleConnTimeout = 90 * time.Second
	tr.WriteBufferSize = 64 << 10
	tr.ReadBufferSize = 64 << 10
	return &Client{
		endpoint: u.String(),
		region:   cfg.Region,
		creds: aws.Credentials{
			AccessKeyID: cfg.AccessKey, SecretAccessKey: cfg.SecretKey, SessionToken: cfg.SessionToken,
			Source: "wire.Config",
		},
		signer:  v4.NewSigner(),
		http:    &http.Client{Transport: tr},
		retryer: cfg.Retryer,
	}, nil
}

// CloseIdleConnections closes the keep-alive connections not in use.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

func (c *Client) buffer() *[]byte {
	if b, ok := c.bodies.Get().(*[]byte); ok {
		return b
	}
	return new([]byte)
}

// send encodes a request body with encode into a pooled buffer, sends it
// and returns the reply body (in reply's array when it has room), making
// further attempts as the retryer says. A non-2xx reply is an *APIError.
func (c *Client) send(ctx context.Context, op string, encode func([]byte) []byte, reply []byte) ([]byte, error) {
	buf := c.buffer()
	*buf = encode((*buf)[:0])
	var open atomic.Int32 // request bodies handed to the transport and not closed yet
	reply, err := c.call(ctx, op, *buf, reply, &open)
	if open.Load() == 0 { // else the transport may still read it
		c.bodies.Put(buf)
	}
	return reply, err
}

func (c *Client) call(ctx context.Context, op string, body, reply []byte, open *atomic.Int32) ([]byte, error) {
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	for attempt := 1; ; attempt++ {
		var err error
		reply, err = c.attempt(ctx, op, body, hash, reply, open)
		if err == nil {
			return reply, nil
		}
		if ctx.Err() != nil {
			return reply, fmt.Errorf("%s: %w", op, context.Cause(ctx))
		}
		if attempt >= c.retryer.MaxAttempts() || !c.retryer.IsErrorRetryable(err) {
			if attempt > 1 {
				err = fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return reply, err
		}
		delay, derr := c.retryer.RetryDelay(attempt, err)
		if derr != nil {
			return reply, errors.Join(err, derr)
		}
		if err := sleep(ctx, delay); err != nil {
			return reply, fmt.Errorf("%s: %w", op, err)
		}
	}
}

func (c *Client) attempt(ctx context.Context, op string, body []byte, hash string, reply []byte, open *atomic.Int32) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, nil)
	if err != nil {
		return reply, fmt.Errorf("%s: %w", op, err)
	}
	req.ContentLength = int64(len(body))
	req.Body = newBody(body, open)
	req.GetBody = func() (io.ReadCloser, error) { return newBody(body, open), nil }
	req.Header["Content-Type"] = []string{contentType}
	req.Header["X-Amz-Target"] = []string{targetPrefix + op}
	if err := c.signer.SignHTTP(ctx, c.creds, req, hash, signingName, c.region, time.Now()); err != nil {
		req.Body.Close()
		return reply, fmt.Errorf("signing %s: %w", op, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return reply, &sendError{fmt.Errorf("sending %s: %w", op, err)}
	}
	defer resp.Body.Close()
	reply, err = readBody(resp.Body, resp.ContentLength, reply[:0])
	if err != nil {
		return reply, &sendError{fmt.Errorf("reading the %s reply: %w", op, err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return reply, parseError(op, resp.StatusCode, resp.Header, reply)
	}
	return reply, nil
}

// body is a request body that counts itself open until the transport
// closes it.
type body struct {
	bytes.Reader
	open   *atomic.Int32
	closed atomic.Bool
}

func newBody(b []byte, open *atomic.Int32) *body {
	open.Add(1)
	r := &body{open: open}
	r.Reset(b)
	return r
}

func (b *body) Close() error {
	if b.closed.CompareAndSwap(false, true) {
		b.open.Add(-1)
	}
	return nil
}

// readBody reads r to its end into b's array (grown as needed); n is the
// announced length (-1 unknown).
func readBody(r io.Reader, n int64, b []byte) ([]byte, error) {
	if n >= 0 && n < maxPrealloc && cap(b) < int(n)+1 {
		b = make([]byte, 0, n+1)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		m, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
