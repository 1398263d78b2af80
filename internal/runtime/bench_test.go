package runtime

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// BenchmarkInvokeWarm measures one in-process Invoke round trip on a warm
// environment: Manager → GET /next → handler → POST /response → Result.
// go, node and python are the test handlers answering {"action":"ping"}
// without output; go-example is examples/functions/go (aws-lambda-go, one
// log line per invocation), the function issue 3's goal is about. Each
// runs twice: spin (the default Options.SpinWait) and nospin (the
// connection parks at once, the baseline). parent-cpu-µs/op is this
// process's CPU per invocation (the function's process not included).
func BenchmarkInvokeWarm(b *testing.B) {
	type bench struct {
		name    string
		spec    func(b *testing.B) *Spec
		payload string
	}
	var benches []bench
	for _, l := range langs {
		benches = append(benches, bench{l.name, func(b *testing.B) *Spec { return l.spec(b, "bench-warm-"+l.name) }, `{"action":"ping"}`})
	}
	benches = append(benches, bench{"go-example", func(b *testing.B) *Spec {
		s := langs[0].spec(b, "bench-warm-go-example")
		s.CodeDir = buildGoExample(b)
		return s
	}, `{"name":"bench"}`})
	modes := []struct {
		name string
		spin time.Duration
	}{{"spin", 0}, {"nospin", -1}}
	for _, bn := range benches {
		for _, mode := range modes {
			b.Run(bn.name+"/"+mode.name, func(b *testing.B) {
				m, _ := newTestManager(b, func(o *Options) {
					o.Logs = discardSink{}
					o.SpinWait = mode.spin
				})
				s := bn.spec(b)
				payload := []byte(bn.payload)
				if _, err := m.Invoke(b.Context(), s, payload, InvokeOptions{}); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				lat := make([]time.Duration, 0, 1<<16)
				cpu0 := processCPU()
				for b.Loop() {
					t0 := time.Now()
					res, err := m.Invoke(b.Context(), s, payload, InvokeOptions{RequestID: "bench"})
					lat = append(lat, time.Since(t0))
					if err != nil || res.FunctionError != "" || res.Cold {
						b.Fatalf("invoke: %v %s cold=%v", err, res.Payload, res.Cold)
					}
				}
				reportPercentiles(b, lat)
				b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/1e3/float64(b.N), "parent-cpu-µs/op")
			})
		}
	}
}

// processCPU is the CPU time (user and system) this process used so far:
// the parent's side of an invocation (the function's process is not
// included).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// buildGoExample builds examples/functions/go as bootstrap in a temporary
// code dir.
func buildGoExample(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "bootstrap"), "../../examples/functions/go")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building examples/functions/go: %v\n%s", err, out)
	}
	return dir
}

// BenchmarkColdStart measures an Invoke that has to start a new
// environment (process start, runtime init, first event). init-ms is the
// init part (start to first GET /next).
func BenchmarkColdStart(b *testing.B) {
	for _, l := range langs {
		b.Run(l.name, func(b *testing.B) {
			m, _ := newTestManager(b, func(o *Options) { o.Logs = discardSink{} })
			s := l.spec(b, "bench-cold-"+l.name)
			// One start outside the measurement: the Manager resolves the
			// interpreter and writes the shims on its first invoke.
			s.Revision = "warm-up"
			if _, err := m.Invoke(b.Context(), s, []byte(`{}`), InvokeOptions{}); err != nil {
				b.Fatal(err)
			}
			m.Evict(s.Name)
			var init time.Duration
			var lat []time.Duration
			i := 0
			for b.Loop() {
				i++
				s.Revision = fmt.Sprint(i)
				t0 := time.Now()
				res, err := m.Invoke(b.Context(), s, []byte(`{}`), InvokeOptions{})
				lat = append(lat, time.Since(t0))
				if err != nil || res.FunctionError != "" || !res.Cold {
					b.Fatalf("invoke: %v %s cold=%v", err, res.Payload, res.Cold)
				}
				init += res.InitDuration
				b.StopTimer()
				var in struct{ PID int }
				if err := json.Unmarshal(res.Payload, &in); err != nil {
					b.Fatal(err)
				}
				m.Evict(s.Name)
				checkFor(b, 5*time.Second, time.Millisecond, func() error { return gone(in.PID) })
				b.StartTimer()
			}
			b.ReportMetric(float64(init.Microseconds())/1000/float64(i), "init-ms")
			reportPercentiles(b, lat)
		})
	}
}

// reportPercentiles adds the median and 90th percentile of single
// invocations (µs): on a shared machine ns/op is a mean that a few
// scheduling stalls move a lot.
func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*9/10].Nanoseconds())/1e3, "p90-µs")
}

// discardSink is a LogSink that drops lines (the lines are still built).
type discardSink struct{}

func (discardSink) WriteLog(string, time.Time, string) {}
