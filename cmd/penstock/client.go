package main

import (
	"flag"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/penstock/penstock/internal/kclient"
	"github.com/penstock/penstock/internal/kclient/wire"
)

// clientFlags are the connection flags every client tool takes.
type clientFlags struct {
	endpoint string
	region   string
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.endpoint, "endpoint", "http://127.0.0.1:4566", "Kinesis endpoint URL (penstock, AWS or any emulator); env PENSTOCK_ENDPOINT")
	fs.StringVar(&c.region, "region", "us-east-1", "AWS region to sign requests for; env PENSTOCK_REGION")
}

// client builds a Kinesis client. Credentials are AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY when set, else a static dummy pair (penstock and
// emulators accept any).
func (c *clientFlags) client(e env, conns int) *kinesis.Client {
	return kclient.New(kclient.Config{
		Endpoint:  c.endpoint,
		Region:    c.region,
		AccessKey: e.getenv("AWS_ACCESS_KEY_ID"),
		SecretKey: e.getenv("AWS_SECRET_ACCESS_KEY"),
		MaxConns:  conns,
	})
}

// wire builds the lean data-path client (package wire) with the same
// endpoint, credentials and connection pool as client.
func (c *clientFlags) wire(e env, conns int) (*wire.Client, error) {
	return kclient.NewWire(kclient.Config{
		Endpoint:  c.endpoint,
		Region:    c.region,
		AccessKey: e.getenv("AWS_ACCESS_KEY_ID"),
		SecretKey: e.getenv("AWS_SECRET_ACCESS_KEY"),
		MaxConns:  conns,
	})
}

// parseFlags parses args, then fills flags not given from PENSTOCK_*.
func parseFlags(fs *flag.FlagSet, args []string, e env) error {
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return applyEnv(fs, e)
}

// flagGiven reports whether name was set on the command line or by env.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
