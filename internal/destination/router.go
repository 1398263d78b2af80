package destination

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/penstock/penstock/internal/esm"
	"github.com/penstock/penstock/internal/s3"
	"github.com/penstock/penstock/internal/sns"
	"github.com/penstock/penstock/internal/sqs"
)

// Router delivers on-failure records to SQS queues, SNS topics and S3
// buckets by the destination ARN's service. It implements esm.Destinations.
type Router struct {
	sqs *sqs.Service
	sns *sns.Service
	s3  *s3.Service
	now func() time.Time
}

var _ esm.Destinations = (*Router)(nil)

// New builds a Router over the three services (any may be nil: ARNs of
// that kind are then refused).
func New(q *sqs.Service, t *sns.Service, b *s3.Service) *Router {
	return &Router{sqs: q, sns: t, s3: b, now: time.Now}
}

// WithClock returns the router using now for S3 object key timestamps.
func (r *Router) WithClock(now func() time.Time) *Router {
	c := *r
	c.now = now
	return &c
}

// Errors Check and Deliver wrap.
var (
	ErrUnsupported = errors.New("destination: unsupported destination ARN")
	ErrNotFound    = errors.New("destination: destination does not exist")
)

// kind parses an ARN into its service and resource.
func kind(arn string) (service, resource string, err error) {
	p := strings.SplitN(arn, ":", 6)
	if len(p) != 6 || p[0] != "arn" || !strings.HasPrefix(p[1], "aws") {
		return "", "", fmt.Errorf("%w: %q", ErrUnsupported, arn)
	}
	switch p[2] {
	case "sqs", "sns":
		if p[5] == "" {
			return "", "", fmt.Errorf("%w: %q", ErrUnsupported, arn)
		}
		return p[2], p[5], nil
	case "s3":
		if p[3] != "" || p[4] != "" || p[5] == "" || strings.Contains(p[5], "/") {
			return "", "", fmt.Errorf("%w: %q (an S3 destination is arn:aws:s3:::<bucket>)", ErrUnsupported, arn)
		}
		return "s3", p[5], nil
	}
	return "", "", fmt.Errorf("%w: %q (penstock delivers to sqs, sns and s3)", ErrUnsupported, arn)
}

// Check tells whether arn names an existing queue, topic or bucket. The
// error text is what the mapping API returns in its
// InvalidParameterValueException.
func (r *Router) Check(ctx context.Context, arn string) error {
	svc, res, err := kind(arn)
	if err != nil {
		return err
	}
	switch {
	case svc == "sqs" && r.sqs != nil:
		err = r.sqs.Exists(ctx, arn)
	case svc == "sns" && r.sns != nil:
		err = r.sns.Exists(ctx, arn)
	case svc == "s3" && r.s3 != nil:
		err = r.s3.Exists(ctx, res)
	default:
		return fmt.Errorf("%w: %q (no %s service in this server)", ErrUnsupported, arn, svc)
	}
	if errors.Is(err, sqs.ErrQueueNotFound) || errors.Is(err, sns.ErrTopicNotFound) || errors.Is(err, s3.ErrBucketNotFound) {
		return fmt.Errorf("%w: %s", ErrNotFound, arn)
	}
	return err
}

// Deliver sends one invocation record: to SQS as the message body, to SNS
// as the Message, to S3 as an object (the record plus "payload") under
// aws/lambda/<mapping UUID>/<shard id>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>.
func (r *Router) Deliver(ctx context.Context, arn string, d esm.Delivery) error {
	return r.deliver(ctx, arn, d, includeRecords(d))
}

// deliver does the work; withRecords is the penstock:include-records
// extension: SQS/SNS dead letters also carry the event as "payload".
func (r *Router) deliver(ctx context.Context, arn string, d esm.Delivery, withRecords bool) error {
	svc, res, err := kind(arn)
	if err != nil {
		return err
	}
	if !json.Valid(d.Record) {
		return errors.New("destination: invocation record is not valid JSON")
	}
	switch svc {
	case "sqs":
		if r.sqs == nil {
			return fmt.Errorf("%w: %q", ErrUnsupported, arn)
		}
		body, err := recordBody(d, withRecords)
		if err != nil {
			return err
		}
		if _, err := r.sqs.Send(ctx, arn, string(body), nil); err != nil {
			return fmt.Errorf("delivering to %s: %w", arn, err)
		}
	case "sns":
		if r.sns == nil {
			return fmt.Errorf("%w: %q", ErrUnsupported, arn)
		}
		body, err := recordBody(d, withRecords)
		if err != nil {
			return err
		}
		if _, err := r.sns.Publish(ctx, arn, string(body)); err != nil {
			return fmt.Errorf("delivering to %s: %w", arn, err)
		}
	case "s3":
		if r.s3 == nil {
			return fmt.Errorf("%w: %q", ErrUnsupported, arn)
		}
		body, err := recordBody(d, true)
		if err != nil {
			return err
		}
		key := ObjectKey(d.MappingUUID, d.ShardID, r.now(), uuid.NewString())
		if _, err := r.s3.Put(ctx, res, key, body, "application/json"); err != nil {
			return fmt.Errorf("delivering to %s: %w", arn, err)
		}
	}
	return nil
}

// ObjectKey is the S3 key of an on-failure record:
// aws/lambda/<mapping UUID>/<shard id>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<id>.
func ObjectKey(mappingUUID, shardID string, at time.Time, id string) string {
	at = at.UTC()
	return "aws/lambda/" + mappingUUID + "/" + shardID + "/" + at.Format("2006/01/02") + "/" +
		at.Format("2006-01-02T15.04.05") + "-" + id
}

// recordBody is the record JSON, with "payload" (the event) appended when
// withPayload and the delivery has one. The record's own bytes and key
// order are kept.
func recordBody(d esm.Delivery, withPayload bool) ([]byte, error) {
	rec := bytes.TrimSpace(d.Record)
	if !withPayload || len(d.Payload) == 0 {
		return rec, nil
	}
	if !json.Valid(d.Payload) {
		return nil, errors.New("destination: event payload is not valid JSON")
	}
	if len(rec) < 2 || rec[0] != '{' || rec[len(rec)-1] != '}' {
		return nil, errors.New("destination: invocation record is not a JSON object")
	}
	var out bytes.Buffer
	out.Write(rec[:len(rec)-1])
	if len(bytes.TrimSpace(rec[1:len(rec)-1])) > 0 {
		out.WriteByte(',')
	}
	out.WriteString(`"payload":`)
	out.Write(bytes.TrimSpace(d.Payload))
	out.WriteByte('}')
	return out.Bytes(), nil
}
