package lambda_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Concurrent writers never lose each other's changes (compare-and-set on
// the KV revision), and one name is created once.
func TestConcurrentWriters(t *testing.T) {
	e := start(t)
	ctx := t.Context()
	zip := pythonZip(t)
	var created, conflicts atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			_, err := e.c.CreateFunction(ctx, &awslambda.CreateFunctionInput{FunctionName: aws.String("racy"), Runtime: types.RuntimePython312,
				Handler: aws.String("app.handler"), Role: aws.String(role), Code: &types.FunctionCode{ZipFile: zip}})
			if err == nil {
				created.Add(1)
			} else if code, _, _ := apiError(t, err); code == "ResourceConflictException" {
				conflicts.Add(1)
			}
		})
	}
	wg.Wait()
	if created.Load() != 1 || conflicts.Load() != 3 {
		t.Fatalf("4 concurrent creates: %d created, %d conflicts", created.Load(), conflicts.Load())
	}
	arn := aws.String("arn:aws:lambda:us-east-1:000000000000:function:racy")
	for i := range 10 {
		wg.Go(func() {
			if _, err := e.c.TagResource(ctx, &awslambda.TagResourceInput{Resource: arn, Tags: map[string]string{fmt.Sprint("k", i): "v"}}); err != nil {
				t.Errorf("TagResource: %v", err)
			}
		})
	}
	wg.Wait()
	tags, err := e.c.ListTags(ctx, &awslambda.ListTagsInput{Resource: arn})
	if err != nil || len(tags.Tags) != 10 {
		t.Fatalf("after 10 concurrent TagResource: %v, %v", tags.Tags, err)
	}
}
