package server

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"time"

	"github.com/penstock/penstock/internal/runtime"
	"github.com/penstock/penstock/internal/storage"
)

// Config is the whole server configuration. Flags and PENSTOCK_* environment
// variables fill it (cmd/penstock); Validate checks it once.
type Config struct {
	Listen     string // host:port; port 0 picks a free one
	DataDir    string // embedded JetStream data and the function code cache
	NATSURL    string // external NATS; empty = embedded
	Replicas   int    // 0 = 1 embedded, 3 external
	Region     string
	AccountID  string
	Durability string // storage.DurabilityAlways (default) or storage.DurabilityFast

	// StateDelay is how long streams stay CREATING/UPDATING/DELETING (0 =
	// milliseconds, as fast as the work takes).
	StateDelay time.Duration
	// Throttle enables Kinesis per-shard write limits (1 MiB/s, 1000 records/s).
	Throttle bool
	// MaxEnvironments caps concurrently running function environments.
	MaxEnvironments int
	// InvokeSpin is how long a function's Runtime API connection
	// busy-polls for the runtime's next request before it sleeps: lower
	// warm-invoke latency for a little CPU (runtime.Options.SpinWait).
	// 0 = never spin.
	InvokeSpin time.Duration
	// Now is the clock for iterator expiry, retention and state dwell
	// (nil = time.Now); tests inject one.
	Now func() time.Time
}

// DefaultConfig returns the defaults the CLI documents.
func DefaultConfig() Config {
	return Config{
		Listen:          "127.0.0.1:4566",
		DataDir:         "./penstock-data",
		Region:          "us-east-1",
		AccountID:       "000000000000",
		Durability:      storage.DurabilityAlways,
		MaxEnvironments: 64,
		InvokeSpin:      runtime.DefaultSpinWait,
	}
}

// ConfigError names the field that failed validation.
type ConfigError struct {
	Field string
	Value any
	Err   error
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("config: %s=%v: %v", e.Field, e.Value, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

var (
	regionRe  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	accountRe = regexp.MustCompile(`^\d{12}$`)
)

// Validate checks every field and returns all problems joined.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, &ConfigError{"listen", c.Listen, err})
	}
	if c.NATSURL == "" && c.DataDir == "" {
		errs = append(errs, &ConfigError{"data-dir", c.DataDir, errors.New("required in embedded mode")})
	}
	if c.Replicas < 0 || c.Replicas > 5 {
		errs = append(errs, &ConfigError{"replicas", c.Replicas, errors.New("must be 1..5")})
	}
	if !regionRe.MatchString(c.Region) {
		errs = append(errs, &ConfigError{"region", c.Region, errors.New("not a region name like us-east-1")})
	}
	if !accountRe.MatchString(c.AccountID) {
		errs = append(errs, &ConfigError{"account-id", c.AccountID, errors.New("must be 12 digits")})
	}
	switch c.Durability {
	case storage.DurabilityAlways, storage.DurabilityFast:
	default:
		errs = append(errs, &ConfigError{"durability", c.Durability, fmt.Errorf("must be %q or %q", storage.DurabilityAlways, storage.DurabilityFast)})
	}
	if c.StateDelay < 0 {
		errs = append(errs, &ConfigError{"state-delay", c.StateDelay, errors.New("must not be negative")})
	}
	return errors.Join(errs...)
}
