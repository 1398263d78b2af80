package kclient_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/penstock/penstock/internal/kclient"
)

// Write three records with one partition key, then read the stream back
// until caught up. (Compiled, not run: it needs a Kinesis endpoint.)
func Example() {
	ctx := context.Background()
	c := kclient.New(kclient.Config{Endpoint: "http://127.0.0.1:4566"})
	if err := kclient.CreateStream(ctx, c, "demo", 2, time.Minute); err != nil {
		panic(err)
	}
	var entries []types.PutRecordsRequestEntry
	for _, s := range []string{"a", "b", "c"} {
		entries = append(entries, types.PutRecordsRequestEntry{Data: []byte(s), PartitionKey: aws.String("k")})
	}
	p := &kclient.Putter{Client: c, Stream: "demo"}
	if _, err := p.Put(ctx, entries); err != nil {
		panic(err)
	}
	var got []string
	r := &kclient.Reader{Client: c, Stream: "demo", From: kclient.TrimHorizon}
	err := r.Run(ctx, func(b kclient.Batch) error {
		for _, rec := range b.Records {
			got = append(got, string(rec.Data))
		}
		return nil
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.Join(got, ","))
}
