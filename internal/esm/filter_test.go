package esm

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/penstock/penstock/internal/storage"
)

// TestFilterMatch: EventBridge pattern syntax against Kinesis records
// (spec/esm.md §7), data matched on its decoded JSON.
func TestFilterMatch(t *testing.T) {
	es := eventSource{ShardID: "shardId-000000000000", Region: "us-east-1", StreamARN: streamARN("s"), Role: testRole}
	order := `{"order":{"type":"buy","qty":300,"price":12.5,"tags":["a","vip"],"note":null,"empty":"","city":"Berlin","code":"XY-123-Z"}}`
	tests := []struct {
		name, pattern, data, pk string
		want                    bool
	}{
		{"exact", `{"data":{"order":{"type":["buy"]}}}`, order, "k", true},
		{"exact miss", `{"data":{"order":{"type":["sell"]}}}`, order, "k", false},
		{"or values", `{"data":{"order":{"type":["sell","buy"]}}}`, order, "k", true},
		{"and fields", `{"data":{"order":{"type":["buy"],"city":["Paris"]}}}`, order, "k", false},
		{"number exact", `{"data":{"order":{"qty":[300]}}}`, order, "k", true},
		{"number by text", `{"data":{"order":{"qty":[300.0]}}}`, order, "k", false},
		{"numeric range", `{"data":{"order":{"price":[{"numeric":[">",10,"<=",12.5]}]}}}`, order, "k", true},
		{"numeric range miss", `{"data":{"order":{"price":[{"numeric":[">",12.5]}]}}}`, order, "k", false},
		{"numeric equals", `{"data":{"order":{"qty":[{"numeric":["=",3e2]}]}}}`, order, "k", true},
		{"numeric on string", `{"data":{"order":{"type":[{"numeric":[">",0]}]}}}`, order, "k", false},
		{"prefix", `{"data":{"order":{"code":[{"prefix":"XY-"}]}}}`, order, "k", true},
		{"prefix ignore case", `{"data":{"order":{"code":[{"prefix":{"equals-ignore-case":"xy-"}}]}}}`, order, "k", true},
		{"suffix", `{"data":{"order":{"code":[{"suffix":"-Z"}]}}}`, order, "k", true},
		{"suffix miss", `{"data":{"order":{"code":[{"suffix":"-z"}]}}}`, order, "k", false},
		{"equals-ignore-case", `{"data":{"order":{"city":[{"equals-ignore-case":"BERLIN"}]}}}`, order, "k", true},
		{"wildcard", `{"data":{"order":{"code":[{"wildcard":"XY-*-Z"}]}}}`, order, "k", true},
		{"wildcard miss", `{"data":{"order":{"code":[{"wildcard":"XY-*-Q"}]}}}`, order, "k", false},
		{"anything-but value", `{"data":{"order":{"type":[{"anything-but":"sell"}]}}}`, order, "k", true},
		{"anything-but list hit", `{"data":{"order":{"type":[{"anything-but":["sell","buy"]}]}}}`, order, "k", false},
		{"anything-but prefix", `{"data":{"order":{"city":[{"anything-but":{"prefix":"Ber"}}]}}}`, order, "k", false},
		{"anything-but missing field", `{"data":{"order":{"nope":[{"anything-but":"x"}]}}}`, order, "k", false},
		{"exists true", `{"data":{"order":{"city":[{"exists":true}]}}}`, order, "k", true},
		{"exists false", `{"data":{"order":{"nope":[{"exists":false}]}}}`, order, "k", true},
		{"exists false present", `{"data":{"order":{"city":[{"exists":false}]}}}`, order, "k", false},
		{"null", `{"data":{"order":{"note":[null]}}}`, order, "k", true},
		{"empty string", `{"data":{"order":{"empty":[""]}}}`, order, "k", true},
		{"null is not empty", `{"data":{"order":{"note":[""]}}}`, order, "k", false},
		{"array value any element", `{"data":{"order":{"tags":["vip"]}}}`, order, "k", true},
		{"missing field", `{"data":{"order":{"nope":["x"]}}}`, order, "k", false},
		{"$or", `{"data":{"$or":[{"order":{"type":["sell"]}},{"order":{"city":["Berlin"]}}]}}`, order, "k", true},
		{"$or none", `{"data":{"$or":[{"order":{"type":["sell"]}},{"order":{"city":["Paris"]}}]}}`, order, "k", false},
		{"partition key", `{"partitionKey":["k1"]}`, order, "k1", true},
		{"partition key miss", `{"partitionKey":["k1"]}`, order, "k2", false},
		{"top-level metadata", `{"eventSource":["aws:kinesis"],"awsRegion":["us-east-1"]}`, order, "k", true},
		{"non-JSON data, data pattern", `{"data":{"a":["b"]}}`, "plain text", "k", false},
		{"non-JSON data, metadata pattern", `{"partitionKey":[{"prefix":"k"}]}`, "plain text", "k", true},
		{"data scalar JSON", `{"data":[5]}`, "5", "k", true},
		{"data two JSON values", `{"data":[5]}`, "5 6", "k", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc, err := parseFilterCriteria(json.RawMessage(fmt.Sprintf(`{"Filters":[{"Pattern":%q}]}`, tc.pattern)))
			if err != nil {
				t.Fatalf("valid pattern refused: %v", err)
			}
			fs, err := compileFilters(fc)
			if err != nil {
				t.Fatal(err)
			}
			if got := fs.match(es, "4960000", tc.pk, []byte(tc.data), time.UnixMilli(1545084650987)); got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestFilterMatchAnyFilter: several filters are ORed; none means everything.
func TestFilterMatchAnyFilter(t *testing.T) {
	es := eventSource{ShardID: "shardId-000000000000"}
	fc, err := parseFilterCriteria(json.RawMessage(`{"Filters":[{"Pattern":"{\"data\":{\"t\":[\"a\"]}}"},{"Pattern":"{\"data\":{\"t\":[\"b\"]}}"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := compileFilters(fc)
	for data, want := range map[string]bool{`{"t":"a"}`: true, `{"t":"b"}`: true, `{"t":"c"}`: false} {
		if got := fs.match(es, "1", "k", []byte(data), time.Now()); got != want {
			t.Errorf("%s: match = %v, want %v", data, got, want)
		}
	}
	var none filterSet
	if !none.match(es, "1", "k", []byte("x"), time.Now()) {
		t.Error("no filters must pass every record")
	}
}

func filterInput(arn, fn string, patterns ...string) *lambda.CreateEventSourceMappingInput {
	in := mappingInput(arn, fn, types.EventSourcePositionTrimHorizon)
	in.FilterCriteria = &types.FilterCriteria{Filters: []types.Filter{}}
	for _, p := range patterns {
		in.FilterCriteria.Filters = append(in.FilterCriteria.Filters, types.Filter{Pattern: aws.String(p)})
	}
	return in
}

// TestAPI_FilterCriteria: validation with the recorded error, the response
// shapes, {"Filters":[]} omitted, {} on update removes the filters.
func TestAPI_FilterCriteria(t *testing.T) {
	en := newEnv(t)
	arn := en.stream("s", 1)
	en.f.add("f", recorder(&calls{}, nil))
	bad := []struct {
		name     string
		patterns []string
		msg      string
	}{
		{"simple string", []string{"simple string"}, invalidPattern},
		{"recorded ddb case", []string{`{"eventName": ["INSERT"=123}`}, invalidPattern},
		{"leaf not a list", []string{`{"data":{"a":"b"}}`}, invalidPattern},
		{"not an object", []string{`["a"]`}, invalidPattern},
		{"unknown operator", []string{`{"data":{"a":[{"bogus":1}]}}`}, invalidPattern},
		{"bad numeric", []string{`{"data":{"a":[{"numeric":["<"]}]}}`}, invalidPattern},
		{"over 4096 chars", []string{`{"data":{"a":["` + strings.Repeat("x", 4090) + `"]}}`}, invalidPattern},
		{"six filters", []string{`{"a":["1"]}`, `{"a":["2"]}`, `{"a":["3"]}`, `{"a":["4"]}`, `{"a":["5"]}`, `{"a":["6"]}`},
			"The maximum number of filters (5) for this event source mapping has been exceeded."},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := en.api.CreateEventSourceMapping(en.ctx, filterInput(arn, "f", tc.patterns...))
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterValueException" || ae.ErrorMessage() != tc.msg {
				t.Fatalf("err = %v, want InvalidParameterValueException %q", err, tc.msg)
			}
		})
	}

	// Empty list: accepted and omitted (recorded).
	out, err := en.api.CreateEventSourceMapping(en.ctx, filterInput(arn, "f"))
	if err != nil {
		t.Fatal(err)
	}
	if out.FilterCriteria != nil {
		t.Errorf("FilterCriteria = %+v, want omitted", out.FilterCriteria)
	}
	if _, err := en.api.DeleteEventSourceMapping(en.ctx, &lambda.DeleteEventSourceMappingInput{UUID: out.UUID}); err != nil {
		t.Fatal(err)
	}
	en.checkFor(10*time.Second, func() error {
		if _, err := en.api.GetEventSourceMapping(en.ctx, &lambda.GetEventSourceMappingInput{UUID: out.UUID}); err == nil {
			return errors.New("still there")
		}
		return nil
	})

	p1, p2 := `{"data":{"event_type":["function_1"]}}`, `{"partitionKey":[{"prefix":"a"}]}`
	out, err = en.api.CreateEventSourceMapping(en.ctx, filterInput(arn, "f", p1, p2))
	if err != nil {
		t.Fatal(err)
	}
	id := out.UUID
	wantPatterns := func(where string, fc *types.FilterCriteria, want ...string) {
		t.Helper()
		var got []string
		if fc != nil {
			for _, f := range fc.Filters {
				got = append(got, aws.ToString(f.Pattern))
			}
		}
		if strings.Join(got, "|") != strings.Join(want, "|") || (len(want) == 0 && fc != nil) {
			t.Errorf("%s: FilterCriteria = %v, want %v", where, got, want)
		}
	}
	wantPatterns("create", out.FilterCriteria, p1, p2)
	g, err := en.api.GetEventSourceMapping(en.ctx, &lambda.GetEventSourceMappingInput{UUID: id})
	if err != nil {
		t.Fatal(err)
	}
	wantPatterns("get", g.FilterCriteria, p1, p2)

	// An invalid update changes nothing.
	_, err = en.api.UpdateEventSourceMapping(en.ctx, &lambda.UpdateEventSourceMappingInput{UUID: id,
		FilterCriteria: &types.FilterCriteria{Filters: []types.Filter{{Pattern: aws.String("nope")}}}})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorMessage() != invalidPattern {
		t.Fatalf("invalid update: %v", err)
	}
	u, err := en.api.UpdateEventSourceMapping(en.ctx, &lambda.UpdateEventSourceMappingInput{UUID: id,
		FilterCriteria: &types.FilterCriteria{Filters: []types.Filter{{Pattern: aws.String(p2)}}}})
	if err != nil {
		t.Fatal(err)
	}
	wantPatterns("update", u.FilterCriteria, p2)
	// An update without FilterCriteria keeps them.
	u, err = en.api.UpdateEventSourceMapping(en.ctx, &lambda.UpdateEventSourceMappingInput{UUID: id, BatchSize: aws.Int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	wantPatterns("update without filters", u.FilterCriteria, p2)
	// {} removes them.
	u, err = en.api.UpdateEventSourceMapping(en.ctx, &lambda.UpdateEventSourceMappingInput{UUID: id, FilterCriteria: &types.FilterCriteria{}})
	if err != nil {
		t.Fatal(err)
	}
	wantPatterns("update {}", u.FilterCriteria)
	g, err = en.api.GetEventSourceMapping(en.ctx, &lambda.GetEventSourceMappingInput{UUID: id})
	if err != nil {
		t.Fatal(err)
	}
	wantPatterns("get after {}", g.FilterCriteria)
}

// TestFilterDelivery replays the recorded AWS run
// (TestKinesisEventFiltering::test_kinesis_event_filtering_json_pattern):
// two mappings on one stream filter data.event_type; each function gets
// only its records. Filtered records (non-JSON data too) are never
// delivered, yet the checkpoint moves past them, the last one included.
func TestFilterDelivery(t *testing.T) {
	en := newEnv(t)
	arn := en.stream("s", 1)
	var c1, c2 calls
	en.f.add("f1", recorder(&c1, nil))
	en.f.add("f2", recorder(&c2, nil))
	ids := map[string]string{}
	for fn, et := range map[string]string{"f1": "function_1", "f2": "function_2"} {
		in := filterInput(arn, fn, fmt.Sprintf(`{"data":{"event_type":[%q]}}`, et))
		in.BatchSize = aws.Int32(1)
		in.MaximumBatchingWindowInSeconds = aws.Int32(1)
		in.MaximumRetryAttempts = aws.Int32(1)
		ids[fn] = en.createMapping(in, 1)
	}
	en.put("s/0",
		storage.Entry{PartitionKey: "a", Data: []byte(`{"event_type": "function_1", "message": "foo"}`)},
		storage.Entry{PartitionKey: "b", Data: []byte(`not json`)},
		storage.Entry{PartitionKey: "c", Data: []byte(`{"event_type": "function_2", "message": "bar"}`)},
		storage.Entry{PartitionKey: "d", Data: []byte(`{"event_type": "function_3"}`)},
	)
	for fn, want := range map[string]struct {
		c        *calls
		data     string
		filtered int64
	}{
		"f1": {&c1, `{"event_type": "function_1", "message": "foo"}`, 3},
		"f2": {&c2, `{"event_type": "function_2", "message": "bar"}`, 3},
	} {
		id := ids[fn]
		en.checkFor(10*time.Second, func() error {
			c, ok, err := en.e.ckpts.get(en.ctx, id, "shardId-000000000000")
			if err != nil || !ok || c.Next != 5 {
				return fmt.Errorf("%s checkpoint = %+v, %v, %v; want next 5", fn, c, ok, err)
			}
			return nil
		})
		want.c.mu.Lock()
		batches := fmt.Sprint(want.c.batches)
		want.c.mu.Unlock()
		if batches != fmt.Sprint([][]string{{want.data}}) {
			t.Errorf("%s got %s, want only %s", fn, batches, want.data)
		}
		en.checkFor(5*time.Second, func() error {
			met := en.e.Metrics(id).Snapshot()
			if met.FilteredOutEventCount != want.filtered || met.PolledEventCount != 4 || met.InvokedEventCount != 1 {
				return fmt.Errorf("%s metrics = %+v", fn, met)
			}
			return nil
		})
	}
}
