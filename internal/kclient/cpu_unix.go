//go:build unix

package kclient

import (
	"syscall"
	"time"
)

// processCPU is the user+system CPU time this process has used so far
// (getrusage RUSAGE_SELF), -1 if unknown.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
