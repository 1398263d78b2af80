package runtime

import (
	"errors"
	"log/slog"
	"time"
)

// ErrThrottled means the function (Spec.Concurrency) or the server
// (Options.MaxEnvironments) has no environment free for this invoke. The
// Lambda API maps it to TooManyRequestsException.
var ErrThrottled = errors.New("runtime: concurrency limit reached")

// ErrStopped is returned by Invoke once the Manager's Run context has ended.
var ErrStopped = errors.New("runtime: manager stopped")

// ErrUnsupportedRuntime is wrapped by CheckRuntime for runtimes penstock cannot run.
var ErrUnsupportedRuntime = errors.New("runtime: unsupported runtime")

// Options configures a Manager.
type Options struct {
	Logger    *slog.Logger
	Region    string
	AccountID string
	// WorkDir holds the runtime shims and per-environment scratch dirs.
	// Empty = a directory under os.TempDir().
	WorkDir string
	// MaxEnvironments caps live environments over all functions. 0 = 64.
	MaxEnvironments int
	// IdleTimeout stops environments idle this long. 0 = 5 minutes.
	IdleTimeout time.Duration
	// Credentials are passed to every function (AWS_ACCESS_KEY_ID, ...).
	Credentials map[string]string
	// Logs receives every log line of every environment. nil = discard.
	Logs LogSink
	// SpinWait is how long a Runtime API connection busy-polls for the
	// runtime's next request before it parks (spin.go): lower warm-invoke
	// latency for some CPU. 0 = 300 µs; negative = never spin.
	SpinWait time.Duration
}

// LogSink receives function log lines: the process's stdout and stderr
// and the platform lines START, END, REPORT. WriteLog is called from many
// goroutines at once and must not block for long.
type LogSink interface {
	WriteLog(function string, at time.Time, line string)
}

// Spec is what the runtime needs to know about a function to run it.
type Spec struct {
	Name, ARN, Version, Runtime, Handler string
	// CodeDir is the unpacked deployment package (LAMBDA_TASK_ROOT, cwd).
	CodeDir string
	// Revision identifies code + configuration; environments started for
	// another revision are replaced.
	Revision string
	Timeout  time.Duration // 0 = 3 s
	MemoryMB int           // 0 = 128
	Env      map[string]string
	// Concurrency caps this function's environments; 0 = the server cap.
	// (Reserved concurrency 0, "throttle everything", is the caller's to
	// enforce: it must not call Invoke.)
	Concurrency int
}

// InvokeOptions are per-invocation settings.
type InvokeOptions struct {
	RequestID string // "" = a new UUID
	TailLog   bool   // fill Result.LogTail
	// ClientContext is X-Amz-Client-Context as received (base64 JSON); it
	// is decoded before it reaches the runtime. Raw JSON is passed as is.
	ClientContext string
}

// Result is the outcome of one invocation. A function error is a Result
// with FunctionError "Unhandled", not a Go error.
type Result struct {
	Payload       []byte
	FunctionError string // "" or "Unhandled" (X-Amz-Function-Error)
	ErrorType     string // e.g. "Sandbox.Timedout", "Runtime.ExitError", the handler's errorType
	LogTail       string // last 4 KB of the invocation's log lines when TailLog
	RequestID     string
	Cold          bool
	Duration      time.Duration
	InitDuration  time.Duration // cold starts only
}
