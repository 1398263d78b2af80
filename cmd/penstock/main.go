// Command penstock serves the Kinesis Data Streams, Lambda, SQS, SNS and S3
// APIs on one port, and carries client tools (put, tail, bench, logs, dlq).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(exitCode(run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)))
}

// env is the process environment as run sees it (tests pass their own).
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, e env) error
}

func commands() map[string]command {
	return map[string]command{
		"server": {"run the penstock server", runServer},
		"put":    {"write lines from stdin as records to a stream", runPut},
		"tail":   {"follow a stream and print its records", runTail},
		"bench":  {"load generators: bench put | get | e2e", runBench},
		"dlq":    {"replay Kinesis dead letters from an SQS queue: dlq replay --queue Q [--to-stream | --invoke F] [--delete]", runDLQ},
		"logs":   {"print a function's logs: logs FUNCTION [--follow] [--since 10m]", runLogs},
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	c, ok := cmds[args[0]]
	if !ok {
		usage(stderr, cmds)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return c.run(ctx, args[1:], e)
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: penstock <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nrun 'penstock <command> -h' for its flags")
}

func exitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintln(os.Stderr, "penstock:", err)
		return 1
	}
}
