package main

import (
	"context"
	"errors"
)

// Filled in by the Kinesis client tools.
func runPut(ctx context.Context, args []string, e env) error  { return errors.New("put: not built yet") }
func runTail(ctx context.Context, args []string, e env) error { return errors.New("tail: not built yet") }
func runBench(ctx context.Context, args []string, e env) error {
	return errors.New("bench: not built yet")
}
