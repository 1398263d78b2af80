package lambda_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/penstock/penstock/internal/penstocktest"
)

// Unpacked packages of deleted functions and replaced code are removed
// from the code cache at the next start; live ones stay.
func TestCodeCacheCleanedAtStart(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir, true)
	zipOf := func(body string) []byte {
		return makeZip(t, file{"app.py", 0o644, []byte("def handler(e, c):\n    return " + body + "\n")})
	}
	cacheDir := func(zip []byte) string {
		sum := sha256.Sum256(zip)
		return filepath.Join(dir, "code", hex.EncodeToString(sum[:]))
	}
	v1, v2, gone := zipOf("1"), zipOf("2"), zipOf("3")
	create := func(name string, zip []byte) {
		n.create(t, &awslambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: types.RuntimePython312,
			Handler: aws.String("app.handler"), Role: aws.String(role), Code: &types.FunctionCode{ZipFile: zip}})
	}
	create("kept", v1)
	create("deleted", gone)
	if _, err := n.c.UpdateFunctionCode(t.Context(), &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("kept"), ZipFile: v2}); err != nil {
		t.Fatal(err)
	}
	n.waitActive(t, "kept")
	if _, err := n.c.DeleteFunction(t.Context(), &awslambda.DeleteFunctionInput{FunctionName: aws.String("deleted")}); err != nil {
		t.Fatal(err)
	}
	for _, z := range [][]byte{v1, v2, gone} {
		if _, err := os.Stat(cacheDir(z)); err != nil {
			t.Fatalf("before restart: %v", err)
		}
	}
	n.stop()

	n = startNode(t, dir, true)
	penstocktest.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		for _, z := range [][]byte{v1, gone} {
			if _, err := os.Stat(cacheDir(z)); !os.IsNotExist(err) {
				return fmt.Errorf("stale package %s still cached (%v)", filepath.Base(cacheDir(z)), err)
			}
		}
		return nil
	})
	if _, err := os.Stat(cacheDir(v2)); err != nil {
		t.Fatalf("live package removed: %v", err)
	}
	out, err := n.c.Invoke(t.Context(), &awslambda.InvokeInput{FunctionName: aws.String("kept")})
	if err != nil || string(out.Payload) != "2" {
		t.Fatalf("invoke after restart: %v %s", err, out.Payload)
	}
}
