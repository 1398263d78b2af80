package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/penstock/penstock/internal/server"
)

// envDefault returns the PENSTOCK_<NAME> variable for a flag, if set.
func envDefault(e env, flagName string) (string, bool) {
	v := e.getenv("PENSTOCK_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_")))
	return v, v != ""
}

// applyEnv sets every flag not given on the command line from PENSTOCK_*.
func applyEnv(fs *flag.FlagSet, e env) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v, ok := envDefault(e, f.Name); ok {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("PENSTOCK_%s: %w", strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_")), serr)
			}
		}
	})
	return err
}

func serverFlags(fs *flag.FlagSet, cfg *server.Config) {
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "address to serve every API on (HTTP/1.1 and h2c)")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "where embedded JetStream and the function cache live")
	fs.StringVar(&cfg.NATSURL, "nats-url", cfg.NATSURL, "external NATS cluster URL(s); empty runs NATS embedded")
	fs.IntVar(&cfg.Replicas, "replicas", cfg.Replicas, "replicas per stream (default 1 embedded, 3 with --nats-url)")
	fs.StringVar(&cfg.Region, "region", cfg.Region, "AWS region used in ARNs")
	fs.StringVar(&cfg.AccountID, "account-id", cfg.AccountID, "AWS account id used in ARNs")
	fs.StringVar(&cfg.Durability, "durability", cfg.Durability, `"always": fsync before acknowledging a write; "fast": fsync every 2 minutes (a power loss may lose acknowledged records)`)
	fs.DurationVar(&cfg.StateDelay, "state-delay", cfg.StateDelay, "time streams spend CREATING/UPDATING/DELETING (AWS takes seconds; default instant)")
	fs.BoolVar(&cfg.Throttle, "throttle", cfg.Throttle, "enforce Kinesis per-shard write limits (1 MiB/s, 1000 records/s)")
	fs.IntVar(&cfg.MaxEnvironments, "max-environments", cfg.MaxEnvironments, "cap on concurrently running function environments")
	fs.DurationVar(&cfg.InvokeSpin, "invoke-spin", cfg.InvokeSpin, "how long a function's Runtime API connection busy-polls for the runtime's next request before sleeping (lower warm-invoke latency for some CPU; 0 = never)")
}

func runServer(ctx context.Context, args []string, e env) error {
	cfg := server.DefaultConfig()
	fs := flag.NewFlagSet("penstock server", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	serverFlags(fs, &cfg)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the server's whole run to this file (profiling)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if err := applyEnv(fs, e); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	start := time.Now()
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	log.Info("provisioned", "took", time.Since(start).Round(time.Millisecond).String(), "listen", srv.Addr(), "durability", cfg.Durability, "pid", os.Getpid())
	return srv.Run(ctx)
}
