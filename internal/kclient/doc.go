// Package kclient is the small Kinesis client layer behind penstock's
// command-line tools (put, tail, bench). It speaks the public Kinesis Data
// Streams API, so every tool works against any Kinesis endpoint: penstock,
// AWS itself, or an emulator such as kinesalite.
//
// The pieces:
//
//   - New: a *kinesis.Client (aws-sdk-go-v2) for an endpoint with static
//     credentials, keep-alive connections for concurrent callers and no
//     client-side retry quota.
//   - NewWire: the lean data-path client of package wire for the same
//     endpoint, credentials and retry policy.
//   - CreateStream, WaitActive, DeleteStream, ListShards: stream lifecycle,
//     always through the SDK.
//   - Putter (SDK) and WirePutter (lean): PutRecords with per-record
//     retries (backoff with jitter).
//   - Reader: every shard read concurrently, reshards followed parent first,
//     until caught up or, with Follow, until its context ends.
//   - PutLoad, GetLoad: the measured loads of `penstock bench`, on the lean
//     client when their Wire is set, else on the SDK client. Each result
//     carries the CPU time the generator itself used during the run.
//
// Why the bench has a data-path client of its own: the SDK spends about
// 15 µs of CPU per 1 KiB record on PutRecords and 12 µs on GetRecords
// (schema-driven JSON, allocations per record, middleware per request).
// On a 2-core machine that the load generator shares with the server, and
// against a server that needs 25-35 µs per record, that caps the rate the
// generator can measure and inflates the penstock/kinesalite comparison's
// noise (kinesalite, single-threaded, is not limited by it). Package wire
// does the same protocol work (SigV4 with the SDK's signer, the SDK's
// retryer, every record's data really base64-decoded) in about a third of
// the CPU. The SDK path stays selectable (`penstock bench --client sdk`,
// Wire unset) to compare the two.
//
// Goroutines: Reader.Run, GetLoad.Run and PutLoad.Run start theirs and wait
// for all of them before returning.
//
// Errors are returned wrapped with the operation and stream they concern;
// AWS error codes stay reachable with errors.As (smithy.APIError), from the
// SDK and the lean client alike (wire.IsCode reads both).
package kclient
