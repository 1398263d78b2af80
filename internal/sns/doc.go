// Package sns serves the Amazon SNS query API (form POST Action=...,
// XML responses) for standard topics and delivers notifications to SQS
// queues (in process, through Queues) and HTTP/HTTPS endpoints.
//
// # Storage
//
// Topics are JSON records in the SNS_topics KV bucket (key: topic name),
// subscriptions in SNS_subscriptions (key: <topic name>.<subscription id>,
// so a publish reads only its topic's subscriptions; the ARN is
// <topic ARN>:<id>). The signing key and certificate live in SNS_meta, so
// signatures stay verifiable across restarts.
//
// # Delivery
//
//   - SQS subscribers get the JSON notification envelope (Type, MessageId,
//     TopicArn, Subject, Message, Timestamp, SignatureVersion, Signature,
//     SigningCertURL, UnsubscribeURL, MessageAttributes) or, with
//     RawMessageDelivery=true, the message itself with the message
//     attributes as SQS message attributes. Queue writes happen inside
//     Publish: when Publish returns, every subscribed queue has the message.
//   - HTTP/HTTPS subscribers start PendingConfirmation: a
//     SubscriptionConfirmation is posted with a SubscribeURL
//     (GET /?Action=ConfirmSubscription&TopicArn=..&Token=..) that confirms it.
//     Notifications are queued durably in the SNS_http JetStream stream and
//     posted by Run's worker goroutines (HTTPWorkers) through one durable
//     consumer, with bounded exponential backoff (a nak with delay;
//     HTTPAttempts, HTTPBackoff..HTTPMaxBackoff; defaults 4 attempts, 1 s
//     doubling to 20 s) and the x-amz-sns-* headers. A queued delivery
//     survives a restart; with several nodes each is posted by one of them.
//   - Signatures are real SignatureVersion 1 (SHA1withRSA over AWS's canonical
//     string) made with penstock's own self-signed key; SigningCertURL points
//     at /_penstock/sns/SimpleNotificationService-penstock.pem on the server,
//     so a client that verifies signatures can, if it trusts that URL.
//
// # Choices and UNCONFIRMED behaviour
//
//   - HTTP deliveries are dropped after HTTPAttempts tries or 24 hours in
//     the queue (AWS's default policy retries 3 times over about a minute).
//   - A failed SQS delivery (queue deleted since subscribing) is logged and
//     skipped; Publish still succeeds, as with AWS.
//   - FilterPolicy (filter.go) with FilterPolicyScope MessageAttributes or
//     MessageBody: exact values, prefix, suffix, equals-ignore-case,
//     anything-but, numeric ranges, exists, $or. Not supported: cidr,
//     wildcard (refused at Subscribe/SetSubscriptionAttributes).
//   - Protocols other than sqs/http/https and FIFO topics are refused with
//     InvalidParameter, not silently ignored.
//   - DeleteTopic of a missing topic succeeds (AWS documents this).
//   - Subject must be ≤ 100 characters without line breaks; Message ≤ 256 KiB.
package sns
