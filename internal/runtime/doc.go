// Package runtime runs Lambda functions as local processes behind the
// Lambda Runtime API (2018-06-01).
//
// # Design
//
// A Manager keeps one pool of execution environments per function name.
// An environment is one child process in its own process group plus its
// own Runtime API endpoint, an HTTP server on 127.0.0.1:<random port>
// whose address the process gets as AWS_LAMBDA_RUNTIME_API. That server is
// a small HTTP/1.1 implementation of its own (apiserver.go), not net/http:
// every warm invoke is two round trips on it, and net/http's per-request
// machinery (a background read, deadlines, header maps) was a third of
// the parent's CPU per invoke. It speaks what runtime clients send
// (keep-alive, Content-Length and chunked bodies with trailers, Expect:
// 100-continue, HTTP/1.0) and is fuzzed against net/http's request reader. Environments
// are started on demand, reused warm (most recently used first), stopped
// after Options.IdleTimeout, and replaced after a timeout, a crash, an
// init error or a new Spec.Revision. Manager.Run owns them all: when its
// context ends every process group is SIGKILLed and waited for.
//
// Invoke hands the event to the environment over a one-slot channel that
// the runtime's long-polling GET /next receives from; the POST /response
// (or /error) handler answers 202 at once (the runtime's next GET /next
// then overlaps our bookkeeping) and sends the answer on the invocation's
// channel.
// No other goroutine sits on the path, and nothing is polled. An
// environment goes back to its pool as soon as the answer arrives; the
// next event waits in the slot until the runtime asks for it (aws-lambda-go
// finishes an invocation by calling /next again).
//
// Runtimes:
//   - provided, provided.al2, provided.al2023: <CodeDir>/bootstrap (must be
//     executable; missing or not executable = Runtime.InvalidEntrypoint
//     "Couldn't find valid bootstrap(s): [...]" / "fork/exec ...: permission
//     denied", as AWS answers; esm.md §10.3's "exit status 127" comes from a
//     recording of a missing exec wrapper, not of a missing bootstrap).
//   - nodejs18.x … nodejs24.x: the machine's `node` runs the embedded shim
//     shims/node/bootstrap.js (written under WorkDir/runtime), whatever the
//     version named in the runtime identifier.
//   - python3.9 … python3.14: the machine's `python3 -u` runs
//     shims/python/bootstrap.py, whatever the minor version named.
//
// AWS_LAMBDA_EXEC_WRAPPER wraps the managed runtimes' command line as on
// AWS (via /bin/sh, so a missing wrapper exits 127 as recorded).
//
// The shims follow AWS's runtime interface clients: handler strings
// "file.export" (Node also "dir/file.a.b", .js/.cjs/.mjs), AWS's context
// objects, AWS's error bodies (Node: {errorType, errorMessage, trace};
// Python: {errorMessage, errorType, requestId, stackTrace}), and AWS's init
// error types (Runtime.ImportModuleError, Runtime.HandlerNotFound,
// Runtime.UserCodeSyntaxError, Runtime.MalformedHandlerName).
//
// Logs: stdout and stderr share one pipe per environment; a goroutine
// splits it into lines for Options.Logs. Invoke adds START, END and
// REPORT lines (esm.md §10.5). Before END it reads whatever the pipe still
// holds itself (non-blocking, never waiting for the pump goroutine), so
// everything the handler printed before answering comes before END and is
// in LogTail.
//
// # Choices AWS does not pin down (UNCONFIRMED)
//
//   - Throttling: no queueing. When a function has Spec.Concurrency
//     environments and all are busy, or the server has MaxEnvironments and
//     none is idle to evict, Invoke returns ErrThrottled at once, as AWS
//     does for synchronous invokes over reserved concurrency. An
//     environment counts as free the moment its answer arrives, so
//     back-to-back invokes with concurrency 1 never throttle.
//   - Caps count executions, not processes: at a function's cap an idle
//     environment of another version of it, at MaxEnvironments the least
//     recently used idle environment of any function, is stopped to make
//     room.
//   - Init is limited to 10 s (AWS's on-demand limit); past it the invoke
//     fails with Sandbox.Timedout ("Task timed out after 10.00 seconds")
//     instead of AWS's re-init inside the invoke. The function timeout
//     starts when init ends; Lambda-Runtime-Deadline-Ms is that end plus
//     Spec.Timeout.
//   - Exit wording: exit code 0 = "Runtime exited without providing a
//     reason"; otherwise "Runtime exited with error: <Go ProcessState>"
//     ("exit status 1", "signal: killed"), matching the recordings.
//   - A warm environment that dies before it took the event (e.g. a Go
//     handler that panicked on the previous invoke) is retried on a new
//     environment, up to twice.
//   - If Invoke's ctx ends mid-invocation the environment is killed (the
//     handler cannot be interrupted otherwise) and ctx.Err() is returned.
//   - Billed Duration is Duration rounded up to 1 ms, plus Init Duration
//     on cold starts of provided runtimes. Max Memory Used is VmHWM of the
//     environment's main process (not its children), read at most every
//     100 ms per environment (the read costs ~8 µs of kernel time, a
//     noticeable part of a warm invoke): back-to-back invocations may
//     report a peak up to 100 ms old. END and REPORT are written after the
//     answer is handed to the invoker unless it asked for the log tail.
//   - Node: a handler that neither returns a promise/value nor calls its
//     callback answers null when the event loop empties; with
//     callbackWaitsForEmptyEventLoop (default true) a callback result is
//     sent when the event loop empties, as on AWS.
//   - Python: "handler missing" is reported per invoke (as awslambdaric
//     does), not as an init error; the environment stays warm.
//   - INIT_START, INIT_REPORT, XRAY lines, response streaming (the body is
//     buffered, limits apply), extensions and layers are not implemented.
//   - MemoryMB is passed to the function and reported; it is not
//     enforced (no cgroups). There is no sandboxing beyond a process group.
//   - Linux only (process groups, Pdeathsig, /proc).
//   - Latency over CPU: while an invocation is in flight, the Runtime API
//     connection busy-polls up to Options.SpinWait (300 µs) for the
//     runtime's next request before it sleeps, at most GOMAXPROCS-1
//     connections at once, backing off where spinning does not pay
//     (spin.go). It costs ~40 µs of parent CPU per warm invocation and
//     saves ~40 % of a warm invoke's latency on these VMs; SpinWait < 0
//     (penstock server --invoke-spin 0) turns it off.
package runtime
