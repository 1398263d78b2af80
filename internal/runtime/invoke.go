package runtime

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"time"

	"github.com/google/uuid"
)

// initLimit bounds a cold start's init phase (AWS: 10 s). The invoke's own
// timeout starts when init ends.
const initLimit = 10 * time.Second

// Invoke runs one invocation of fn synchronously. Function failures
// (handler error, timeout, crash, init error, oversized response) are a
// Result with FunctionError "Unhandled"; the error return is for
// ErrThrottled, ErrStopped, an unusable spec, or ctx ending (the
// environment is then killed).
func (m *Manager) Invoke(ctx context.Context, fn *Spec, payload []byte, o InvokeOptions) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k, ok := runtimeKind(fn.Runtime)
	if !ok {
		return nil, CheckRuntime(fn.Runtime)
	}
	id := o.RequestID
	if id == "" {
		id = uuid.NewString()
	}
	for attempt := 0; ; attempt++ {
		e, cold, err := m.acquire(fn, k)
		if err != nil {
			var se *startError
			if errors.As(err, &se) {
				return m.startFailed(fn, id, se), nil
			}
			return nil, err
		}
		res, retry, err := m.invokeOn(ctx, e, cold, id, payload, o)
		if retry && attempt < 2 {
			continue // a warm environment died before it took the event
		}
		if retry {
			return nil, fmt.Errorf("invoking %s: environments keep exiting before taking the event", fn.Name)
		}
		return res, err
	}
}

// invokeOn runs the invocation on e, which the caller holds exclusively.
// retry means e died before the event was delivered.
func (m *Manager) invokeOn(ctx context.Context, e *env, cold bool, id string, payload []byte, o InvokeOptions) (res *Result, retry bool, err error) {
	m.spin.running.Add(1)
	defer m.spin.running.Add(-1)
	to := timeout(&e.spec)
	inv := &invocation{
		id:            id,
		payload:       payload,
		arn:           e.spec.ARN,
		version:       version(&e.spec),
		traceID:       traceID(),
		clientContext: clientContext(o.ClientContext),
		timeout:       to,
		cold:          cold,
		tail:          o.TailLog,
		deliveredCh:   make(chan struct{}),
		done:          make(chan outcome, 1),
	}
	if !cold {
		inv.deadline = time.Now().Add(to)
	}
	e.logs.startTail(o.TailLog)
	select {
	case e.invokes <- inv:
	default:
		e.logs.endTail()
		m.discard(e)
		return nil, true, nil
	}

	if cold {
		initTimer := time.NewTimer(initLimit)
		select {
		case <-inv.deliveredCh:
			initTimer.Stop()
		case <-e.dead:
			initTimer.Stop()
			return m.died(e, inv)
		case <-initTimer.C:
			return m.timedOut(e, inv, initLimit), false, nil
		case <-ctx.Done():
			initTimer.Stop()
			m.abandon(e)
			return nil, false, ctx.Err()
		}
	}

	timer := time.NewTimer(time.Until(inv.deadline))
	defer timer.Stop()
	select {
	case out := <-inv.done:
		return m.answered(e, inv, out), false, nil
	case <-e.dead:
		return m.died(e, inv)
	case <-timer.C:
		select {
		case out := <-inv.done: // answered just in time
			return m.answered(e, inv, out), false, nil
		default:
		}
		return m.timedOut(e, inv, to), false, nil
	case <-ctx.Done():
		m.abandon(e)
		return nil, false, ctx.Err()
	}
}

// answered finishes an invocation the runtime answered.
func (m *Manager) answered(e *env, inv *invocation, out outcome) *Result {
	res := &Result{Payload: out.payload, RequestID: inv.id, ErrorType: out.errType}
	if out.errType != "" {
		res.FunctionError = "Unhandled"
	}
	if inv.tail {
		m.finish(e, inv, res, out.at.Sub(inv.deliveredAt))
	} else {
		timing(e, inv, res, out.at.Sub(inv.deliveredAt)) // the API handler reports
	}
	m.release(e, true)
	return res
}

// died finishes an invocation whose environment ended under it: an init
// error, or the process exited. A warm environment that died before it
// took the event is retried elsewhere.
func (m *Manager) died(e *env, inv *invocation) (*Result, bool, error) {
	if inv.claimed.Load() {
		// Answered, then exited (e.g. aws-lambda-go after a panic): the
		// answer may still be on its way from the API handler.
		select {
		case out := <-inv.done:
			return m.answered(e, inv, out), false, nil
		case <-time.After(time.Second):
		}
	}
	if m.isStopped() {
		e.logs.endTail()
		m.discard(e)
		return nil, false, ErrStopped
	}
	e.mu.Lock()
	initErr := e.initErr
	e.mu.Unlock()
	if initErr != nil {
		res := &Result{Payload: initErr.payload, ErrorType: initErr.errType, FunctionError: "Unhandled", RequestID: inv.id}
		m.finish(e, inv, res, 0)
		m.discard(e)
		return res, false, nil
	}
	if !inv.cold && !inv.delivered.Load() {
		e.logs.endTail()
		m.discard(e)
		return nil, true, nil
	}
	select {
	case <-e.exited:
	case <-time.After(time.Second):
	}
	msg := "RequestId: " + inv.id + " Error: " + exitReason(e.exitErr)
	res := &Result{
		Payload:       mustJSON(struct{ ErrorType, ErrorMessage string }{"Runtime.ExitError", msg}),
		FunctionError: "Unhandled", ErrorType: "Runtime.ExitError", RequestID: inv.id,
	}
	var d time.Duration
	if inv.delivered.Load() {
		d = time.Since(inv.deliveredAt)
	}
	m.finish(e, inv, res, d)
	m.discard(e)
	return res, false, nil
}

