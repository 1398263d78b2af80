package lambda

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/penstock/penstock/internal/awsapi"
	"github.com/penstock/penstock/internal/runtime"
)

// ErrFunctionNotFound is wrapped by every error Function and Invoke return
// for a function that does not exist.
var ErrFunctionNotFound = errors.New("lambda: function not found")

// The Lambda error catalogue: code, HTTP status and the casing of the
// message member in the body (esm.md §1.2: shapes modelled with "Message"
// versus "message").
var catalogue = map[string]struct {
	status       int
	upperMessage bool // body key "Message" instead of "message"
	noType       bool // ValidationException has no "Type":"User"
}{
	"ResourceNotFoundException":      {http.StatusNotFound, true, false},
	"ResourceInUseException":         {http.StatusBadRequest, true, false},
	"ServiceException":               {http.StatusInternalServerError, true, false},
	"InvalidParameterValueException": {http.StatusBadRequest, false, false},
	"ResourceConflictException":      {http.StatusConflict, false, false},
	"TooManyRequestsException":       {http.StatusTooManyRequests, false, false},
	"RequestEntityTooLargeException": {http.StatusRequestEntityTooLarge, false, false},
	"InvalidRequestContentException": {http.StatusBadRequest, false, false},
	"ValidationException":            {http.StatusBadRequest, false, true},
	"UnsupportedMediaTypeException":  {http.StatusUnsupportedMediaType, false, false},
	"PreconditionFailedException":    {http.StatusPreconditionFailed, false, false},
}

func apiErr(code, format string, args ...any) *awsapi.Error {
	c, ok := catalogue[code]
	if !ok {
		c.status = http.StatusBadRequest
	}
	return awsapi.Errorf(code, c.status, format, args...)
}

func errNotFound(arn string) error {
	return fmt.Errorf("%w (%w)", apiErr("ResourceNotFoundException", "Function not found: %s", arn), ErrFunctionNotFound)
}

func errInvalid(format string, args ...any) *awsapi.Error {
	return apiErr("InvalidParameterValueException", format, args...)
}

func errConflictUpdate(arn string) *awsapi.Error {
	return apiErr("ResourceConflictException", "The operation cannot be performed at this time. An update is in progress for resource: %s", arn)
}

func errTooLarge(limit int64, op string) *awsapi.Error {
	return apiErr("RequestEntityTooLargeException", "Request must be smaller than %d bytes for the %s operation", limit, op)
}

// errThrottled is both an *awsapi.Error (429) and runtime.ErrThrottled.
func errThrottled(reason string) error {
	e := apiErr("TooManyRequestsException", "Rate Exceeded.")
	e.Fields = map[string]any{"Reason": reason}
	return fmt.Errorf("%w (%w)", e, runtime.ErrThrottled)
}

// validation collects model-constraint failures into one
// ValidationException with AWS's wording.
type validation []string

func (v *validation) add(value any, member, constraint string) {
	val := "null"
	switch x := value.(type) {
	case nil:
	case string:
		val = "'" + x + "'"
	case *string:
		if x != nil {
			val = "'" + *x + "'"
		}
	case *int:
		if x != nil {
			val = "'" + strconv.Itoa(*x) + "'"
		}
	default:
		val = fmt.Sprintf("'%v'", x)
	}
	*v = append(*v, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: Member must %s", val, member, constraint))
}

func (v validation) err() error {
	switch len(v) {
	case 0:
		return nil
	case 1:
		return apiErr("ValidationException", "1 validation error detected: %s", v[0])
	default:
		return apiErr("ValidationException", "%d validation errors detected: %s", len(v), strings.Join(v, "; "))
	}
}

// writeError writes err in Lambda's rest-json error format. Errors that are
// not *awsapi.Error become ServiceException.
func writeError(w http.ResponseWriter, err error) {
	var ae *awsapi.Error
	if !errors.As(err, &ae) {
		ae = apiErr("ServiceException", "%s", err.Error())
	}
	c, ok := catalogue[ae.Code]
	status := ae.Status
	if status == 0 {
		status = c.status
	}
	body := map[string]any{}
	for k, v := range ae.Fields {
		body[k] = v
	}
	if ok && c.upperMessage {
		body["Message"] = ae.Message
	} else {
		body["message"] = ae.Message
	}
	if !c.noType {
		typ := "User"
		if status >= 500 {
			typ = "Service"
		}
		body["Type"] = typ
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", ae.Code)
	if ae.Code == "TooManyRequestsException" {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
