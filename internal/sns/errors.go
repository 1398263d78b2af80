package sns

import (
	"encoding/xml"
	"errors"
	"net/http"

	"github.com/penstock/penstock/internal/awsapi"
)

// The SNS error catalogue (query protocol codes).
func errNotFound(msg string) *awsapi.Error {
	return awsapi.Errorf("NotFound", http.StatusNotFound, "%s", msg)
}

func errInvalid(format string, args ...any) *awsapi.Error {
	return awsapi.Errorf("InvalidParameter", http.StatusBadRequest, format, args...)
}

func errInvalidAction(action string) *awsapi.Error {
	return awsapi.Errorf("InvalidAction", http.StatusBadRequest, "The action %s is not valid for this endpoint.", action)
}

type xmlError struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

func (s *Service) writeError(w http.ResponseWriter, err error) {
	var ae *awsapi.Error
	if !errors.As(err, &ae) {
		s.log.Error("sns internal error", "err", err)
		ae = awsapi.Errorf("InternalError", http.StatusInternalServerError, "%v", err)
	}
	typ := "Sender"
	if ae.Status >= 500 {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(ae.Status)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(xmlError{Xmlns: xmlns, Type: typ, Code: ae.Code, Message: ae.Message, RequestID: awsapi.RequestID()})
}
