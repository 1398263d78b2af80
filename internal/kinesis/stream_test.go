package kinesis_test

import (
	"math/big"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/penstock/penstock/internal/server"
)

func TestCreateStream_HashRanges(t *testing.T) {
	t.Parallel()
	c, _ := start(t, nil)
	pow := func(n uint) *big.Int { return new(big.Int).Lsh(big.NewInt(1), n) }
	max := new(big.Int).Sub(pow(128), big.NewInt(1)).String()
	cases := []struct {
		name  string
		count int32
		want  [][2]string
	}{
		// Recorded from AWS (localstack test_create_stream_without_shard_count):
		// no ShardCount gives four shards; N=4 splits at multiples of 2^126.
		{"default", 0, [][2]string{
			{"0", new(big.Int).Sub(pow(126), big.NewInt(1)).String()},
			{pow(126).String(), new(big.Int).Sub(pow(127), big.NewInt(1)).String()},
			{pow(127).String(), new(big.Int).Sub(new(big.Int).Mul(big.NewInt(3), pow(126)), big.NewInt(1)).String()},
			{new(big.Int).Mul(big.NewInt(3), pow(126)).String(), max},
		}},
		{"one", 1, [][2]string{{"0", max}}},
		// AWS-verified values for N=3 (spec §3.2, kinesalite REMOTE tests).
		{"three", 3, [][2]string{
			{"0", "113427455640312821154458202477256070484"},
			{"113427455640312821154458202477256070485", "226854911280625642308916404954512140969"},
			{"226854911280625642308916404954512140970", "340282366920938463463374607431768211455"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			createStream(t, c, tc.name, tc.count)
			out, err := c.DescribeStream(t.Context(), &kinesis.DescribeStreamInput{StreamName: aws.String(tc.name)})
			if err != nil {
				t.Fatal(err)
			}
			d := out.StreamDescription
			if tc.count == 0 {
				// AWS's recorded layout for a stream created without ShardCount.
				var rec []map[string]any
				recording(t, "TestKinesis::test_create_stream_without_shard_count", "Shards", &rec)
				if len(d.Shards) != len(rec) {
					t.Fatalf("%d shards, AWS made %d", len(d.Shards), len(rec))
				}
			}
			if len(d.Shards) != len(tc.want) {
				t.Fatalf("%d shards, want %d", len(d.Shards), len(tc.want))
			}
			for i, sh := range d.Shards {
				if got, want := *sh.ShardId, "shardId-00000000000"+string(rune('0'+i)); got != want {
					t.Errorf("shard %d id %s, want %s", i, got, want)
				}
				if *sh.HashKeyRange.StartingHashKey != tc.want[i][0] || *sh.HashKeyRange.EndingHashKey != tc.want[i][1] {
					t.Errorf("shard %d range [%s, %s], want %v", i, *sh.HashKeyRange.StartingHashKey, *sh.HashKeyRange.EndingHashKey, tc.want[i])
				}
				if n := len(*sh.SequenceNumberRange.StartingSequenceNumber); n != 56 {
					t.Errorf("starting sequence number has %d digits", n)
				}
				if sh.SequenceNumberRange.EndingSequenceNumber != nil || sh.ParentShardId != nil {
					t.Errorf("new shard has an end or a parent: %+v", sh)
				}
			}
			if d.RetentionPeriodHours == nil || *d.RetentionPeriodHours != 24 || d.StreamStatus != types.StreamStatusActive ||
				*d.StreamARN != "arn:aws:kinesis:us-east-1:000000000000:stream/"+tc.name || d.HasMoreShards == nil || *d.HasMoreShards {
				t.Errorf("description: %+v", d)
			}
		})
	}
}

func TestStreamErrors(t *testing.T) {
	t.Parallel()
	c, _ := start(t, nil)
	createStream(t, c, "s", 1)
	ctx := t.Context()
	cases := []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{"duplicate create", func() error {
			_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("s"), ShardCount: aws.Int32(1)})
			return err
		}, "ResourceInUseException", "Stream s under account 000000000000 already exists."},
		{"bad name", func() error {
			_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("bad name!"), ShardCount: aws.Int32(1)})
			return err
		}, "ValidationException", "1 validation error detected: Value 'bad name!' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"},
		{"empty name and zero shards", func() error {
			_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(""), ShardCount: aws.Int32(0)})
			return err
		}, "ValidationException", "3 validation errors detected: Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1; Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"long name", func() error {
			n := make([]byte, 129)
			for i := range n {
				n[i] = 'a'
			}
			_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(string(n)), ShardCount: aws.Int32(1)})
			return err
		}, "ValidationException", ""},
		{"over the shard limit", func() error {
			_, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("huge"), ShardCount: aws.Int32(500)})
			return err
		}, "LimitExceededException", "This request would exceed the shard limit for the account 000000000000 in us-east-1. Current shard count for the account: 1. Limit: 500. Number of additional shards that would have resulted from this request: 500. Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits."},
		{"describe missing", func() error {
			_, err := c.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("nope")})
			return err
		}, "ResourceNotFoundException", "Stream nope under account 000000000000 not found."},
		{"describe missing by ARN of other account", func() error {
			_, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:111111111111:stream/wrong-stream-name")})
			return err
		}, "ResourceNotFoundException", "Stream wrong-stream-name under account 111111111111 not found."},
		{"delete missing", func() error {
			_, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("nope")})
			return err
		}, "ResourceNotFoundException", "Stream nope under account 000000000000 not found."},
		{"put to missing", func() error {
			_, err := c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("nope"), PartitionKey: aws.String("k"), Data: []byte("x")})
			return err
		}, "ResourceNotFoundException", "Stream nope under account 000000000000 not found."},
		{"retention too short", func() error {
			_, err := c.DecreaseStreamRetentionPeriod(ctx, &kinesis.DecreaseStreamRetentionPeriodInput{StreamName: aws.String("s"), RetentionPeriodHours: aws.Int32(23)})
			return err
		}, "InvalidArgumentException", "Minimum allowed retention period is 24 hours. Requested retention period (23 hours) is too short."},
		{"increase below current", func() error {
			if _, err := c.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: aws.String("s"), RetentionPeriodHours: aws.Int32(25)}); err != nil {
				return err
			}
			_, err := c.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: aws.String("s"), RetentionPeriodHours: aws.Int32(24)})
			return err
		}, "InvalidArgumentException", "Requested retention period (24 hours) for stream s can not be shorter than existing retention period (25 hours). Use DecreaseRetentionPeriod API."},
		{"decrease above current", func() error {
			_, err := c.DecreaseStreamRetentionPeriod(ctx, &kinesis.DecreaseStreamRetentionPeriodInput{StreamName: aws.String("s"), RetentionPeriodHours: aws.Int32(100)})
			return err
		}, "InvalidArgumentException", "Requested retention period (100 hours) for stream s can not be longer than existing retention period (25 hours). Use IncreaseRetentionPeriod API."},
		{"retention too long", func() error {
			_, err := c.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: aws.String("s"), RetentionPeriodHours: aws.Int32(8761)})
			return err
		}, "InvalidArgumentException", "Maximum allowed retention period is 8760 hours. Requested retention period (8761 hours) is too long."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { apiError(t, tc.call(), tc.code, tc.msg) })
	}
}

