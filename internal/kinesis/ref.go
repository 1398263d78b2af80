package kinesis

import (
	"context"

	"github.com/penstock/penstock/internal/awsapi"
)

// streamRef is the stream a request names, by StreamName or StreamARN.
type streamRef struct {
	name, arn *string
}

// readStreamRef reads and validates StreamName and StreamARN (and ignores
// the reserved StreamId). When neither is given, AWS's answer is
// unconfirmed; we report streamName as null, as AWS did when StreamName was
// required.
func readStreamRef(r *reader, v *validator) streamRef {
	ref := readRef(r)
	validateStreamRef(ref, v)
	return ref
}

// readRef reads StreamName, StreamARN and StreamId (type checks only).
func readRef(r *reader) streamRef {
	ref := streamRef{name: r.str("StreamName"), arn: r.str("StreamARN")}
	_ = r.str("StreamId")
	return ref
}

// validateStreamRef checks what readRef read.
func validateStreamRef(ref streamRef, v *validator) {
	v.str("streamName", ref.name, false, 1, 128, reStreamName)
	v.str("streamARN", ref.arn, false, 1, 2048, reStreamARN)
	if ref.name == nil && ref.arn == nil {
		v.required("streamName", false)
	}
}

// resolve returns the stream's name, or the AWS error for a missing stream
// (an ARN of another account or region never exists here).
func (s *Service) resolve(ref streamRef) (string, *awsapi.Error) {
	if ref.arn == nil {
		return *ref.name, nil
	}
	region, account, name, err := ParseStreamARN(*ref.arn)
	if err != nil {
		return "", errInvalidArgument("Invalid StreamARN %s.", *ref.arn)
	}
	if ref.name != nil && *ref.name != name {
		return "", errInvalidArgument("StreamARN %s and StreamName %s do not refer to the same stream.", *ref.arn, *ref.name)
	}
	if region != s.o.Region || account != s.o.AccountID {
		return "", errStreamNotFound(name, account)
	}
	return name, nil
}

// lookup resolves a stream reference to its metadata.
func (s *Service) lookup(ctx context.Context, ref streamRef) (*streamMeta, error) {
	name, aerr := s.resolve(ref)
	if aerr != nil {
		return nil, aerr
	}
	m, _, err := s.reg.get(ctx, name)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errStreamNotFound(name, s.o.AccountID)
	}
	return m, nil
}

// readable is lookup for the data plane: a CREATING stream does not exist yet.
func (s *Service) readable(ctx context.Context, ref streamRef) (*streamMeta, error) {
	m, err := s.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	if m.Status == statusCreating {
		return nil, errStreamNotFound(m.Name, s.o.AccountID)
	}
	return m, nil
}

// check returns the reader's serialization error, else the validator's.
func check(r *reader, v *validator) error {
	if r.err != nil {
		return r.err
	}
	if e := v.err(); e != nil {
		return e
	}
	return nil
}
