package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/penstock/penstock/internal/kclient"
)

// benchReport is what `penstock bench` prints (--json prints it as is).
type benchReport struct {
	Op        string      `json:"op"`
	Endpoint  string      `json:"endpoint"`
	Params    benchParams `json:"params"`
	Runs      []benchRun  `json:"runs"`
	Median    benchRun    `json:"median"`
	ServerCPU bool        `json:"-"` // runs carry the server's CPU time
	ClientCPU bool        `json:"-"` // runs carry the bench's own CPU time
}

type benchParams struct {
	Producers  int    `json:"producers"`
	Records    int64  `json:"records"`
	RecordSize int    `json:"record_size"`
	Batch      int    `json:"batch"`
	Shards     int    `json:"shards"`
	Limit      int    `json:"limit,omitempty"`
	Duration   string `json:"duration,omitempty"`
	Runs       int    `json:"runs"`
	Stream     string `json:"stream,omitempty"`
	Client     string `json:"client"` // lean or sdk
}

// benchRun is one run; in Median each field is the median over the runs.
type benchRun struct {
	Records       int64   `json:"records"`
	Bytes         int64   `json:"bytes"`
	Requests      int64   `json:"requests"`
	Retried       int64   `json:"retried_records"`
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MiBPerSec     float64 `json:"mib_per_sec"`
	P50Ms         float64 `json:"p50_ms"`
	P99Ms         float64 `json:"p99_ms"`
	MaxMs         float64 `json:"max_ms"`
	// CPU time of the --server-pid process during the run, and per record.
	ServerCPUSeconds     float64 `json:"server_cpu_seconds,omitempty"`
	ServerCPUUsPerRecord float64 `json:"server_cpu_us_per_record,omitempty"`
	// CPU time of the bench process itself (all its goroutines) during the
	// run, and per record.
	ClientCPUSeconds     float64 `json:"client_cpu_seconds,omitempty"`
	ClientCPUUsPerRecord float64 `json:"client_cpu_us_per_record,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// add records a run; serverCPU < 0 (and res.CPU < 0) means not measured.
func (r *benchReport) add(res kclient.LoadResult, serverCPU time.Duration) {
	run := benchRun{
		Records: res.Records, Bytes: res.Bytes, Requests: res.Requests, Retried: res.Retried,
		Seconds: res.Elapsed.Seconds(), RecordsPerSec: res.RecordsPerSec(), MiBPerSec: res.MiBPerSec(),
		P50Ms: ms(res.Percentile(0.50)), P99Ms: ms(res.Percentile(0.99)), MaxMs: ms(res.Percentile(1)),
	}
	if serverCPU >= 0 && res.Records > 0 {
		r.ServerCPU = true
		run.ServerCPUSeconds = serverCPU.Seconds()
		run.ServerCPUUsPerRecord = float64(serverCPU.Microseconds()) / float64(res.Records)
	}
	if res.CPU >= 0 && res.Records > 0 {
		r.ClientCPU = true
		run.ClientCPUSeconds = res.CPU.Seconds()
		run.ClientCPUUsPerRecord = float64(res.CPU.Microseconds()) / float64(res.Records)
	}
	r.Runs = append(r.Runs, run)
	r.Median = benchRun{
		Records:              int64(median(r.Runs, func(b benchRun) float64 { return float64(b.Records) })),
		Bytes:                int64(median(r.Runs, func(b benchRun) float64 { return float64(b.Bytes) })),
		Requests:             int64(median(r.Runs, func(b benchRun) float64 { return float64(b.Requests) })),
		Retried:              int64(median(r.Runs, func(b benchRun) float64 { return float64(b.Retried) })),
		Seconds:              median(r.Runs, func(b benchRun) float64 { return b.Seconds }),
		RecordsPerSec:        median(r.Runs, func(b benchRun) float64 { return b.RecordsPerSec }),
		MiBPerSec:            median(r.Runs, func(b benchRun) float64 { return b.MiBPerSec }),
		P50Ms:                median(r.Runs, func(b benchRun) float64 { return b.P50Ms }),
		P99Ms:                median(r.Runs, func(b benchRun) float64 { return b.P99Ms }),
		MaxMs:                median(r.Runs, func(b benchRun) float64 { return b.MaxMs }),
		ServerCPUSeconds:     median(r.Runs, func(b benchRun) float64 { return b.ServerCPUSeconds }),
		ServerCPUUsPerRecord: median(r.Runs, func(b benchRun) float64 { return b.ServerCPUUsPerRecord }),
		ClientCPUSeconds:     median(r.Runs, func(b benchRun) float64 { return b.ClientCPUSeconds }),
		ClientCPUUsPerRecord: median(r.Runs, func(b benchRun) float64 { return b.ClientCPUUsPerRecord }),
	}
}

// median of f over runs (the mean of the middle two for an even count).
func median(runs []benchRun, f func(benchRun) float64) float64 {
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func (r *benchReport) print(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	p := r.Params
	fmt.Fprintf(w, "penstock bench %s against %s (%s client)\n", r.Op, r.Endpoint, r.Params.Client)
	records := fmt.Sprint(p.Records)
	if p.Records == 0 {
		records = "unlimited"
	}
	switch {
	case r.Op == "get" && p.Stream != "":
		fmt.Fprintf(w, "  stream %s as it is, GetRecords limit %d", p.Stream, p.Limit)
	case r.Op == "get":
		fmt.Fprintf(w, "  filled by %d producers with %s records of %d bytes, batch %d, %d shards, GetRecords limit %d",
			p.Producers, records, p.RecordSize, p.Batch, p.Shards, p.Limit)
	case p.Stream != "":
		fmt.Fprintf(w, "  %d producers, %s records of %d bytes, batch %d, into stream %s", p.Producers, records, p.RecordSize, p.Batch, p.Stream)
	default:
		fmt.Fprintf(w, "  %d producers, %s records of %d bytes, batch %d, %d shards", p.Producers, records, p.RecordSize, p.Batch, p.Shards)
	}
	if p.Duration != "" && p.Duration != "0s" {
		fmt.Fprintf(w, ", duration %s", p.Duration)
	}
	fmt.Fprintln(w)
	lat := "PutRecords"
	if r.Op == "get" {
		lat = "GetRecords"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	cpuHead := ""
	if r.ServerCPU {
		cpuHead = "server CPU s\tµs/record\t"
	}
	if r.ClientCPU {
		cpuHead += "client CPU s\tµs/record\t"
	}
	fmt.Fprintf(tw, "run\trecords\tseconds\trecords/s\tMiB/s\t%s p50 ms\tp99 ms\tmax ms\trequests\tretried\t%s\n", lat, cpuHead)
	row := func(name string, b benchRun) {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.0f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%d\t", name, b.Records, b.Seconds,
			b.RecordsPerSec, b.MiBPerSec, b.P50Ms, b.P99Ms, b.MaxMs, b.Requests, b.Retried)
		if r.ServerCPU {
			fmt.Fprintf(tw, "%.2f\t%.1f\t", b.ServerCPUSeconds, b.ServerCPUUsPerRecord)
		}
		if r.ClientCPU {
			fmt.Fprintf(tw, "%.2f\t%.1f\t", b.ClientCPUSeconds, b.ClientCPUUsPerRecord)
		}
		fmt.Fprintln(tw)
	}
	for i, b := range r.Runs {
		row(fmt.Sprint(i+1), b)
	}
	if len(r.Runs) > 1 {
		row("median", r.Median)
	}
	return tw.Flush()
}