func TestStreamLifecycle(t *testing.T) {
	t.Parallel()
	c, _ := start(t, nil)
	ctx := t.Context()
	for _, n := range []string{"c", "a", "b"} {
		createStream(t, c, n, 1)
	}
	// ListStreams: sorted, paged by NextToken and by ExclusiveStartStreamName.
	out, err := c.ListStreams(ctx, &kinesis.ListStreamsInput{Limit: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.StreamNames; len(got) != 2 || got[0] != "a" || got[1] != "b" || !*out.HasMoreStreams || out.NextToken == nil {
		t.Fatalf("page 1: %v more=%v", got, *out.HasMoreStreams)
	}
	if len(out.StreamSummaries) != 2 || *out.StreamSummaries[0].StreamARN != "arn:aws:kinesis:us-east-1:000000000000:stream/a" {
		t.Fatalf("summaries: %+v", out.StreamSummaries)
	}
	out, err = c.ListStreams(ctx, &kinesis.ListStreamsInput{NextToken: out.NextToken})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.StreamNames; len(got) != 1 || got[0] != "c" || *out.HasMoreStreams {
		t.Fatalf("page 2: %v", got)
	}
	out, err = c.ListStreams(ctx, &kinesis.ListStreamsInput{ExclusiveStartStreamName: aws.String("a")})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.StreamNames; len(got) != 2 || got[0] != "b" {
		t.Fatalf("after a: %v", got)
	}
	// Delete by ARN; the name is free again and the new stream is empty.
	put(t, c, "b", "k", "old")
	if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/b")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("b")})
	apiError(t, err, "ResourceNotFoundException", "")
	createStream(t, c, "b", 1)
	recs, _ := readAll(t, c, iter(t, c, "b", "shardId-000000000000", types.ShardIteratorTypeTrimHorizon, nil))
	if len(recs) != 0 {
		t.Fatalf("re-created stream sees %d old records", len(recs))
	}
	// UpdateStreamMode, DescribeLimits.
	if _, err := c.UpdateStreamMode(ctx, &kinesis.UpdateStreamModeInput{
		StreamARN:         aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/a"),
		StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand},
	}); err != nil {
		t.Fatal(err)
	}
	sum, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("a")})
	if err != nil {
		t.Fatal(err)
	}
	if sum.StreamDescriptionSummary.StreamModeDetails.StreamMode != types.StreamModeOnDemand || *sum.StreamDescriptionSummary.OpenShardCount != 1 {
		t.Fatalf("summary: %+v", sum.StreamDescriptionSummary)
	}
	lim, err := c.DescribeLimits(ctx, &kinesis.DescribeLimitsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *lim.OpenShardCount != 3 || *lim.OnDemandStreamCount != 1 || *lim.ShardLimit < 3 {
		t.Fatalf("limits: %+v", lim)
	}
}

