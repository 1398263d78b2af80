package esm_test

import (
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/penstock/penstock/internal/penstocktest"
)

// TestE2E_Reshard: SplitShard through the Kinesis API while the mapping
// exists: the children are picked up, and for one partition key every record
// written before the split reaches the function before any written after.
func TestE2E_Reshard(t *testing.T) {
	srv := penstocktest.Start(t, nil)
	ctx := t.Context()
	c := newClients(srv)
	out := filepath.Join(t.TempDir(), "fn.log")
	arn := c.setup(t, ctx, "split", 1, out)
	// Created disabled, enabled after the split: the engine finds a closed
	// parent with unread records and two children from the start.
	m, err := c.l.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
		EventSourceArn: aws.String(arn), FunctionName: aws.String("fn"), StartingPosition: ltypes.EventSourcePositionTrimHorizon,
		BatchSize: aws.Int32(7), Enabled: aws.Bool(false),
	})
	if err != nil {
		t.Fatal(err)
	}
	putKey := func(prefix string, n int) []string {
		d := data(prefix, n)
		for _, x := range d {
			if _, err := c.k.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("split"), Data: []byte(x), PartitionKey: aws.String("same-key")}); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	before := putKey("before", 60)
	mid := new(big.Int).Lsh(big.NewInt(1), 127)
	if _, err := c.k.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("split"),
		ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String(mid.String())}); err != nil {
		t.Fatal(err)
	}
	penstocktest.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		d, err := c.k.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("split")})
		if err != nil {
			return err
		}
		if d.StreamDescriptionSummary.StreamStatus != ktypes.StreamStatusActive {
			return fmt.Errorf("stream %s", d.StreamDescriptionSummary.StreamStatus)
		}
		return nil
	})
	after := putKey("after", 60)
	if _, err := c.l.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: m.UUID, Enabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	waitAll(t, out, append(before, after...))
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	seenAfter := false
	for _, d := range strings.Fields(string(b)) {
		if strings.HasPrefix(d, "after") {
			seenAfter = true
		} else if seenAfter {
			t.Fatalf("%s (written before the split) delivered after a record written after it", d)
		}
	}
}
