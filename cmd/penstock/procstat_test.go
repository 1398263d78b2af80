package main

import (
	"os"
	"testing"
	"time"
)

func TestProcessCPUGrows(t *testing.T) {
	before, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the kernel has counted at least one more clock tick
	// (10ms); on a busy machine that takes longer than 10ms of wall time.
	after := before
	for start := time.Now(); after <= before && time.Since(start) < 10*time.Second; {
		for i := 0; i < 1e6; i++ {
			_ = i * i
		}
		if after, err = processCPU(os.Getpid()); err != nil {
			t.Fatal(err)
		}
	}
	if after <= before {
		t.Errorf("CPU time stayed %v across 10s of busy work", before)
	}
	if _, err := processCPU(-1); err == nil {
		t.Error("processCPU(-1) succeeded")
	}
}
