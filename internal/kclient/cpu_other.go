//go:build !unix

package kclient

import "time"

// processCPU is unknown (-1) where getrusage is missing.
func processCPU() time.Duration { return -1 }
