package esm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

func TestAPI_CreateDefaultsAndLifecycle(t *testing.T) {
	en := newEnv(t)
	arn := en.stream("s1", 1)
	en.f.add("f1", func(_ context.Context, ev kinesisEvent) (*InvokeResult, error) { return ok("") })
	out, err := en.api.CreateEventSourceMapping(en.ctx, &lambda.CreateEventSourceMappingInput{
		EventSourceArn: aws.String(arn), FunctionName: aws.String("f1"), StartingPosition: types.EventSourcePositionLatest,
	})
	if err != nil {
		t.Fatal(err)
	}
	id := *out.UUID
	checks := []struct {
		name      string
		got, want any
	}{
		{"State", *out.State, "Creating"},
		{"StateTransitionReason", *out.StateTransitionReason, "User action"},
		{"BatchSize", *out.BatchSize, int32(100)},
		{"MaximumBatchingWindowInSeconds", *out.MaximumBatchingWindowInSeconds, int32(0)},
		{"ParallelizationFactor", *out.ParallelizationFactor, int32(1)},
		{"MaximumRecordAgeInSeconds", *out.MaximumRecordAgeInSeconds, int32(-1)},
		{"MaximumRetryAttempts", *out.MaximumRetryAttempts, int32(-1)},
		{"BisectBatchOnFunctionError", *out.BisectBatchOnFunctionError, false},
		{"TumblingWindowInSeconds", *out.TumblingWindowInSeconds, int32(0)},
		{"FunctionArn", *out.FunctionArn, functionARN("f1")},
		{"EventSourceMappingArn", *out.EventSourceMappingArn, "arn:aws:lambda:us-east-1:000000000000:event-source-mapping:" + id},
		{"LastProcessingResult", *out.LastProcessingResult, "No records processed"},
		{"StartingPosition", out.StartingPosition, types.EventSourcePositionLatest},
		{"FunctionResponseTypes", len(out.FunctionResponseTypes), 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if out.LastModified == nil || time.Since(*out.LastModified) > time.Minute {
		t.Errorf("LastModified = %v", out.LastModified)
	}
	state := func(want string) {
		t.Helper()
		en.checkFor(5*time.Second, func() error {
			g, err := en.api.GetEventSourceMapping(en.ctx, &lambda.GetEventSourceMappingInput{UUID: &id})
			if err != nil {
				return err
			}
			if *g.State != want {
				return fmt.Errorf("state %s, want %s", *g.State, want)
			}
			return nil
		})
	}
	state("Enabled")
	up, err := en.api.UpdateEventSourceMapping(en.ctx, &lambda.UpdateEventSourceMappingInput{UUID: &id, BatchSize: aws.Int32(7)})
	if err != nil || *up.State != "Updating" || *up.BatchSize != 7 {
		t.Fatalf("Update = %+v, %v; want Updating with BatchSize 7", up, err)
	}
	state("Enabled")
	up, err = en.api.UpdateEventSourceMapping(en.ctx, &lambda.UpdateEventSourceMappingInput{UUID: &id, Enabled: aws.Bool(false)})
	if err != nil || *up.State != "Disabling" {
		t.Fatalf("disable = %v, %v", up.State, err)
	}
	state("Disabled")
	up, err = en.api.UpdateEventSourceMapping(en.ctx, &lambda.UpdateEventSourceMappingInput{UUID: &id, Enabled: aws.Bool(true)})
	if err != nil || *up.State != "Enabling" {
		t.Fatalf("enable = %v, %v", up.State, err)
	}
	state("Enabled")
	del, err := en.api.DeleteEventSourceMapping(en.ctx, &lambda.DeleteEventSourceMappingInput{UUID: &id})
	if err != nil || *del.State != "Deleting" {
		t.Fatalf("Delete = %v, %v", del.State, err)
	}
	en.checkFor(5*time.Second, func() error {
		_, err := en.api.GetEventSourceMapping(en.ctx, &lambda.GetEventSourceMappingInput{UUID: &id})
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) {
			return fmt.Errorf("Get after delete: %v", err)
		}
		return nil
	})
}

func TestAPI_Errors(t *testing.T) {
	en := newEnv(t)
	arn := en.stream("s1", 1)
	en.f.add("f1", func(_ context.Context, ev kinesisEvent) (*InvokeResult, error) { return ok("") })
	if _, err := en.api.CreateEventSourceMapping(en.ctx, &lambda.CreateEventSourceMappingInput{
		EventSourceArn: aws.String(arn), FunctionName: aws.String("f1"), StartingPosition: types.EventSourcePositionLatest,
	}); err != nil {
		t.Fatal(err)
	}
	existing, _ := en.api.ListEventSourceMappings(en.ctx, &lambda.ListEventSourceMappingsInput{})
	dupID := *existing.EventSourceMappings[0].UUID
	tests := []struct {
		name, method, path, body string
		status                   int
		code, msgKey, msg        string
	}{
		{"no event source", "POST", "", `{"FunctionName":"f1","StartingPosition":"LATEST"}`, 400,
			"InvalidParameterValueException", "message", "Unrecognized event source."},
		{"unknown function", "POST", "", `{"FunctionName":"nope","EventSourceArn":"` + arn + `","StartingPosition":"LATEST"}`, 400,
			"InvalidParameterValueException", "message", "Function does not exist"},
		{"no starting position", "POST", "", `{"FunctionName":"f1","EventSourceArn":"` + arn + `"}`, 400,
			"InvalidParameterValueException", "message", "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: Member must not be null."},
		{"bad starting position", "POST", "", `{"FunctionName":"f1","EventSourceArn":"` + arn + `","StartingPosition":"invalid"}`, 400,
			"ValidationException", "message", "1 validation error detected: Value 'invalid' at 'startingPosition' failed to satisfy constraint: Member must satisfy enum value set: [LATEST, AT_TIMESTAMP, TRIM_HORIZON]"},
		{"unknown stream", "POST", "", `{"FunctionName":"f1","EventSourceArn":"` + streamARN("nope") + `","StartingPosition":"LATEST"}`, 400,
			"InvalidParameterValueException", "message", "Stream not found: " + streamARN("nope")},
		{"duplicate", "POST", "", `{"FunctionName":"f1","EventSourceArn":"` + arn + `","StartingPosition":"LATEST"}`, 409,
			"ResourceConflictException", "message", `The event source arn (" ` + arn + ` ") and function (" f1 ") provided mapping already exists. Please update or delete the existing mapping with UUID ` + dupID},
		{"OnSuccess", "POST", "", `{"FunctionName":"f1","EventSourceArn":"` + arn + `","StartingPosition":"LATEST","DestinationConfig":{"OnSuccess":{"Destination":"arn:aws:sqs:us-east-1:000000000000:q"}}}`, 400,
			"InvalidParameterValueException", "message", "Unsupported DestinationConfig parameter for given event source mapping type."},
		{"batch size 0", "POST", "", `{"FunctionName":"f1","EventSourceArn":"` + arn + `","StartingPosition":"LATEST","BatchSize":0}`, 400,
			"ValidationException", "message", "1 validation error detected: Value '0' at 'batchSize' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"batch size 10001", "POST", "", `{"FunctionName":"f1","EventSourceArn":"` + arn + `","StartingPosition":"LATEST","BatchSize":10001}`, 400,
			"ValidationException", "message", "1 validation error detected: Value '10001' at 'batchSize' failed to satisfy constraint: Member must have value less than or equal to 10000"},
		{"parallelization 11", "POST", "", `{"FunctionName":"f1","EventSourceArn":"` + arn + `","StartingPosition":"LATEST","ParallelizationFactor":11}`, 400,
			"ValidationException", "message", "1 validation error detected: Value '11' at 'parallelizationFactor' failed to satisfy constraint: Member must have value less than or equal to 10"},
		{"window 301", "POST", "", `{"FunctionName":"f1","EventSourceArn":"` + arn + `","StartingPosition":"LATEST","MaximumBatchingWindowInSeconds":301}`, 400,
			"ValidationException", "message", "1 validation error detected: Value '301' at 'maximumBatchingWindowInSeconds' failed to satisfy constraint: Member must have value less than or equal to 300"},
		{"retries 10001", "POST", "", `{"FunctionName":"f1","EventSourceArn":"` + arn + `","StartingPosition":"LATEST","MaximumRetryAttempts":10001}`, 400,
			"ValidationException", "message", "1 validation error detected: Value '10001' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 10000"},
		{"record age 59", "POST", "", `{"FunctionName":"f1","EventSourceArn":"` + arn + `","StartingPosition":"LATEST","MaximumRecordAgeInSeconds":59}`, 400,
			"InvalidParameterValueException", "message", "MaximumRecordAgeInSeconds must be either -1 (forever) or between 60 and 604800 (inclusive)"},
		{"get unknown", "GET", "/6f0e1f8c-0000-4000-8000-000000000000", ``, 404,
			"ResourceNotFoundException", "Message", "The resource you requested does not exist."},
		{"update unknown", "PUT", "/6f0e1f8c-0000-4000-8000-000000000000", `{"BatchSize":5}`, 404,
			"ResourceNotFoundException", "Message", "The resource you requested does not exist."},
		{"delete unknown", "DELETE", "/6f0e1f8c-0000-4000-8000-000000000000", ``, 404,
			"ResourceNotFoundException", "Message", "The resource you requested does not exist."},
	}
	hs := httptest.NewServer(en.e)
	defer hs.Close()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(en.ctx, tc.method, hs.URL+mappingsPath+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var body map[string]any
			_ = json.Unmarshal(b, &body)
			if resp.StatusCode != tc.status || resp.Header.Get("X-Amzn-ErrorType") != tc.code || body[tc.msgKey] != tc.msg {
				t.Errorf("got %d %s %s, want %d %s %s=%q", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b, tc.status, tc.code, tc.msgKey, tc.msg)
			}
			if tc.code != "ValidationException" && body["Type"] != "User" {
				t.Errorf("Type = %v, want User", body["Type"])
			}
		})
	}
	// The SDK sees the modeled error types.
	_, err := en.api.GetEventSourceMapping(en.ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String("6f0e1f8c-0000-4000-8000-000000000000")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("SDK error = %T %v, want ResourceNotFoundException", err, err)
	}
	var ae smithy.APIError
	_, err = en.api.CreateEventSourceMapping(en.ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("f1"), StartingPosition: types.EventSourcePositionLatest})
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterValueException" || ae.ErrorMessage() != "Unrecognized event source." {
		t.Errorf("SDK error = %v", err)
	}
}

