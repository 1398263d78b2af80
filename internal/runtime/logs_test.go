package runtime

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLogs(t *testing.T) {
	m, logs := newTestManager(t, nil)
	for _, l := range langs {
		t.Run(l.name, func(t *testing.T) {
			s := l.spec(t, "logs-"+l.name)
			var res [2]*Result
			for i := range res {
				id := fmt.Sprintf("log-%s-%d", l.name, i)
				r, err := m.Invoke(t.Context(), s, fmt.Appendf(nil, `{"action":"log","message":"hello %d"}`, i), InvokeOptions{RequestID: id, TailLog: true})
				if err != nil {
					t.Fatal(err)
				}
				res[i] = r
				lines := strings.Split(strings.TrimSuffix(r.LogTail, "\n"), "\n")
				if lines[0] != "START RequestId: "+id+" Version: $LATEST" && i == 1 {
					t.Errorf("tail starts with %q", lines[0])
				}
				if !strings.Contains(r.LogTail, fmt.Sprintf("hello %d", i)) {
					t.Errorf("tail lacks the handler's output:\n%s", r.LogTail)
				}
				n := len(lines)
				requireEqual(t, "END line", lines[n-2], "END RequestId: "+id)
				re := `^REPORT RequestId: ` + id + `\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\tMax Memory Used: [1-9]\d* MB\t`
				if i == 0 {
					re += `Init Duration: \d+\.\d\d ms\t`
				}
				if !regexp.MustCompile(re + `$`).MatchString(lines[n-1]) {
					t.Errorf("REPORT line %q does not match %q", lines[n-1], re)
				}
			}
			logs.waitLine(t, "END RequestId: log-"+l.name+"-1")

			// Without a tail the Runtime API handler writes END and
			// REPORT after handing the answer over: still after the
			// handler's output and before the next START.
			for i := range 3 {
				id := fmt.Sprintf("nolog-%s-%d", l.name, i)
				if _, err := m.Invoke(t.Context(), s, fmt.Appendf(nil, `{"action":"log","message":"quiet %d"}`, i), InvokeOptions{RequestID: id}); err != nil {
					t.Fatal(err)
				}
			}
			logs.waitLine(t, "END RequestId: nolog-"+l.name+"-2")
			checkFor(t, 5*time.Second, time.Millisecond, func() error {
				all := logs.all()
				first := slices.Index(all, "START RequestId: nolog-"+l.name+"-0 Version: $LATEST")
				if first < 0 {
					return fmt.Errorf("no START line for nolog-%s-0", l.name)
				}
				// Expect, per invocation: START, a line with its output,
				// END, REPORT, in this order.
				rest := all[first:]
				for i := range 3 {
					id := fmt.Sprintf("nolog-%s-%d", l.name, i)
					for _, want := range []string{"START RequestId: " + id, fmt.Sprintf("quiet %d", i), "END RequestId: " + id, "REPORT RequestId: " + id + "\t"} {
						j := slices.IndexFunc(rest, func(line string) bool { return strings.Contains(line, want) })
						if j < 0 {
							return fmt.Errorf("%q missing or out of order in:\n%s", want, strings.Join(all[first:], "\n"))
						}
						if strings.HasPrefix(want, "START") && j != 0 {
							return fmt.Errorf("lines before %q:\n%s", want, strings.Join(rest[:j], "\n"))
						}
						rest = rest[j+1:]
					}
				}
				return nil
			})
		})
	}
	if l := logs.all(); len(l) == 0 {
		t.Fatal("no lines reached the LogSink")
	}
}

func TestLogTailIsTheLast4KB(t *testing.T) {
	m, _ := newTestManager(t, nil)
	s := langs[0].spec(t, "tail")
	msg := strings.Repeat("a", 3000) + "MIDDLE" + strings.Repeat("b", 3000)
	res, err := m.Invoke(t.Context(), s, []byte(`{"action":"log","message":"`+msg+`"}`), InvokeOptions{RequestID: "tail-id", TailLog: true})
	if err != nil {
		t.Fatal(err)
	}
	requireEqual(t, "len(LogTail)", len(res.LogTail), 4096)
	// 2 lines of 6006+ bytes, then END and REPORT: START is cut off.
	if strings.Contains(res.LogTail, "START RequestId") || !strings.Contains(res.LogTail, strings.Repeat("b", 3000)+"\nEND RequestId: tail-id\n") {
		t.Errorf("tail does not look like the last 4 KB: %q...", res.LogTail[:100])
	}
	if !strings.HasSuffix(res.LogTail, "\n") || !strings.Contains(res.LogTail, "REPORT RequestId: tail-id\t") {
		t.Errorf("tail does not end with the REPORT line: ...%s", res.LogTail[len(res.LogTail)-200:])
	}
	res, err = m.Invoke(t.Context(), s, []byte(`{"action":"ping"}`), InvokeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	requireEqual(t, "LogTail without TailLog", res.LogTail, "")
}
