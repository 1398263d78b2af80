package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// runLogs prints a function's log lines from a running penstock:
//
//	penstock logs FUNCTION [--follow] [--since 10m] [--endpoint URL]
//
// It reads GET /_penstock/logs/{function}; lines are "<time> <line>".
func runLogs(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("penstock logs", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	endpoint := fs.String("endpoint", "http://127.0.0.1:4566", "penstock URL; env PENSTOCK_ENDPOINT")
	since := fs.String("since", "10m", "start this long ago (10m, 2h) or at an RFC 3339 time")
	follow := fs.Bool("follow", false, "keep printing new lines until interrupted")
	fs.BoolVar(follow, "f", false, "short for --follow")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: penstock logs FUNCTION [--follow] [--since 10m] [--endpoint URL]")
		fs.PrintDefaults()
	}
	// Flags may come before or after the function name.
	if err := fs.Parse(args); err != nil {
		return err
	}
	var name string
	if fs.NArg() > 0 {
		name = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
	}
	if name == "" || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	if err := applyEnv(fs, e); err != nil {
		return err
	}
	q := url.Values{"since": {*since}}
	if *follow {
		q.Set("follow", "1")
	}
	u := strings.TrimRight(*endpoint, "/") + "/_penstock/logs/" + url.PathEscape(name) + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("logs: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("logs: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if _, err := fmt.Fprintln(e.stdout, sc.Text()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("logs: reading: %w", err)
	}
	return nil
}
