package s3

import (
	"encoding/xml"
	"errors"
	"net/http"

	"github.com/penstock/penstock/internal/awsapi"
)

// The S3 error catalogue: code -> HTTP status and message.
var catalogue = map[string]struct {
	status int
	msg    string
}{
	"NoSuchBucket":              {404, "The specified bucket does not exist"},
	"NoSuchKey":                 {404, "The specified key does not exist."},
	"BucketAlreadyOwnedByYou":   {409, "Your previous request to create the named bucket succeeded and you already own it."},
	"BucketAlreadyExists":       {409, "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."},
	"BucketNotEmpty":            {409, "The bucket you tried to delete is not empty"},
	"InvalidBucketName":         {400, "The specified bucket is not valid."},
	"InvalidArgument":           {400, "Invalid Argument"},
	"InvalidRange":              {416, "The requested range is not satisfiable"},
	"BadDigest":                 {400, "The Content-MD5 or checksum value that you specified did not match what the server received."},
	"InvalidDigest":             {400, "The Content-MD5 you specified is not valid."},
	"EntityTooLarge":            {400, "Your proposed upload exceeds the maximum allowed size"},
	"IncompleteBody":            {400, "You did not provide the number of bytes specified by the Content-Length HTTP header."},
	"MalformedXML":              {400, "The XML you provided was not well-formed or did not validate against our published schema."},
	"NotImplemented":            {501, "A header or query you provided implies functionality that is not implemented."},
	"MethodNotAllowed":          {405, "The specified method is not allowed against this resource."},
	"PreconditionFailed":        {412, "At least one of the pre-conditions you specified did not hold"},
	"InternalError":             {500, "We encountered an internal error. Please try again."},
	"InvalidRequest":            {400, "Invalid Request"},
	"KeyTooLongError":           {400, "Your key is too long"},
	"NoSuchUpload":              {404, "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."},
	"InvalidPart":               {400, "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag."},
	"InvalidPartOrder":          {400, "The list of parts was not in ascending order. The parts list must be specified in order by part number."},
	"EntityTooSmall":            {400, "Your proposed upload is smaller than the minimum allowed object size."},
	"InvalidLocationConstraint": {400, "The specified location-constraint is not valid"},
}

// s3Error builds an *awsapi.Error; extra fields (BucketName, Key...) go in
// the XML body.
func s3Error(code string, fields map[string]any, msg ...string) *awsapi.Error {
	c, ok := catalogue[code]
	if !ok {
		c = catalogue["InternalError"]
	}
	m := c.msg
	if len(msg) > 0 {
		m = msg[0]
	}
	return &awsapi.Error{Code: code, Status: c.status, Message: m, Fields: fields}
}

func noSuchBucket(b string) *awsapi.Error {
	return s3Error("NoSuchBucket", map[string]any{"BucketName": b})
}

func noSuchKey(k string) *awsapi.Error { return s3Error("NoSuchKey", map[string]any{"Key": k}) }

func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *awsapi.Error
	if !errors.As(err, &ae) {
		s.log.Error("s3 internal error", "err", err)
		ae = s3Error("InternalError", nil)
	}
	rid := awsapi.RequestID()
	w.Header().Set("x-amz-request-id", rid)
	if r.Method == http.MethodHead {
		w.WriteHeader(ae.Status) // HEAD responses carry no body
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(ae.Status)
	_, _ = w.Write([]byte(xml.Header))
	enc := xml.NewEncoder(w)
	start := xml.StartElement{Name: xml.Name{Local: "Error"}}
	_ = enc.EncodeToken(start)
	el := func(k, v string) { _ = enc.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: k}}) }
	el("Code", ae.Code)
	el("Message", ae.Message)
	for _, k := range []string{"BucketName", "Key", "Resource", "ArgumentName", "ArgumentValue", "RangeRequested", "ActualObjectSize", "UploadId"} {
		if v, ok := ae.Fields[k]; ok {
			el(k, toString(v))
		}
	}
	el("RequestId", rid)
	el("HostId", "penstock")
	_ = enc.EncodeToken(start.End())
	_ = enc.Flush()
}

func asAPI(err error) bool {
	var ae *awsapi.Error
	return errors.As(err, &ae)
}
