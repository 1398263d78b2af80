// Package kinesis serves the Amazon Kinesis Data Streams API (JSON 1.1 and
// CBOR) over penstock's storage, and gives the mapping engine a Go API to
// the same streams.
//
// # Lifecycle
//
// New opens the metadata bucket (KINESIS_streams) and the server bucket
// (KINESIS_server, which holds the iterator key) and loads every stream into
// a cache. ServeHTTP answers API calls. Run finishes timed state
// transitions, deletes closed shards once their records have all expired,
// and, against an external NATS cluster, follows metadata changes made by
// other nodes. Run returns when its context ends.
//
// # Model
//
// A stream is one KV entry (streamMeta, JSON) updated only by
// compare-and-set on the entry's revision. Each shard is one storage log
// named "<stream>/<shardId>/<stream creation nanos>", so a re-created stream
// never sees the old one's records. Shard ids come from a stream-wide
// counter. Closing a shard (SplitShard, MergeShards, UpdateShardCount) marks
// it closed with EndSeq = its log's last seq; the log is never sealed in
// JetStream (that would stop retention) and is deleted once every record in
// it has expired (closedAt + retention).
//
// A write holds its stream's gate (an RWMutex) for reading from the metadata
// lookup to the end of the Append; closing shards holds it for writing while
// it reads the logs' last seqs and commits the new metadata. No Append can
// therefore land in a shard after its EndSeq was taken. The gate is in
// memory: with several nodes on one NATS cluster, a write on another node
// can race a reshard (UNCONFIRMED territory for us; single node is exact).
//
// A reshard creates the children's logs before it commits the metadata; a
// crash in between leaves empty logs that nothing references (not
// reclaimed). CreateStream creates its logs when CREATING ends, and Run
// finishes that after a crash.
//
// Throttling state (Options.Throttle) is per node and in memory.
//
// Sequence numbers are 56 decimal digits: "49", the shard index (10
// digits), the storage seq (20 digits) and 24 zeros. They strictly increase
// within a shard, are unique in a stream and compare as big integers (or as
// fixed-length strings). StartingSequenceNumber is seq 0, below every record;
// a closed shard's EndingSequenceNumber encodes EndSeq. A sequence number of
// another shard is refused with AWS's "It encodes shardId-…" message.
//
// Shard iterators are base64 of (version, stream creation nanos, shard
// index, next seq, issue time, stream name) plus a 16-byte HMAC-SHA256 under
// a random per-server key kept in KV, so iterators survive restarts, are
// refused when tampered ("Invalid ShardIterator.") and expire after 300 s
// by the service clock (Options.Now).
//
// Retention is enforced twice: JetStream MaxAge (SetLogMaxAge) removes old
// records physically, and reads skip records older than the retention by
// the service clock, so the cut is exact and testable with an injected
// clock.
//
// # Wire
//
// Both codecs decode into one generic tree, then a typed reader and a
// validator run the same checks for JSON and CBOR, in AWS's order:
// method, empty body, content type, syntax, operation, member types
// (SerializationException with Java-style messages), constraints
// (ValidationException, "N validation error(s) detected: …", at most 10
// items), then the operation. CBOR timestamps are accepted tagged (tag 1)
// or untagged, integer or float, in epoch milliseconds (a tag-1 value that
// would fall after year 5000 as seconds is read as milliseconds; plausible
// values as standard CBOR seconds); responses write tag 1 + integer
// milliseconds and blobs as byte strings. Operations without output answer
// 200 with an empty body.
//
// The data plane has JSON fast paths (fastpath.go): PutRecords, PutRecord
// and GetRecords bodies of the usual shape (known members once each, no
// nulls, strings without escapes, plain integers) are scanned straight into
// the same typed request the generic reader builds (record data decoded
// from base64 into one buffer per request), and validated and run by the
// same code; any other body takes the generic path, so errors are the
// generic path's. FuzzFastPath checks both readers agree. Their answers
// are typed values that append JSON into pooled buffers (base64 and
// strconv straight into the buffer) and build the generic tree for CBOR.
// A GetRecords answer (up to 14 MB) is not built whole: its parts around
// the record data are appended once, giving the exact Content-Length, and
// the response is written in 256 KiB chunks with each record's data
// base64-encoded into the chunk (base64.go: a table encoder twice as fast
// as encoding/base64, same bytes).
//
// # Enhanced fan-out
//
// Consumers live in their stream's metadata (20 per stream). SubscribeToShard
// (subscribe.go) writes AWS event-stream messages to the open response:
// initial-response, then SubscribeToShardEvent on every append (storage
// Watch, no polling) and at least every 5 s, ChildShards and the end at a
// closed shard's end, an exception event when the subscription is taken
// over (after 5 s; earlier attempts get ResourceInUseException), the
// consumer is deregistered or the stream deleted. A subscription ends after
// 5 minutes, or when Run stops (so graceful shutdown is not held up).
// The response starts 10 ms after the request (a network's worth): Go SDK
// clients race their own request-body close against net/http's last read
// of it, and a fast answer makes them drop the connection (see
// subscribe.go). Events carry at most 2 MiB of records. The per-consumer read rate limit
// (2 MiB/s per shard) is not enforced.
//
// # Choices where AWS's behaviour is UNCONFIRMED
//
//   - Neither StreamName nor StreamARN: ValidationException naming
//     streamName as null. Both given and disagreeing: InvalidArgumentException.
//   - A StreamARN of another account or region: ResourceNotFoundException
//     naming that account (matches the recorded CBOR error).
//   - PutRecords total: AWS's current 10 MiB (data + partition keys), above
//     which the request fails with InvalidArgumentException "Records size
//     exceeds 10 MB limit". Record data: the stream's MaxRecordSizeInKiB
//     (default 1 MiB, settable to 10 MiB at creation or with
//     UpdateMaxRecordSize); larger is a ValidationException whose limit is
//     the stream's (1048576 by default).
//   - CreateStream without ShardCount gives 4 shards in either mode
//     (recorded for PROVISIONED); ON_DEMAND streams never scale themselves.
//   - UpdateShardCount limits (over double / below half the open count) are
//     LimitExceededException with AWS's wording as commonly reported; the
//     reshape is a sequence of ordinary splits then merges towards the
//     uniform layout, so each new shard has at most two parents. The 10
//     scaling operations per 24 h limit is not enforced.
//   - State dwell (Options.StateDelay): 0 finishes transitions inside the
//     request; otherwise the stream shows CREATING/UPDATING/DELETING for the
//     delay. Resharding takes effect at once; the stream is UPDATING for
//     the delay. Writes to a CREATING stream get ResourceNotFoundException.
//   - More than 50 tags: LimitExceededException with kinesalite's message
//     shape. Tags per call: 1..200.
//   - ListShards AT_TRIM_HORIZON / AT_TIMESTAMP: shards open at that time
//     (the stream's initial shards count as open from its creation).
//   - Consumer messages: duplicate name ResourceInUseException "Consumer X
//     under stream S already exists for account A."; DeleteStream with
//     consumers and without EnforceConsumerDeletion ResourceInUseException
//     "Stream S under account A has registered consumers."
//   - Throttling (Options.Throttle): per shard, token buckets of 1 MiB and
//     1000 records that refill per second (so a shard may burst one
//     second's worth), counting data + partition key.
package kinesis
