package kinesis_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/penstock/penstock/internal/server"
)

func ids(all []types.Shard) []string {
	var out []string
	for _, sh := range all {
		out = append(out, *sh.ShardId)
	}
	return out
}

func TestListShards(t *testing.T) {
	t.Parallel()
	clk := newClock()
	c, _ := start(t, func(cfg *server.Config) { cfg.Now = clk.Now })
	createStream(t, c, "l", 3)
	ctx := t.Context()
	beforeSplit := clk.Now()
	clk.Advance(time.Minute)
	if _, err := c.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: aws.String("l"), ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String("1000")}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	list := func(in *kinesis.ListShardsInput) []string {
		t.Helper()
		out, err := c.ListShards(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return ids(out.Shards)
	}
	filter := func(f types.ShardFilter) *kinesis.ListShardsInput {
		return &kinesis.ListShardsInput{StreamName: aws.String("l"), ShardFilter: &f}
	}
	cases := []struct {
		name string
		in   *kinesis.ListShardsInput
		want string
	}{
		{"default", &kinesis.ListShardsInput{StreamName: aws.String("l")}, "0 1 2 3 4"},
		{"by ARN", &kinesis.ListShardsInput{StreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/l")}, "0 1 2 3 4"},
		{"exclusive start", &kinesis.ListShardsInput{StreamName: aws.String("l"), ExclusiveStartShardId: aws.String("shardId-000000000002")}, "3 4"},
		{"AT_LATEST", filter(types.ShardFilter{Type: types.ShardFilterTypeAtLatest}), "1 2 3 4"},
		{"AT_TRIM_HORIZON", filter(types.ShardFilter{Type: types.ShardFilterTypeAtTrimHorizon}), "0 1 2"},
		{"FROM_TRIM_HORIZON", filter(types.ShardFilter{Type: types.ShardFilterTypeFromTrimHorizon}), "0 1 2 3 4"},
		{"AFTER_SHARD_ID", filter(types.ShardFilter{Type: types.ShardFilterTypeAfterShardId, ShardId: aws.String("shardId-000000000001")}), "2 3 4"},
		{"AT_TIMESTAMP before split", filter(types.ShardFilter{Type: types.ShardFilterTypeAtTimestamp, Timestamp: aws.Time(beforeSplit)}), "0 1 2"},
		{"AT_TIMESTAMP now", filter(types.ShardFilter{Type: types.ShardFilterTypeAtTimestamp, Timestamp: aws.Time(clk.Now())}), "1 2 3 4"},
		{"FROM_TIMESTAMP before split", filter(types.ShardFilter{Type: types.ShardFilterTypeFromTimestamp, Timestamp: aws.Time(beforeSplit)}), "0 1 2 3 4"},
		{"FROM_TIMESTAMP now", filter(types.ShardFilter{Type: types.ShardFilterTypeFromTimestamp, Timestamp: aws.Time(clk.Now())}), "1 2 3 4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			for i, id := range list(tc.in) {
				if i > 0 {
					got += " "
				}
				got += id[len(id)-1:]
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	// Paging: MaxResults 2 gives 2+2+1 with NextToken, which keeps the filter.
	var got []string
	in := &kinesis.ListShardsInput{StreamName: aws.String("l"), MaxResults: aws.Int32(2)}
	for page := 0; ; page++ {
		out, err := c.ListShards(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Shards) > 2 {
			t.Fatalf("page of %d", len(out.Shards))
		}
		got = append(got, ids(out.Shards)...)
		if out.NextToken == nil {
			break
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken, MaxResults: aws.Int32(2)}
	}
	if len(got) != 5 {
		t.Fatalf("paged: %v", got)
	}
	errCases := []struct {
		name string
		in   *kinesis.ListShardsInput
		code string
		msg  string
	}{
		{"token and name", &kinesis.ListShardsInput{StreamName: aws.String("l"), NextToken: aws.String("abc")}, "InvalidArgumentException", "NextToken and StreamName cannot be provided together."},
		{"neither", &kinesis.ListShardsInput{}, "InvalidArgumentException", "Either NextToken or StreamName should be provided."},
		{"missing stream", &kinesis.ListShardsInput{StreamName: aws.String("nope")}, "ResourceNotFoundException", "Stream nope under account 000000000000 not found."},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ListShards(ctx, tc.in)
			apiError(t, err, tc.code, tc.msg)
		})
	}
	// Tokens expire after 300 s.
	out, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("l"), MaxResults: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(301 * time.Second)
	_, err = c.ListShards(ctx, &kinesis.ListShardsInput{NextToken: out.NextToken})
	apiError(t, err, "ExpiredNextTokenException", "")
}

func TestTags(t *testing.T) {
	t.Parallel()
	c, _ := start(t, nil)
	ctx := t.Context()
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("t"), ShardCount: aws.Int32(1), Tags: map[string]string{"team": "data"}}); err != nil {
		t.Fatal(err)
	}
	arn := aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/t")
	if _, err := c.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: aws.String("t"), Tags: map[string]string{"b": "2", "a": "1", "c": "3"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TagResource(ctx, &kinesis.TagResourceInput{ResourceARN: arn, Tags: map[string]string{"d": "4"}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.ListTagsForStream(ctx, &kinesis.ListTagsForStreamInput{StreamName: aws.String("t"), Limit: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tags) != 2 || *out.Tags[0].Key != "a" || *out.Tags[1].Key != "b" || !*out.HasMoreTags {
		t.Fatalf("page 1: %+v", out)
	}
	out, err = c.ListTagsForStream(ctx, &kinesis.ListTagsForStreamInput{StreamName: aws.String("t"), ExclusiveStartTagKey: aws.String("b")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tags) != 3 || *out.Tags[0].Key != "c" || *out.Tags[2].Key != "team" || *out.HasMoreTags {
		t.Fatalf("page 2: %+v", out.Tags)
	}
	if _, err := c.RemoveTagsFromStream(ctx, &kinesis.RemoveTagsFromStreamInput{StreamName: aws.String("t"), TagKeys: []string{"a", "missing"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &kinesis.UntagResourceInput{ResourceARN: arn, TagKeys: []string{"b"}}); err != nil {
		t.Fatal(err)
	}
	res, err := c.ListTagsForResource(ctx, &kinesis.ListTagsForResourceInput{ResourceARN: arn})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(res.Tags); got != 3 || *res.Tags[0].Key != "c" {
		t.Fatalf("after removal: %+v", res.Tags)
	}
	_, err = c.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: aws.String("t"), Tags: map[string]string{"bad\u0007": "x"}})
	apiError(t, err, "InvalidArgumentException", "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @.")
	tooMany := map[string]string{}
	for i := range 48 {
		tooMany[fmt.Sprintf("k%02d", i)] = "v"
	}
	_, err = c.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: aws.String("t"), Tags: tooMany})
	apiError(t, err, "LimitExceededException", "Failed to add tags to stream t under account 000000000000 because a given stream cannot have more than 50 tags associated with it.")
}
