package runtime

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// BenchmarkInvokeWarm measures one in-process Invoke round trip on a warm
// environment: Manager → GET /next → handler → POST /response → Result.
func BenchmarkInvokeWarm(b *testing.B) {
	for _, l := range langs {
		b.Run(l.name, func(b *testing.B) {
			m, _ := newTestManager(b, func(o *Options) { o.Logs = discardSink{} })
			s := l.spec(b, "bench-warm-"+l.name)
			payload := []byte(`{"action":"ping"}`)
			if _, err := m.Invoke(b.Context(), s, payload, InvokeOptions{}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				res, err := m.Invoke(b.Context(), s, payload, InvokeOptions{RequestID: "bench"})
				if err != nil || res.FunctionError != "" || res.Cold {
					b.Fatalf("invoke: %v %s cold=%v", err, res.Payload, res.Cold)
				}
			}
		})
	}
}

// BenchmarkColdStart measures an Invoke that has to start a new
// environment (process start, runtime init, first event). init-ms is the
// init part (start to first GET /next).
func BenchmarkColdStart(b *testing.B) {
	for _, l := range langs {
		b.Run(l.name, func(b *testing.B) {
			m, _ := newTestManager(b, func(o *Options) { o.Logs = discardSink{} })
			s := l.spec(b, "bench-cold-"+l.name)
			var init time.Duration
			i := 0
			for b.Loop() {
				i++
				s.Revision = fmt.Sprint(i)
				res, err := m.Invoke(b.Context(), s, []byte(`{}`), InvokeOptions{})
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
		})
	}
}

// discardSink is a LogSink that drops lines (the lines are still built).
type discardSink struct{}

func (discardSink) WriteLog(string, time.Time, string) {}
