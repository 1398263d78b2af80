// Package esm is penstock's event source mapping engine: the Lambda API's
// /2015-03-31/event-source-mappings operations and the pollers that read
// Kinesis shards and invoke functions with batches, with AWS Lambda's
// Kinesis semantics (../../shared/spec/esm.md).
//
// # Pieces
//
//   - api.go, config.go: Create/Get/Update/Delete/List with AWS's defaults,
//     ranges, error types and messages. Mappings live in the KV bucket
//     ESM_mappings (key = UUID), every update a compare-and-set.
//   - engine.go: Run watches ESM_mappings and keeps one mappingRun per
//     enabled mapping; it also moves transitional states (Creating,
//     Updating, Enabling, Disabling) to Enabled/Disabled once applied and
//     deletes a Deleting mapping with its checkpoints. Updates reach running
//     pollers through the watch, in milliseconds.
//   - mapping_run.go: a poller per shard; a child shard starts only after
//     every parent still in the shard map finished (read to its end and
//     checkpointed); new shards come from Streams.WatchShards.
//   - poller.go, lane.go: the picture in DESIGN.md. A poller reads ahead
//     (bounded: 2·BatchSize·PF records, at least 1000), hashes each
//     partition key (FNV-1a mod ParallelizationFactor) to a lane, and
//     writes the checkpoint (ESM_checkpoints, key <uuid>.<shardId>): the
//     lowest position not done over all lanes. An open shard is read
//     through a storage.Tail (an ordered consumer: records are pushed as
//     they are appended, read ahead while the lanes invoke); a closed one
//     with batch Direct Gets. An idle poller sleeps until the tail or
//     storage's append signal wakes it (plus a 1 s safety timer). Each
//     lane has one batch in flight.
//   - fate.go: the pure batch state machine (attempts, backoff, bisect
//     halves, age cut, partial failure), items.go: the
//     ReportBatchItemFailures response rules. Both are tested without I/O.
//   - event.go: the Kinesis event, each record encoded once when read; the
//     on-failure invocation record.
//   - filter.go: FilterCriteria validation and EventBridge-pattern matching
//     (pure); the poller drops records matching no filter before they reach
//     a lane, so the checkpoint passes them with the read cursor.
//   - window.go: tumbling windows: runWindowLane replaces runLane when
//     TumblingWindowInSeconds > 0; the window event and the state rules.
//   - metrics.go: per-mapping counters (Engine.Metrics) and the invoke
//     observer benchmarks use.
//   - lease.go: shard leases for cluster mode (below).
//   - tags.go: TagResource/UntagResource/ListTags on mapping ARNs (the
//     server routes those tags paths here, IsTagPath).
//   - kinesis.go, lambda.go: adapters from the Kinesis and Lambda services
//     to the Streams and Functions interfaces.
//
// # Guarantees
//
// At least once: a record is checkpointed only after the function
// succeeded with it or it was handed to the on-failure destination (or
// dropped when there is none). Checkpoints are written asynchronously after
// progress (coalesced) and once more when a poller stops, so a kill -9
// repeats at most the records done since the last write. Per partition key
// order holds with any ParallelizationFactor and across reshards.
//
// # Choices AWS does not document (UNCONFIRMED)
//
//   - Retry backoff: 1 s doubling to 10 s (Options.RetryBackoff), also for
//     invocation errors; throttles back off 50 ms doubling to the same cap.
//     Neither throttles nor invocation errors spend attempts.
//   - Bisect: on a function error, a batch of more than one record is split
//     at once (no retry of the whole first), older half first; each half
//     starts a fresh retry budget, so a lone poison record gets
//     1 + MaximumRetryAttempts invokes. approximateInvokeCount counts the
//     invokes of the records' last (sub)batch.
//   - Partial failure whose lowest failed record is the first of the batch:
//     counted as a retry of the same batch (no progress); later ones move
//     the checkpoint and the rest is retried as a new batch with its own
//     budget (this matches the recorded AWS run). Invalid responses and
//     partial failures do not trigger bisect.
//   - A response body that is not JSON, or batchItemFailures that is not a
//     list, with ReportBatchItemFailures on: complete failure.
//   - Window 0 sends what has been read, but a backlog (storage reports more
//     records right behind the last read and the read-ahead has room) is
//     sent in full batches, as AWS's GetRecords returns up to 10,000
//     records at once; closed shards are read 1,000 records per Direct Get.
//   - The batching window starts when the lane is free (after the previous
//     invoke), per spec/esm.md §3; the first window starts when the poller
//     starts.
//   - Lanes are independent: a failing lane blocks only its own keys; the
//     checkpoint cannot pass its records.
//   - LATEST and AT_TIMESTAMP are resolved once, when a shard's poller
//     first starts, and written as the checkpoint; children of shards this
//     mapping read start at their first record.
//   - A single record whose event is over 6 MB is still sent alone (Lambda
//     rejects it; it is then retried like any failing batch).
//   - Stream deleted under a running mapping: the mapping stays, pollers
//     retry, LastProcessingResult becomes "PROBLEM: Stream not found".
//   - UpdateEventSourceMapping is accepted in every state but Deleting
//     (AWS may answer ResourceInUseException while Creating/Updating; our
//     transitions take milliseconds).
//   - LastProcessingResult: "No records processed", "OK", "PROBLEM: Function
//     call failed", "PROBLEM: <invocation error>"; kept in memory.
//   - Filters see the Kinesis record fields (kinesisSchemaVersion,
//     partitionKey, sequenceNumber, approximateArrivalTimestamp, data
//     decoded from JSON) and the event's top-level fields (eventSource,
//     awsRegion, eventID, ...) in one object; AWS's current page names only
//     data. More than 5 filters: InvalidParameterValueException with our own
//     wording. Invalid patterns: the recorded "Invalid filter pattern
//     definition." (every syntax error, the 4096-char limit included).
//     exists true does not match an empty list; anything-but needs the field.
//   - Tumbling windows: aligned on multiples of the window since the epoch,
//     by arrival time; one window (and state) per lane, so per shard with
//     ParallelizationFactor 1 and per lane above. A window is over when the
//     engine clock passes its end, a later window's record is next, or its
//     closed shard was read to its end; its remaining records (at most a
//     batch) or none go with isFinalInvokeForWindow. Records arriving for a
//     window already closed open a new window instance with a fresh state.
//     A response without a state object is an invalid response (retried,
//     no bisect). A state over 1 MB: an invoke of its own without records,
//     carrying that state with isFinalInvokeForWindow and
//     isWindowTerminatedEarly true, then the same window afresh. A final
//     invoke without records is retried until it succeeds, whatever
//     MaximumRetryAttempts (nothing to give up). State is in memory only;
//     the checkpoint stays at the window's first record until its final
//     invoke succeeds, so a restart replays the window with a fresh state.
//
// # Not built
//
// Enhanced fan-out consumer ARNs and KMSKeyArn are not supported; filter
// operators cidr and anything-but lists of prefixes are not built (refused
// as invalid patterns); tumbling window state is not persisted.
//
// # Cluster mode
//
// Every node runs every enabled mapping, but a shard's poller runs only on
// the node holding its lease (lease.go: ESM_leases, per-key TTL, renewed
// every TTL/3 by a revision-conditional publish). A crashed node's shards
// move after Options.LeaseTTL (10 s); a stopped node releases them at once;
// a node restarted with the same Options.NodeID takes its leases back at
// once (embedded mode: always "embedded", so kill -9 and restart resume
// without waiting for the TTL).
// A node that loses its lease stops the poller; its last checkpoint write
// may then land after the new holder's (the checkpoint moves back, records
// are delivered again: at least once, never skipped).
package esm
