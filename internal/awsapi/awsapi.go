// Package awsapi holds the wire bits every AWS-compatible service in penstock
// shares: the error type that carries an AWS error code and HTTP status,
// request routing by service, and the authentication seam.
//
// Each service keeps its own catalogue of errors (a table of constructors in
// its package, see kinesis/errors.go); they all produce *Error so that the
// protocol layers can write them in the service's wire format.
package awsapi

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
)

// Error is an AWS API error: its code (the `__type` / X-Amzn-ErrorType),
// HTTP status and message.
type Error struct {
	Code    string
	Status  int
	Message string
	// Fields holds extra members some services put beside message
	// (Lambda's "Type", "Reason"...).
	Fields map[string]any
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf builds an *Error.
func Errorf(code string, status int, format string, args ...any) *Error {
	return &Error{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

// Service names, as they appear in a SigV4 credential scope.
const (
	Kinesis = "kinesis"
	Lambda  = "lambda"
	SQS     = "sqs"
	SNS     = "sns"
	S3      = "s3"
)

// ServiceOf tells which service a request is for: the X-Amz-Target prefix
// first (unambiguous), then the SigV4 credential scope (header or presigned
// query), then the path (Lambda's dated REST paths). It returns "" when
// nothing identifies the service.
func ServiceOf(r *http.Request) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		switch {
		case strings.HasPrefix(t, "Kinesis_20131202."):
			return Kinesis
		case strings.HasPrefix(t, "AmazonSQS."):
			return SQS
		}
	}
	if svc := CredentialScopeService(r); svc != "" {
		return svc
	}
	if p := r.URL.Path; len(p) > 12 && p[0] == '/' && p[5] == '-' && p[8] == '-' && p[11] == '/' && strings.HasPrefix(p, "/20") {
		return Lambda
	}
	return ""
}

// CredentialScopeService returns the service of the request's SigV4
// credential scope (Credential=AKID/DATE/REGION/SERVICE/aws4_request), or "".
func CredentialScopeService(r *http.Request) string {
	if _, _, svc, ok := CredentialScope(r); ok {
		return svc
	}
	return ""
}

// CredentialScope parses the request's SigV4 credential scope.
func CredentialScope(r *http.Request) (accessKey, region, service string, ok bool) {
	cred := ""
	if a := r.Header.Get("Authorization"); a != "" {
		i := strings.Index(a, "Credential=")
		if i < 0 {
			return "", "", "", false
		}
		cred = a[i+len("Credential="):]
		if j := strings.IndexAny(cred, ", "); j >= 0 {
			cred = cred[:j]
		}
	} else if c := r.URL.Query().Get("X-Amz-Credential"); c != "" {
		cred = c
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return "", "", "", false
	}
	return parts[0], parts[2], parts[3], true
}

// Authenticator checks a request's credentials. The default accepts any
// signature (structural checks only happen in the protocol layers); SigV4
// verification plugs in here.
type Authenticator interface {
	Authenticate(r *http.Request) error
}

// AllowAll accepts every request.
type AllowAll struct{}

// Authenticate implements Authenticator.
func (AllowAll) Authenticate(*http.Request) error { return nil }

// RequestID returns a new random request id in UUID form.
func RequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
