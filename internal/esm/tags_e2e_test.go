package esm_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/penstock/penstock/internal/penstocktest"
)

// TestE2E_Tags: tags given at create, TagResource, UntagResource and
// ListTags on a mapping ARN through the Lambda SDK; an unknown mapping ARN
// gets the recorded ResourceNotFoundException.
func TestE2E_Tags(t *testing.T) {
	srv := penstocktest.Start(t, nil)
	ctx := t.Context()
	c := newClients(srv)
	arn := c.setup(t, ctx, "tagged", 1, filepath.Join(t.TempDir(), "fn.log"))
	m, err := c.l.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
		EventSourceArn: aws.String(arn), FunctionName: aws.String("fn"), StartingPosition: ltypes.EventSourcePositionLatest,
		Tags: map[string]string{"team": "orders"},
	})
	if err != nil {
		t.Fatal(err)
	}
	esmARN := m.EventSourceMappingArn
	if _, err := c.l.TagResource(ctx, &lambda.TagResourceInput{Resource: esmARN, Tags: map[string]string{"env": "dev", "tmp": "x"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.l.UntagResource(ctx, &lambda.UntagResourceInput{Resource: esmARN, TagKeys: []string{"tmp"}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.l.ListTags(ctx, &lambda.ListTagsInput{Resource: esmARN})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Tags) != 2 || got.Tags["team"] != "orders" || got.Tags["env"] != "dev" {
		t.Errorf("tags = %v, want team=orders env=dev", got.Tags)
	}
	unknown := "arn:aws:lambda:us-east-1:000000000000:event-source-mapping:6f0e1f8c-0000-4000-8000-000000000000"
	_, err = c.l.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(unknown)})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ResourceNotFoundException" || ae.ErrorMessage() != "Event source mapping not found: "+unknown {
		t.Errorf("ListTags(unknown) = %v", err)
	}
	// Function tags still go to the Lambda service.
	if _, err := c.l.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String("arn:aws:lambda:us-east-1:000000000000:function:fn"), Tags: map[string]string{"a": "b"}}); err != nil {
		t.Errorf("function TagResource: %v", err)
	}
}
