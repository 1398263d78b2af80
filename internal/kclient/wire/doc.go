// Package wire is a lean client for the Kinesis data path: PutRecords,
// GetShardIterator and GetRecords over the awsJson 1.1 protocol (POST /,
// X-Amz-Target: Kinesis_20131202.<Op>), for `penstock bench` to measure
// servers with as little CPU of its own as it can.
//
// The aws-sdk-go-v2 Kinesis client spends about 15 µs of CPU per 1 KiB
// record on PutRecords and 12 µs on GetRecords (schema-driven JSON, a
// []byte and strings per record, middleware per request): on a small
// machine that the load generator shares with the server, that caps what
// the generator can measure. This package does the same protocol work by
// hand:
//
//   - requests are encoded into pooled buffers (base64 data, strings escaped
//     as the SDK escapes them) and signed with the SDK's SigV4 signer over
//     the payload hash, exactly as the SDK signs them, so real AWS accepts
//     them;
//   - replies are read into buffers kept in the caller's output, and a
//     small scanner decodes them in place: any member order, whitespace,
//     escapes and unknown members (kinesalite, AWS and penstock all format
//     differently); GetRecords decodes every record's data from base64;
//   - error replies become *APIError (code, message, HTTP status), which
//     implements smithy.APIError;
//   - failed attempts are made again as the SDK's standard retryer says
//     (5xx, throttling, connection errors; bounded attempts with backoff).
//
// Everything else (stream lifecycle, ListShards) stays with the SDK.
//
// The scanner accepts exactly the JSON documents encoding/json accepts,
// except invalid UTF-8, and reads each of them as encoding/json reads it
// into a generic value (FuzzGetRecordsResponse checks both).
package wire
