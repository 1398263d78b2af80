// Package sqs serves the Amazon SQS API (standard queues) over the JSON
// protocol (and the legacy query protocol) (application/x-amz-json-1.0, X-Amz-Target: AmazonSQS.<Action>),
// which aws-sdk-go-v2 and the installed AWS CLI (botocore's SQS model says
// "protocol": "json") both use, and gives the destination router a Go API
// (Exists, Send).
//
// # Storage
//
// A queue is a JetStream stream SQS_<name> (subject sqs.<name>) with
// work-queue retention and MaxAge = MessageRetentionPeriod, plus one durable
// pull consumer "sqs" whose AckWait is the VisibilityTimeout. Queue metadata
// (attributes, created/modified times) is a JSON record in the SQS_queues KV
// bucket. A stored message is a JSON envelope {id, body, attrs, sent}.
//
//   - ReceiveMessage pulls from the consumer. Long polling (WaitTimeSeconds)
//     is a one-message pull request the server completes as soon as a message
//     is stored (in 1 s slices, so a poll ends soon after its client leaves
//     or the server stops); the rest of the batch is taken without waiting.
//     No sleeps. An empty short poll waits once for 20 ms, so a message whose
//     SendMessage just returned is found (JetStream updates the consumer's
//     pending count just after the publish acknowledgement).
//   - The receipt handle is the base64url of the delivery's JetStream ack
//     subject ($JS.ACK.SQS_<q>.sqs.<delivered>.<stream seq>.<consumer seq>...),
//     so any penstock node can act on it. DeleteMessage = +ACK (request/reply,
//     so the delete is done when the call returns). ChangeMessageVisibility =
//     -NAK with a delay (0: visible at once). A receive-level VisibilityTimeout
//     is a -NAK with that delay right after delivery.
//   - ApproximateReceiveCount is JetStream's delivery count.
//   - RedrivePolicy is enforced at receive: a message delivered more than
//     maxReceiveCount times is moved to the dead-letter queue (publish there,
//     then ack here) instead of being returned.
//   - PurgeQueue purges the stream.
//
// # Choices and UNCONFIRMED behaviour
//
//   - ApproximateNumberOfMessages = stored messages − in flight; in flight is
//     counted from the visibility deadlines this node handed out (receive and
//     ChangeMessageVisibility). With several penstock nodes on one NATS cluster
//     each node only counts its own receives (the counts are approximate in
//     AWS too). ApproximateFirstReceiveTimestamp is also kept in memory: after
//     a restart it restarts from the next receive.
//   - DelaySeconds (queue attribute or per message, 0..900): the envelope
//     carries the wall-clock time it becomes visible; a receive that pulls it
//     earlier naks it with the rest of the delay and does not return it (nor
//     count it in ApproximateReceiveCount). ApproximateNumberOfMessagesDelayed
//     counts the delayed messages this node sent. FIFO queues (.fifo,
//     FifoQueue) are refused with InvalidParameterValue.
//   - Policy, KMS and SSE attributes are stored and returned, not enforced
//     (penstock has no IAM).
//   - Errors carry the JSON shape name in __type
//     ("com.amazonaws.sqs#QueueDoesNotExist") and AWS's legacy query code in
//     x-amzn-query-error ("AWS.SimpleQueueService.NonExistentQueue;Sender"),
//     which the SDKs (awsQueryCompatible) report as the error code.
//   - The query protocol (Action=...&Version=2012-11-05 form posts to / or to
//     the queue URL, XML answers; older SDKs) is served by translating the
//     form into the JSON request and the result into AWS's XML (query.go);
//     tested with hand-made requests, as no installed client speaks it.
//   - MaximumMessageSize defaults to 262144 (the long-standing AWS default;
//     AWS raised the maximum to 1 MiB in 2025, accepted here up to 1048576).
package sqs