func TestAPI_ListPagingAndFilters(t *testing.T) {
	en := newEnv(t)
	var arns []string
	for i := range 3 {
		arns = append(arns, en.stream(fmt.Sprint("s", i), 1))
	}
	for _, f := range []string{"fa", "fb"} {
		en.f.add(f, func(_ context.Context, ev kinesisEvent) (*InvokeResult, error) { return ok("") })
		for _, a := range arns {
			if _, err := en.api.CreateEventSourceMapping(en.ctx, &lambda.CreateEventSourceMappingInput{
				EventSourceArn: aws.String(a), FunctionName: aws.String(f), StartingPosition: types.EventSourcePositionTrimHorizon,
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var all []string
	var marker *string
	pages := 0
	for {
		out, err := en.api.ListEventSourceMappings(en.ctx, &lambda.ListEventSourceMappingsInput{MaxItems: aws.Int32(4), Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, m := range out.EventSourceMappings {
			all = append(all, *m.UUID)
		}
		if out.NextMarker == nil {
			break
		}
		marker = out.NextMarker
	}
	if len(all) != 6 || pages != 2 {
		t.Errorf("paged %d mappings in %d pages, want 6 in 2", len(all), pages)
	}
	filters := []struct {
		in   lambda.ListEventSourceMappingsInput
		want int
	}{
		{lambda.ListEventSourceMappingsInput{FunctionName: aws.String("fa")}, 3},
		{lambda.ListEventSourceMappingsInput{FunctionName: aws.String(functionARN("fb"))}, 3},
		{lambda.ListEventSourceMappingsInput{EventSourceArn: aws.String(arns[1])}, 2},
		{lambda.ListEventSourceMappingsInput{EventSourceArn: aws.String(arns[1]), FunctionName: aws.String("fb")}, 1},
	}
	for _, f := range filters {
		out, err := en.api.ListEventSourceMappings(en.ctx, &f.in)
		if err != nil || len(out.EventSourceMappings) != f.want {
			t.Errorf("List(%+v) = %d, %v; want %d", f.in, len(out.EventSourceMappings), err, f.want)
		}
	}
	_ = bytes.MinRead
}

// TestAPI_CreateResponseMatchesRecording compares a create response with the
// one recorded against AWS (testdata/create-response.aws.json, extracted from
// spec/aws-recordings): the same members, the same default values; only the
// volatile ones (ARNs, UUID, LastModified) differ.
func TestAPI_CreateResponseMatchesRecording(t *testing.T) {
	en := newEnv(t)
	arn := en.stream("s", 1)
	en.f.add("f", func(_ context.Context, ev kinesisEvent) (*InvokeResult, error) { return ok("") })
	hs := httptest.NewServer(en.e)
	defer hs.Close()
	body := `{"EventSourceArn":"` + arn + `","FunctionName":"f","StartingPosition":"LATEST"}`
	resp, err := http.Post(hs.URL+mappingsPath+"/", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got, want map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/create-response.aws.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 202 {
		t.Errorf("status %d, want 202", resp.StatusCode)
	}
	volatile := map[string]bool{"EventSourceArn": true, "EventSourceMappingArn": true, "FunctionArn": true, "UUID": true, "LastModified": true}
	for k, w := range want {
		g, present := got[k]
		if !present {
			t.Errorf("member %s missing", k)
			continue
		}
		if !volatile[k] && fmt.Sprint(g) != fmt.Sprint(w) {
			t.Errorf("%s = %v, recorded %v", k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("member %s not in the recording", k)
		}
	}
	if _, isNum := got["LastModified"].(float64); !isNum {
		t.Errorf("LastModified = %v, want epoch seconds", got["LastModified"])
	}
}
