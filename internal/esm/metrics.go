package esm

import (
	"sync"
	"sync/atomic"
	"time"
)

// Metrics are one mapping's counters (spec/esm.md §9), kept in process.
// Counters only grow; gauges hold the latest value.
type Metrics struct {
	Invocations                             atomic.Int64
	Errors                                  atomic.Int64
	Throttles                               atomic.Int64
	DurationTotalMs                         atomic.Int64 // sum of handler durations
	DurationMaxMs                           atomic.Int64
	ConcurrentExecutions                    atomic.Int64 // gauge: invokes in flight
	IteratorAgeMs                           atomic.Int64 // gauge: age of the last record of the last event sent
	PolledEventCount                        atomic.Int64
	FilteredOutEventCount                   atomic.Int64
	InvokedEventCount                       atomic.Int64
	FailedInvokeEventCount                  atomic.Int64
	DroppedEventCount                       atomic.Int64
	OnFailureDestinationDeliveredEventCount atomic.Int64
	DestinationDeliveryFailures             atomic.Int64

	mu         sync.Mutex
	lastResult string // LastProcessingResult; guarded by mu
}

// MetricsSnapshot is a point-in-time copy of Metrics.
type MetricsSnapshot struct {
	Invocations, Errors, Throttles            int64
	DurationTotalMs, DurationMaxMs            int64
	ConcurrentExecutions, IteratorAgeMs       int64
	PolledEventCount, InvokedEventCount       int64
	FilteredOutEventCount                     int64
	FailedInvokeEventCount, DroppedEventCount int64
	OnFailureDestinationDeliveredEventCount   int64
	DestinationDeliveryFailures               int64
	LastProcessingResult                      string
}

// Snapshot copies the counters.
func (m *Metrics) Snapshot() MetricsSnapshot {
	return MetricsSnapshot{
		Invocations: m.Invocations.Load(), Errors: m.Errors.Load(), Throttles: m.Throttles.Load(),
		DurationTotalMs: m.DurationTotalMs.Load(), DurationMaxMs: m.DurationMaxMs.Load(),
		ConcurrentExecutions: m.ConcurrentExecutions.Load(), IteratorAgeMs: m.IteratorAgeMs.Load(),
		PolledEventCount: m.PolledEventCount.Load(), InvokedEventCount: m.InvokedEventCount.Load(),
		FilteredOutEventCount:  m.FilteredOutEventCount.Load(),
		FailedInvokeEventCount: m.FailedInvokeEventCount.Load(), DroppedEventCount: m.DroppedEventCount.Load(),
		OnFailureDestinationDeliveredEventCount: m.OnFailureDestinationDeliveredEventCount.Load(),
		DestinationDeliveryFailures:             m.DestinationDeliveryFailures.Load(),
		LastProcessingResult:                    m.result(),
	}
}

func (m *Metrics) setResult(s string) {
	m.mu.Lock()
	m.lastResult = s
	m.mu.Unlock()
}

func (m *Metrics) result() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastResult
}

func (m *Metrics) observeDuration(d time.Duration) {
	ms := d.Milliseconds()
	m.DurationTotalMs.Add(ms)
	for {
		cur := m.DurationMaxMs.Load()
		if ms <= cur || m.DurationMaxMs.CompareAndSwap(cur, ms) {
			return
		}
	}
}

// InvokeObserver is told when each invoke starts, with the records'
// arrival times: the hook benchmarks use to measure end-to-end latency.
type InvokeObserver func(mappingUUID string, start time.Time, arrivals []time.Time)
