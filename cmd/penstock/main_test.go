package main

import (
	"testing"

	"go.uber.org/goleak"
)

// The tools start goroutines (stdin reader, shard readers, producers): none
// may outlive a command.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
