package kinesis

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/penstock/penstock/internal/awsapi"
)

// ErrStreamNotFound is returned by the Go API (Shards) for a missing stream.
var ErrStreamNotFound = errors.New("kinesis: stream not found")

// The catalogue of AWS errors this service returns: code, HTTP status and
// the constructor that writes AWS's message. Messages follow
// spec/kinesis-api.md (kinesalite's AWS-captured texts).
const (
	codeResourceNotFound = "ResourceNotFoundException"
	codeResourceInUse    = "ResourceInUseException"
	codeInvalidArgument  = "InvalidArgumentException"
	codeLimitExceeded    = "LimitExceededException"
	codeThroughput       = "ProvisionedThroughputExceededException"
	codeExpiredIterator  = "ExpiredIteratorException"
	codeExpiredNextToken = "ExpiredNextTokenException"
	codeValidation       = "ValidationException"
	codeSerialization    = "SerializationException"
	codeUnknownOperation = "UnknownOperationException"
	codeInternalFailure  = "InternalFailure"
	msgInternalFailure   = "Internal Service Failure"
	statusClient         = http.StatusBadRequest
	statusInternal       = http.StatusInternalServerError
)

func errorf(code, format string, args ...any) *awsapi.Error {
	return awsapi.Errorf(code, statusClient, format, args...)
}

func errStreamNotFound(name, account string) *awsapi.Error {
	return errorf(codeResourceNotFound, "Stream %s under account %s not found.", name, account)
}

func errStreamExists(name, account string) *awsapi.Error {
	return errorf(codeResourceInUse, "Stream %s under account %s already exists.", name, account)
}

func errNotActive(name, account, status string) *awsapi.Error {
	return errorf(codeResourceInUse, "Stream %s under account %s not ACTIVE, instead in state %s", name, account, status)
}

func errShardNotFound(shard, name, account string) *awsapi.Error {
	return errorf(codeResourceNotFound, "Shard %s in stream %s under account %s does not exist", shard, name, account)
}

func errCouldNotFindShard(shard, name, account string) *awsapi.Error {
	return errorf(codeResourceNotFound, "Could not find shard %s in stream %s under account %s.", shard, name, account)
}

func errInvalidArgument(format string, args ...any) *awsapi.Error {
	return errorf(codeInvalidArgument, format, args...)
}

func errSerialization(msg string) *awsapi.Error {
	return errorf(codeSerialization, "%s", msg)
}

func errThroughput(shard, name, account string) *awsapi.Error {
	return errorf(codeThroughput, "Rate exceeded for shard %s in stream %s under account %s.", shard, name, account)
}

func errInternal(err error) *awsapi.Error {
	return &awsapi.Error{Code: codeInternalFailure, Status: statusInternal, Message: msgInternalFailure + ": " + err.Error()}
}

func errShardLimit(account, region string, current, limit, additional int) *awsapi.Error {
	return errorf(codeLimitExceeded, "This request would exceed the shard limit for the account %s in %s. Current shard count for the account: %d. Limit: %d. Number of additional shards that would have resulted from this request: %d. Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.", account, region, current, limit, additional)
}

// asAWS turns any error into an *awsapi.Error (internal failures keep their
// text for the log, not the wire).
func asAWS(err error) *awsapi.Error {
	var ae *awsapi.Error
	if errors.As(err, &ae) {
		return ae
	}
	return errInternal(fmt.Errorf("%w", err))
}
