// Package kclient is the small Kinesis client layer behind penstock's
// command-line tools (put, tail, bench). It speaks the public Kinesis Data
// Streams API through aws-sdk-go-v2, so every tool works against any Kinesis
// endpoint: penstock, AWS itself, or an emulator such as kinesalite.
//
// The pieces:
//
//   - New: a *kinesis.Client for an endpoint with static credentials, keep-alive
//     connections for concurrent callers and no client-side retry quota.
//   - CreateStream, WaitActive, DeleteStream, ListShards: stream lifecycle.
//   - Putter: PutRecords with per-record retries (backoff with jitter).
//   - Reader: every shard read concurrently, reshards followed parent first,
//     until caught up or, with Follow, until its context ends.
//   - PutLoad, GetLoad: the measured loads of `penstock bench`.
//
// Goroutines: Reader.Run and PutLoad.Run start theirs and wait for all of
// them before returning.
//
// Errors are returned wrapped with the operation and stream they concern;
// AWS error codes stay reachable with errors.As (smithy.APIError).
package kclient
