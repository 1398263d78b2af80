package kclient

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/penstock/penstock/internal/kclient/wire"
)

// Position is where reading a shard starts.
type Position struct {
	Type      types.ShardIteratorType
	Timestamp time.Time // AT_TIMESTAMP
	Sequence  string    // AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER
}

// TrimHorizon is the oldest record of a shard.
var TrimHorizon = Position{Type: types.ShardIteratorTypeTrimHorizon}

// ParsePosition reads the tools' spelling of a starting position:
// trim-horizon, latest, at-timestamp=<RFC 3339>, at-sequence=<number>,
// after-sequence=<number>.
func ParsePosition(s string) (Position, error) {
	name, arg, hasArg := strings.Cut(s, "=")
	switch strings.ToLower(name) {
	case "trim-horizon", "trim_horizon":
		if !hasArg {
			return TrimHorizon, nil
		}
	case "latest":
		if !hasArg {
			return Position{Type: types.ShardIteratorTypeLatest}, nil
		}
	case "at-timestamp", "at_timestamp":
		t, err := time.Parse(time.RFC3339Nano, arg)
		if err != nil {
			return Position{}, fmt.Errorf("position %q: timestamp must be RFC 3339 (2006-01-02T15:04:05Z): %w", s, err)
		}
		return Position{Type: types.ShardIteratorTypeAtTimestamp, Timestamp: t}, nil
	case "at-sequence", "at_sequence_number":
		if arg != "" {
			return Position{Type: types.ShardIteratorTypeAtSequenceNumber, Sequence: arg}, nil
		}
	case "after-sequence", "after_sequence_number":
		if arg != "" {
			return Position{Type: types.ShardIteratorTypeAfterSequenceNumber, Sequence: arg}, nil
		}
	}
	return Position{}, fmt.Errorf("position %q: want trim-horizon, latest, at-timestamp=RFC3339, at-sequence=N or after-sequence=N", s)
}

// String is the inverse of ParsePosition.
func (p Position) String() string {
	switch p.Type {
	case types.ShardIteratorTypeAtTimestamp:
		return "at-timestamp=" + p.Timestamp.Format(time.RFC3339Nano)
	case types.ShardIteratorTypeAtSequenceNumber:
		return "at-sequence=" + p.Sequence
	case types.ShardIteratorTypeAfterSequenceNumber:
		return "after-sequence=" + p.Sequence
	case types.ShardIteratorTypeLatest:
		return "latest"
	default:
		return "trim-horizon"
	}
}

// bySequence reports whether the position names a sequence number, which
// belongs to one shard only.
func (p Position) bySequence() bool {
	return p.Type == types.ShardIteratorTypeAtSequenceNumber || p.Type == types.ShardIteratorTypeAfterSequenceNumber
}

func (p Position) iteratorInput(stream, shard string) *kinesis.GetShardIteratorInput {
	in := &kinesis.GetShardIteratorInput{
		StreamName:        aws.String(stream),
		ShardId:           aws.String(shard),
		ShardIteratorType: p.Type,
	}
	switch p.Type {
	case types.ShardIteratorTypeAtTimestamp:
		in.Timestamp = aws.Time(p.Timestamp)
	case types.ShardIteratorTypeAtSequenceNumber, types.ShardIteratorTypeAfterSequenceNumber:
		in.StartingSequenceNumber = aws.String(p.Sequence)
	}
	return in
}

// wireInput is iteratorInput for the lean client.
func (p Position) wireInput(stream, shard string) wire.IteratorInput {
	in := wire.IteratorInput{Stream: stream, ShardID: shard, Type: string(p.Type)}
	switch p.Type {
	case types.ShardIteratorTypeAtTimestamp:
		in.Timestamp = p.Timestamp
	case types.ShardIteratorTypeAtSequenceNumber, types.ShardIteratorTypeAfterSequenceNumber:
		in.StartingSequenceNumber = p.Sequence
	}
	return in
}
