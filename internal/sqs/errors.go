package sqs

import (
	"errors"
	"net/http"

	"github.com/penstock/penstock/internal/awsapi"
)

// errorSpec is one entry of the SQS error catalogue: the JSON-protocol shape
// name (written as "com.amazonaws.sqs#<Shape>" in __type) and the legacy
// query-protocol code AWS puts in the x-amzn-query-error header, which
// awsQueryCompatible SDKs (aws-sdk-go-v2, botocore) surface as the code.
type errorSpec struct {
	shape     string
	queryCode string
	status    int
	sender    bool
}

var catalogue = map[string]errorSpec{
	"QueueDoesNotExist":           {"QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", http.StatusBadRequest, true},
	"QueueNameExists":             {"QueueNameExists", "QueueAlreadyExists", http.StatusBadRequest, true},
	"ReceiptHandleIsInvalid":      {"ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", http.StatusBadRequest, true},
	"InvalidAttributeName":        {"InvalidAttributeName", "InvalidAttributeName", http.StatusBadRequest, true},
	"InvalidAttributeValue":       {"InvalidAttributeValue", "InvalidAttributeValue", http.StatusBadRequest, true},
	"InvalidParameterValue":       {"InvalidParameterValue", "InvalidParameterValue", http.StatusBadRequest, true},
	"MissingParameter":            {"MissingParameter", "MissingParameter", http.StatusBadRequest, true},
	"InvalidAddress":              {"InvalidAddress", "InvalidAddress", http.StatusNotFound, true},
	"EmptyBatchRequest":           {"EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", http.StatusBadRequest, true},
	"TooManyEntriesInBatch":       {"TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", http.StatusBadRequest, true},
	"BatchEntryIdsNotDistinct":    {"BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", http.StatusBadRequest, true},
	"InvalidBatchEntryId":         {"InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", http.StatusBadRequest, true},
	"MessageNotInflight":          {"MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", http.StatusBadRequest, true},
	"PurgeQueueInProgress":        {"PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress", http.StatusForbidden, true},
	"UnsupportedOperation":        {"UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", http.StatusBadRequest, true},
	"InvalidAction":               {"InvalidAction", "InvalidAction", http.StatusBadRequest, true},
	"InternalError":               {"InternalError", "InternalError", http.StatusInternalServerError, false},
	"QueueDeletedRecently":        {"QueueDeletedRecently", "AWS.SimpleQueueService.QueueDeletedRecently", http.StatusBadRequest, true},
	"InvalidMessageContents":      {"InvalidMessageContents", "InvalidMessageContents", http.StatusBadRequest, true},
	"BatchRequestTooLong":         {"BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", http.StatusBadRequest, true},
	"RequestThrottled":            {"RequestThrottled", "RequestThrottled", http.StatusBadRequest, true},
	"OverLimit":                   {"OverLimit", "OverLimit", http.StatusForbidden, true},
	"ValidationError":             {"ValidationException", "ValidationError", http.StatusBadRequest, true},
	"InvalidParameterCombination": {"InvalidParameterCombination", "InvalidParameterCombination", http.StatusBadRequest, true},
}

// apiError builds an *awsapi.Error whose Code is a catalogue key.
func apiError(code, format string, args ...any) *awsapi.Error {
	spec, ok := catalogue[code]
	if !ok {
		spec = catalogue["InternalError"]
	}
	return awsapi.Errorf(code, spec.status, format, args...)
}

func errNoQueue() *awsapi.Error {
	return apiError("QueueDoesNotExist", "The specified queue does not exist.")
}

func errReceipt(h string) *awsapi.Error {
	return apiError("ReceiptHandleIsInvalid", "The input receipt handle \"%s\" is not a valid receipt handle.", h)
}

func asAPI(err error) *awsapi.Error {
	var ae *awsapi.Error
	if errors.As(err, &ae) {
		return ae
	}
	return nil
}
