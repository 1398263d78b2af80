package lambda

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// readBody reads at most limit bytes; a larger body is
// RequestEntityTooLargeException for op.
func readBody(r *http.Request, limit int64, op string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading request body: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge(limit, op)
	}
	return b, nil
}

// decodeJSON reads a JSON request body into v.
func decodeJSON(r *http.Request, limit int64, op string, v any) error {
	b, err := readBody(r, limit, op)
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			var val validation
			val.add(te.Value, te.Field, "be of type "+te.Type.String())
			return val.err()
		}
		return apiErr("InvalidRequestContentException", "Could not parse request body into json: %s", err.Error())
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return nil
}
