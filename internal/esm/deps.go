package esm

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Streams is what the engine needs from the Kinesis service. KinesisStreams
// adapts *kinesis.Service to it.
type Streams interface {
	// Shards lists the stream's shards, closed ones included.
	// A missing stream is ErrStreamNotFound.
	Shards(ctx context.Context, streamARN string) (Stream, error)
	// WatchShards fires when the shard set or a shard's state changes.
	WatchShards(streamARN string) (c <-chan struct{}, stop func())
	// SequenceNumber renders a shard log position as a Kinesis sequence number.
	SequenceNumber(shardID string, seq uint64) string
}

// Stream is a stream's shard map.
type Stream struct {
	Name, ARN string
	Shards    []Shard
}

// Shard is one shard as the engine needs it.
type Shard struct {
	ID                                   string
	LogID                                string // storage log id
	ParentShardID, AdjacentParentShardID string
	Closed                               bool
	EndSeq                               uint64 // closed shards: last position that belongs to the shard
}

// FunctionInfo is what the engine needs to know about a function.
type FunctionInfo struct {
	Name, ARN, Role string
}

// InvokeResult is a synchronous invoke's answer.
type InvokeResult struct {
	Payload         []byte
	FunctionError   string // "" or "Unhandled"
	ErrorType       string
	ExecutedVersion string
	Duration        time.Duration
}

// Functions is what the engine needs from the Lambda service. LambdaFunctions
// adapts *lambda.Service to it.
type Functions interface {
	// Function resolves a name or ARN; a missing one is ErrFunctionNotFound.
	Function(ctx context.Context, nameOrARN string) (FunctionInfo, error)
	// Invoke runs the function synchronously. Throttles are ErrThrottled;
	// any other error is an invocation error (retried, no attempt spent).
	Invoke(ctx context.Context, nameOrARN string, payload []byte) (*InvokeResult, error)
}

// Destinations delivers on-failure records. destination.New implements it.
type Destinations interface {
	// Check validates a destination ARN at create/update; an unusable one
	// is an error whose text becomes the InvalidParameterValueException message.
	Check(ctx context.Context, arn string) error
	// Deliver sends one invocation record. An error means not delivered:
	// the engine retries and never moves past undelivered records.
	Deliver(ctx context.Context, arn string, d Delivery) error
}

// Delivery is one on-failure invocation record.
type Delivery struct {
	// Record is the invocation record JSON exactly as AWS sends it to an SQS
	// queue or SNS topic (requestContext, responseContext, version,
	// timestamp, KinesisBatchInfo).
	Record json.RawMessage
	// Payload is the event the function was invoked with ({"Records":[...]}),
	// for S3 destinations (which add it as "payload") and for opt-in
	// extensions that carry the records themselves.
	Payload json.RawMessage
	// MappingUUID and ShardID name the source (S3 object keys use them).
	MappingUUID, ShardID string
	// IncludeRecords is the penstock extension opt-in (mapping tag
	// "penstock:include-records" = "true"): SQS/SNS records carry Payload too.
	IncludeRecords bool
}

// IncludeRecordsTag is the mapping tag that sets Delivery.IncludeRecords.
const IncludeRecordsTag = "penstock:include-records"

// Errors the adapters map their packages' errors to.
var (
	ErrStreamNotFound   = errors.New("esm: stream not found")
	ErrFunctionNotFound = errors.New("esm: function not found")
	ErrThrottled        = errors.New("esm: function throttled")
)

// Clock is the engine's time source; tests inject a manual one.
type Clock interface {
	Now() time.Time
	// After fires once at or after d from now.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
