// Package lambda serves the AWS Lambda functions API (everything but event
// source mappings) on penstock's port, and gives the mapping engine the same
// functions in process: Function and Invoke, with no HTTP hop.
//
// # Storage
//
//   - Function metadata: one entry per function in the JetStream KV bucket
//     LAMBDA_functions (key = function name, value = JSON record). Every change
//     is a compare-and-set on the entry's revision (mutate retries on a
//     concurrent writer), so two nodes never lose each other's updates.
//   - Code: the deployment zip in the object store LAMBDA_code, named
//     "<function>/<sha256 hex>". Each node unpacks a package once into
//     CacheDir/<sha256 hex> (atomic rename of a temp dir, a marker file
//     tells a complete unpack) and reuses it; a node that did not take the
//     upload fetches it from the object store on first invoke. Packages no
//     function uses any more (deleted, replaced) are removed from the cache
//     when the service next starts.
//   - Event invocations: the work-queue stream LAMBDA_async (see Invoke).
//   - Logs: the runtime's LogSink is Logs, which publishes each line to the
//     stream LAMBDA_logs on subject lambda.logs.<function> (MaxAge 7 days,
//     MaxBytes 1 GiB, oldest discarded). GET /_penstock/logs/{function}
//     reads them back, optionally following (penstock logs FUNCTION -f).
//
// # States
//
// CreateFunction answers State "Pending" (StateReasonCode "Creating"); the
// background activator (Run) marks it "Active" with LastUpdateStatus
// "Successful" once the code is unpacked, which takes milliseconds.
// UpdateFunctionCode/Configuration answer LastUpdateStatus "InProgress" and
// become "Successful" the same way. Invocations during an update run the
// previous code and configuration (the record's Live snapshot), as AWS
// does; a second update while one is InProgress is ResourceConflictException.
// Run also finishes transitions a stopped process left behind.
//
// # Invoke
//
// RequestResponse runs through runtime.Manager.Invoke; function errors are
// 200 responses with X-Amz-Function-Error. Event invocations are checked,
// answered 202 and published to the JetStream work queue LAMBDA_async
// (subject lambda.async.<function>, MaxAge 6 h = AWS's maximum event age,
// 1 GiB), which Run's workers consume through one durable consumer: they
// survive restarts and any node may run them. Throttled ones are retried
// with backoff (NAK with delay); a function error is retried twice, after
// one and two minutes, by publishing the next attempt with a not-before
// time; an invocation cut short by shutdown is NAKed and runs again
// (at least once). DryRun
// checks the function and answers 204. Reserved concurrency 0 throttles
// before the runtime is called; any other reservation is Spec.Concurrency.
//
// # Choices where AWS is not pinned down (UNCONFIRMED)
//
//   - Invoking a function still Pending waits (up to 30 s) for it to turn
//     Active instead of failing with ResourceConflictException: the
//     transition here takes milliseconds and callers (the mapping engine,
//     scripts that skip `aws lambda wait function-active-v2`) would only
//     retry.
//   - A full Event queue (1 GiB) is TooManyRequestsException (AWS's queue
//     has no documented bound). A function error is retried twice, after
//     one and two minutes (AWS's defaults, same request id); there is no
//     event invoke config to change that, and no destinations.
//   - The Event payload limit is 1048576 bytes (current model) and its
//     message names the InvokeFunction operation.
//   - With reserved concurrency 0, Event invocations are accepted (202)
//     and then throttled and retried until they are 6 hours old.
//   - Only $LATEST exists: Publish is refused (InvalidParameterValueException),
//     other qualifiers are ResourceNotFoundException.
//   - Code from S3 (S3Bucket/S3Key), container images and layers are refused
//     with InvalidParameterValueException naming what to do instead.
//   - A zip entry that would land outside the function directory (absolute
//     path or "..", the "zip slip"), or a symlink pointing outside it, is
//     InvalidParameterValueException "Could not unzip uploaded file: ...".
//   - ResourceConflictException for a duplicate name says "Function already
//     exist: <name>" (LocalStack's text; AWS's is not recorded).
//   - GetFunction's Code.Location is a penstock URL
//     (/_penstock/code/<function>?sha256=<hex>) serving the zip, in place of
//     a presigned S3 URL.
//   - Tags on event source mapping ARNs are not served here.
//   - Reserved concurrency is enforced per node (each node's runtime caps
//     the function at N environments), so a cluster of k nodes may run up
//     to k×N at once.
package lambda
