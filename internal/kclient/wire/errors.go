package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/aws/smithy-go"
)

// Error codes the loads act on.
const (
	CodeResourceNotFound              = "ResourceNotFoundException"
	CodeInvalidArgument               = "InvalidArgumentException"
	CodeExpiredIterator               = "ExpiredIteratorException"
	CodeProvisionedThroughputExceeded = "ProvisionedThroughputExceededException"
	CodeLimitExceeded                 = "LimitExceededException"
	CodeInternalFailure               = "InternalFailure"
)

// APIError is an error reply of the Kinesis API. It implements
// smithy.APIError, so errors.As(err, &apiErr) with a smithy.APIError reads
// the SDK's errors and these alike, and HTTPStatusCode, which the SDK's
// retryer consults for 5xx replies.
type APIError struct {
	Op         string // e.g. GetRecords
	Code       string // the __type without namespace or URI suffix
	Message    string
	StatusCode int
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s: %s: %s (HTTP %d)", e.Op, e.Code, e.Message, e.StatusCode)
}

// ErrorCode is the error's __type, e.g. ResourceNotFoundException.
func (e *APIError) ErrorCode() string { return e.Code }

// ErrorMessage is the error's message.
func (e *APIError) ErrorMessage() string { return e.Message }

// ErrorFault tells whether the server (5xx) or the client (4xx) failed.
func (e *APIError) ErrorFault() smithy.ErrorFault {
	switch {
	case e.StatusCode >= 500:
		return smithy.FaultServer
	case e.StatusCode >= 400:
		return smithy.FaultClient
	}
	return smithy.FaultUnknown
}

// HTTPStatusCode is the reply's HTTP status.
func (e *APIError) HTTPStatusCode() int { return e.StatusCode }

// IsCode reports whether err is (or wraps) an API error with one of codes.
// It also reads the SDK's errors.
func IsCode(err error, codes ...string) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	for _, c := range codes {
		if api.ErrorCode() == c {
			return true
		}
	}
	return false
}

// IsThrottled reports whether err is a throttling reply
// (ProvisionedThroughputExceededException or LimitExceededException).
func IsThrottled(err error) bool {
	return IsCode(err, CodeProvisionedThroughputExceeded, CodeLimitExceeded)
}

// parseError reads an error reply as the SDK's awsJson protocol does: the
// code from X-Amzn-ErrorType, else __type, else code; the message from a
// member named message in any case; the code stripped of a namespace
// ("...#") and a URI suffix (":..."). A body that is not JSON keeps its
// first bytes as the message.
func parseError(op string, status int, header http.Header, body []byte) *APIError {
	e := &APIError{Op: op, Code: "UnknownError", StatusCode: status}
	var info struct {
		Type    string `json:"__type"`
		Message string
		Code    any
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &info); err != nil {
			e.Message = fmt.Sprintf("undecodable error reply: %q", truncate(body, 256))
		}
	}
	code := header.Get("X-Amzn-ErrorType")
	if code == "" {
		code = info.Type
	}
	if c, ok := info.Code.(string); ok && code == "" {
		code = c
	}
	if code != "" {
		if i := strings.Index(code, ":"); i >= 0 {
			code = code[:i]
		}
		if i := strings.Index(code, "#"); i >= 0 {
			code = code[i+1:]
		}
		e.Code = code
	}
	if info.Message != "" {
		e.Message = info.Message
	}
	return e
}

func truncate(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	b = b[:n]
	for len(b) > 0 && !utf8.Valid(b) {
		b = b[:len(b)-1]
	}
	return b
}

// sendError is a failure to send a request or read its reply: the SDK's
// retryer retries it as a connection error.
type sendError struct{ err error }

func (e *sendError) Error() string         { return e.err.Error() }
func (e *sendError) Unwrap() error         { return e.err }
func (e *sendError) ConnectionError() bool { return true }