func TestStateDelay(t *testing.T) {
	t.Parallel()
	// Long enough to observe each state on a loaded machine.
	c, _ := start(t, func(cfg *server.Config) { cfg.StateDelay = 2 * time.Second })
	ctx := t.Context()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("slow"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("slow")})
	if err != nil {
		t.Fatal(err)
	}
	if d.StreamDescriptionSummary.StreamStatus != types.StreamStatusCreating {
		t.Fatalf("status %s, want CREATING", d.StreamDescriptionSummary.StreamStatus)
	}
	// Writes to a CREATING stream: ResourceNotFoundException, as AWS.
	_, err = c.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("slow"), PartitionKey: aws.String("k"), Data: []byte("x")})
	apiError(t, err, "ResourceNotFoundException", "Stream slow under account 000000000000 not found.")
	waitActive(t, c, "slow")
	put(t, c, "slow", "k", "x")
	if _, err := c.UpdateShardCount(ctx, &kinesis.UpdateShardCountInput{StreamName: aws.String("slow"), TargetShardCount: aws.Int32(2), ScalingType: types.ScalingTypeUniformScaling}); err != nil {
		t.Fatal(err)
	}
	d, _ = c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("slow")})
	if d.StreamDescriptionSummary.StreamStatus != types.StreamStatusUpdating {
		t.Fatalf("status %s, want UPDATING", d.StreamDescriptionSummary.StreamStatus)
	}
	// Control operations need ACTIVE; reads and writes work in UPDATING.
	_, err = c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("slow"), ShardToSplit: aws.String("shardId-000000000001"), NewStartingHashKey: aws.String("10")})
	apiError(t, err, "ResourceInUseException", "Stream slow under account 000000000000 not ACTIVE, instead in state UPDATING")
	put(t, c, "slow", "k", "y")
	waitActive(t, c, "slow")
	if _, err := c.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("slow")}); err != nil {
		t.Fatal(err)
	}
	d, _ = c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("slow")})
	if d.StreamDescriptionSummary.StreamStatus != types.StreamStatusDeleting {
		t.Fatalf("status %s, want DELETING", d.StreamDescriptionSummary.StreamStatus)
	}
	waitGone(t, c, "slow")
}

func waitGone(t *testing.T, c *kinesis.Client, name string) {
	t.Helper()
	penstocktestCheck(t, func() error {
		_, err := c.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err == nil {
			return errStillThere
		}
		return nil
	})
}

// Stream names may be any of [a-zA-Z0-9_.-]+, dots anywhere (found by
// FuzzJSONRequest: "." once broke the metadata key).
func TestStreamNames(t *testing.T) {
	t.Parallel()
	c, _ := start(t, nil)
	for _, name := range []string{".", "a..b", "-_.", "x.y.", "A-Z_0.9"} {
		createStream(t, c, name, 1)
		put(t, c, name, "k", name)
		recs, _ := readAll(t, c, iter(t, c, name, "shardId-000000000000", types.ShardIteratorTypeTrimHorizon, nil))
		if len(recs) != 1 || string(recs[0].Data) != name {
			t.Fatalf("%q: %d records", name, len(recs))
		}
	}
	out, err := c.ListStreams(t.Context(), &kinesis.ListStreamsInput{})
	if err != nil || len(out.StreamNames) != 5 || out.StreamNames[0] != "-_." {
		t.Fatalf("ListStreams: %v %v", out.StreamNames, err)
	}
}
