// Package destination routes Kinesis event source mapping on-failure
// records to SQS queues, SNS topics and S3 buckets, in process (no HTTP
// hop), implementing esm.Destinations.
//
// Check validates a destination ARN when a mapping is created or updated:
// arn:aws:sqs:<region>:<account>:<queue>, arn:aws:sns:<region>:<account>:<topic>
// or arn:aws:s3:::<bucket>, which must exist. Errors wrap ErrNotFound or
// ErrUnsupported; the mapping API turns them into
// InvalidParameterValueException.
//
// Deliver writes one invocation record (esm.Delivery) as AWS does
// (shared/spec/esm.md §6, checked against the recordings in testdata):
//
//   - SQS: the message body is the record JSON, byte for byte.
//   - SNS: the Message is the record JSON; subscribers get it in the usual
//     notification envelope (or raw).
//   - S3: the object is the record with "payload" (the event the function
//     was invoked with) added as the last member, under
//     aws/lambda/<mapping UUID>/<shard id>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>
//     (UTC, the delivery time), Content-Type application/json.
//
// An error from Deliver means nothing was delivered; the engine retries.
//
// Extension (beyond AWS, off by default): the mapping tag
// penstock:include-records=true (esm.IncludeRecordsTag) makes the engine set
// Delivery.IncludeRecords, and SQS bodies and SNS messages are then the
// record plus "payload" (the event), as S3 objects always are, so a dead
// letter can be replayed after its records expired from the stream.
package destination