// exitReason words a runtime exit as AWS does.
func exitReason(err error) string {
	var ee *exec.ExitError
	if err == nil || (errors.As(err, &ee) && ee.ExitCode() == 0) {
		return "Runtime exited without providing a reason"
	}
	if errors.As(err, &ee) {
		return "Runtime exited with error: " + ee.ProcessState.String()
	}
	return "Runtime exited with error: " + err.Error()
}

// timedOut kills e and returns the Sandbox.Timedout result.
func (m *Manager) timedOut(e *env, inv *invocation, after time.Duration) *Result {
	e.kill()
	e.logs.platform(time.Now().UTC().Format("2006-01-02T15:04:05.000Z") + " " + inv.id + " " + timeoutMessage(after))
	res := &Result{
		Payload: mustJSON(struct{ ErrorType, ErrorMessage string }{
			"Sandbox.Timedout", "RequestId: " + inv.id + " Error: " + timeoutMessage(after)}),
		FunctionError: "Unhandled", ErrorType: "Sandbox.Timedout", RequestID: inv.id,
	}
	m.finish(e, inv, res, after)
	m.discard(e)
	return res
}

// abandon kills an environment whose caller went away mid-invocation.
func (m *Manager) abandon(e *env) {
	e.logs.endTail()
	m.discard(e)
}

// finish fills the timing fields of res, writes END and REPORT (unless the
// Runtime API handler already did) and takes the log tail.
func (m *Manager) finish(e *env, inv *invocation, res *Result, d time.Duration) {
	timing(e, inv, res, d)
	e.report(inv, d, res.InitDuration)
	res.LogTail = e.logs.endTail()
}

// timing fills the timing fields of res.
func timing(e *env, inv *invocation, res *Result, d time.Duration) {
	res.Cold = inv.cold
	res.Duration = d
	if inv.cold {
		res.InitDuration = e.initTime()
	}
}

// report writes the invocation's END and REPORT lines, once: after an
// answer the Runtime API handler writes them (off the invoker's path)
// unless the invoker wants the log tail; timeouts, crashes and init errors
// write them from the invoker. It first waits until everything the
// function printed has been turned into lines, so they come before END.
func (e *env) report(inv *invocation, d, initDur time.Duration) {
	if !inv.reported.CompareAndSwap(false, true) {
		return
	}
	e.logs.flush()
	billed := billedMS(d)
	if inv.cold && e.kind == kindProvided {
		billed += billedMS(initDur)
	}
	if !inv.delivered.Load() { // init failed or timed out: START was not written yet
		e.logs.platform(startLine(inv.id, inv.version))
	}
	e.logs.platform(endLine(inv.id))
	e.logs.platform(reportLine(inv.id, d, billed, memoryMB(&e.spec), e.mem.maxMB(), initDur))
}

// startFailed is the result when the entry point could not be executed.
func (m *Manager) startFailed(fn *Spec, id string, se *startError) *Result {
	m.log.Warn("runtime did not start", "function", fn.Name, "err", se.err)
	msg := "RequestId: " + id + " Error: " + se.reason()
	if m.o.Logs != nil {
		now := time.Now()
		for _, l := range []string{startLine(id, version(fn)), endLine(id), reportLine(id, 0, 0, memoryMB(fn), 0, 0), msg, "Runtime.InvalidEntrypoint"} {
			m.o.Logs.WriteLog(fn.Name, now, l)
		}
	}
	return &Result{
		Payload:       mustJSON(struct{ ErrorType, ErrorMessage string }{"Runtime.InvalidEntrypoint", msg}),
		FunctionError: "Unhandled", ErrorType: "Runtime.InvalidEntrypoint", RequestID: id, Cold: true,
	}
}

// mustJSON encodes {errorType, errorMessage} in that order (as recorded).
func mustJSON(v struct{ ErrorType, ErrorMessage string }) []byte {
	b, _ := json.Marshal(struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}{v.ErrorType, v.ErrorMessage})
	return b
}

// traceID makes an X-Ray style trace header value.
func traceID() string {
	return fmt.Sprintf("Root=1-%08x-%012x%012x;Parent=%016x;Sampled=0",
		time.Now().Unix(), rand.Uint64()&0xffffffffffff, rand.Uint64()&0xffffffffffff, rand.Uint64())
}

// clientContext turns X-Amz-Client-Context (base64 JSON) into the JSON the
// Runtime API header carries; JSON passes through.
func clientContext(s string) string {
	if s == "" || s[0] == '{' {
		return s
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(bytes.TrimSpace(b)) > 0 && json.Valid(b) {
		return string(b)
	}
	return s
}
