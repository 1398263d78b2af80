package lambda_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func TestFunctionLifecycle(t *testing.T) {
	e := start(t)
	ctx := t.Context()
	zip := pythonZip(t)
	out, err := e.c.CreateFunction(ctx, &awslambda.CreateFunctionInput{
		FunctionName: aws.String("life"), Runtime: types.RuntimePython312, Handler: aws.String("app.handler"),
		Role: aws.String(role), Code: &types.FunctionCode{ZipFile: zip},
		Description: aws.String("a test"), Environment: &types.Environment{Variables: map[string]string{"GREETING": "hi"}},
		Tags: map[string]string{"team": "data"},
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(zip)
	arn := "arn:aws:lambda:us-east-1:000000000000:function:life"
	for _, c := range []struct{ name, got, want string }{
		{"FunctionArn", aws.ToString(out.FunctionArn), arn},
		{"State", string(out.State), "Pending"},
		{"StateReason", aws.ToString(out.StateReason), "The function is being created."},
		{"StateReasonCode", string(out.StateReasonCode), "Creating"},
		{"LastUpdateStatus", string(out.LastUpdateStatus), ""},
		{"Version", aws.ToString(out.Version), "$LATEST"},
		{"Role", aws.ToString(out.Role), role},
		{"CodeSha256", aws.ToString(out.CodeSha256), base64.StdEncoding.EncodeToString(sum[:])},
		{"CodeSize", fmt.Sprint(out.CodeSize), fmt.Sprint(len(zip))},
		{"Timeout", fmt.Sprint(aws.ToInt32(out.Timeout)), "3"},
		{"MemorySize", fmt.Sprint(aws.ToInt32(out.MemorySize)), "128"},
		{"Architectures", fmt.Sprint(out.Architectures), "[x86_64]"},
		{"EphemeralStorage", fmt.Sprint(aws.ToInt32(out.EphemeralStorage.Size)), "512"},
		{"LoggingConfig", string(out.LoggingConfig.LogFormat) + " " + aws.ToString(out.LoggingConfig.LogGroup), "Text /aws/lambda/life"},
		{"TracingConfig", string(out.TracingConfig.Mode), "PassThrough"},
		{"SnapStart", string(out.SnapStart.ApplyOn) + " " + string(out.SnapStart.OptimizationStatus), "None Off"},
		{"PackageType", string(out.PackageType), "Zip"},
		{"Environment", out.Environment.Variables["GREETING"], "hi"},
		{"Description", aws.ToString(out.Description), "a test"},
	} {
		if c.got != c.want {
			t.Errorf("create: %s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$`).MatchString(aws.ToString(out.LastModified)) {
		t.Errorf("LastModified %q not in AWS's format", aws.ToString(out.LastModified))
	}
	e.waitActive(t, "life")

	// Every FunctionName form finds it.
	for _, name := range []string{"life", arn, "000000000000:function:life", arn + ":$LATEST", "life:$LATEST"} {
		got, err := e.c.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatalf("GetFunction(%s): %v", name, err)
		}
		if aws.ToString(got.Configuration.FunctionName) != "life" || got.Configuration.State != types.StateActive ||
			got.Configuration.LastUpdateStatus != types.LastUpdateStatusSuccessful || got.Tags["team"] != "data" ||
			aws.ToString(got.Code.RepositoryType) != "S3" {
			t.Fatalf("GetFunction(%s) = %+v", name, got)
		}
		// Code.Location serves the package.
		resp, err := http.Get(aws.ToString(got.Code.Location))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(body, zip) {
			t.Fatalf("Code.Location served %d bytes, want the %d-byte package", len(body), len(zip))
		}
	}

	upd, err := e.c.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(arn), Timeout: aws.Int32(10), MemorySize: aws.Int32(256),
	})
	if err != nil {
		t.Fatal(err)
	}
	if upd.LastUpdateStatus != types.LastUpdateStatusInProgress || aws.ToString(upd.LastUpdateStatusReason) != "The function is being created." ||
		string(upd.LastUpdateStatusReasonCode) != "Creating" || aws.ToInt32(upd.Timeout) != 10 || aws.ToString(upd.RevisionId) == aws.ToString(out.RevisionId) {
		t.Fatalf("UpdateFunctionConfiguration = %+v", upd)
	}
	e.waitActive(t, "life")

	zip2 := makeZip(t, file{"app.py", 0o644, []byte("def handler(e, c):\n    return 2\n")})
	code, err := e.c.UpdateFunctionCode(ctx, &awslambda.UpdateFunctionCodeInput{FunctionName: aws.String("life"), ZipFile: zip2})
	if err != nil {
		t.Fatal(err)
	}
	if code.LastUpdateStatus != types.LastUpdateStatusInProgress || code.CodeSize != int64(len(zip2)) || aws.ToInt32(code.Timeout) != 10 {
		t.Fatalf("UpdateFunctionCode = %+v", code)
	}
	e.waitActive(t, "life")
	res, err := e.invoke(t, "life", map[string]any{})
	if err != nil || string(res.Payload) != "2" {
		t.Fatalf("invoke after code update: %s, %v", res.Payload, err)
	}

	_, err = e.c.CreateFunction(ctx, &awslambda.CreateFunctionInput{
		FunctionName: aws.String("life"), Runtime: types.RuntimePython312, Handler: aws.String("app.handler"),
		Role: aws.String(role), Code: &types.FunctionCode{ZipFile: zip},
	})
	wantAPIError(t, err, "ResourceConflictException", 409, "Function already exist: life")

	if _, err := e.c.DeleteFunction(ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("life")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("life")})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "Function not found: "+arn)
	_, err = e.c.DeleteFunction(ctx, &awslambda.DeleteFunctionInput{FunctionName: aws.String("life")})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "Function not found: "+arn)
}

func TestDeleteFunctionWireFormat(t *testing.T) {
	e := start(t)
	e.create(t, &awslambda.CreateFunctionInput{FunctionName: aws.String("wire"), Runtime: types.RuntimePython312,
		Handler: aws.String("app.handler"), Code: &types.FunctionCode{ZipFile: pythonZip(t)}})
	req, _ := http.NewRequest(http.MethodDelete, e.srv.URL()+"/2015-03-31/functions/"+
		strings.ReplaceAll("arn:aws:lambda:us-east-1:000000000000:function:wire", ":", "%3A"), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 204 || len(body) != 0 {
		t.Fatalf("DeleteFunction: %d %q, want 204 and no body", resp.StatusCode, body)
	}
	// Error bodies: header X-Amzn-ErrorType, "Type":"User", "Message" for
	// ResourceNotFoundException.
	resp, err = http.Get(e.srv.URL() + "/2015-03-31/functions/wire")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	got := decode[map[string]string](t, body)
	if resp.StatusCode != 404 || resp.Header.Get("X-Amzn-ErrorType") != "ResourceNotFoundException" ||
		got["Type"] != "User" || got["Message"] != "Function not found: arn:aws:lambda:us-east-1:000000000000:function:wire" {
		t.Fatalf("GetFunction of a deleted function: %d %v %s", resp.StatusCode, resp.Header, body)
	}
}

func TestListFunctionsPaging(t *testing.T) {
	e := start(t)
	ctx := t.Context()
	zip := pythonZip(t)
	const n = 7
	for i := range n {
		_, err := e.c.CreateFunction(ctx, &awslambda.CreateFunctionInput{
			FunctionName: aws.String(fmt.Sprintf("fn-%02d", i)), Runtime: types.RuntimePython312,
			Handler: aws.String("app.handler"), Role: aws.String(role), Code: &types.FunctionCode{ZipFile: zip},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	pages := 0
	p := awslambda.NewListFunctionsPaginator(e.c, &awslambda.ListFunctionsInput{MaxItems: aws.Int32(3)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.Functions) > 3 {
			t.Fatalf("page of %d functions, MaxItems 3", len(page.Functions))
		}
		for _, f := range page.Functions {
			names = append(names, aws.ToString(f.FunctionName))
			if f.State != "" || f.LastUpdateStatus != "" || f.StateReasonCode != "" {
				t.Errorf("list entry %s carries state members: %+v", *f.FunctionName, f)
			}
		}
	}
	if pages != 3 || len(names) != n || names[0] != "fn-00" || names[n-1] != "fn-06" {
		t.Fatalf("listed %v in %d pages", names, pages)
	}
	// Default page size is at most 50.
	all, err := e.c.ListFunctions(ctx, &awslambda.ListFunctionsInput{})
	if err != nil || len(all.Functions) != n || all.NextMarker != nil {
		t.Fatalf("ListFunctions: %d functions, marker %v, %v", len(all.Functions), all.NextMarker, err)
	}
}

func TestCreateFunctionValidation(t *testing.T) {
	e := start(t)
	good := pythonZip(t)
	base := func() *awslambda.CreateFunctionInput {
		return &awslambda.CreateFunctionInput{FunctionName: aws.String("v"), Runtime: types.RuntimePython312,
			Handler: aws.String("app.handler"), Role: aws.String(role), Code: &types.FunctionCode{ZipFile: good}}
	}
	// A header that claims more than 250 MB unzipped.
	var big bytes.Buffer
	{
		zw := newRawZip(&big)
		zw.add(t, "huge.bin", 300<<20)
		zw.close(t)
	}
	cases := []struct {
		name   string
		mutate func(*awslambda.CreateFunctionInput)
		code   string
		status int
		msg    string // "" = only check code and status; prefix match with "..."
	}{
		{"bad runtime", func(in *awslambda.CreateFunctionInput) { in.Runtime = "cobol85" }, "ValidationException", 400,
			"1 validation error detected: Value 'cobol85' at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [..."},
		{"timeout 0", func(in *awslambda.CreateFunctionInput) { in.Timeout = aws.Int32(0) }, "ValidationException", 400,
			"1 validation error detected: Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"timeout 901", func(in *awslambda.CreateFunctionInput) { in.Timeout = aws.Int32(901) }, "ValidationException", 400,
			"1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900"},
		{"memory 127 and timeout 0", func(in *awslambda.CreateFunctionInput) { in.MemorySize = aws.Int32(127); in.Timeout = aws.Int32(0) }, "ValidationException", 400,
			"2 validation errors detected: Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1; Value '127' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128"},
		{"bad role", func(in *awslambda.CreateFunctionInput) { in.Role = aws.String("nope") }, "ValidationException", 400, ""},
		{"no handler", func(in *awslambda.CreateFunctionInput) { in.Handler = nil }, "InvalidParameterValueException", 400,
			"Runtime and Handler are mandatory parameters for functions created with deployment packages."},
		{"runtime not runnable here", func(in *awslambda.CreateFunctionInput) { in.Runtime = types.RuntimeJava21 }, "InvalidParameterValueException", 400,
			"The runtime parameter of java21 is not supported by this penstock server: ..."},
		{"not a zip", func(in *awslambda.CreateFunctionInput) { in.Code.ZipFile = []byte("hello") }, "InvalidParameterValueException", 400,
			"Could not unzip uploaded file. Please check your file, then try to upload again."},
		{"zip slip", func(in *awslambda.CreateFunctionInput) {
			in.Code.ZipFile = makeZip(t, file{"app.py", 0o644, []byte("x")}, file{"../../evil.sh", 0o755, []byte("#!/bin/sh")})
		}, "InvalidParameterValueException", 400,
			`Could not unzip uploaded file: the entry "../../evil.sh" would be extracted outside the function's directory (zip slip)...`},
		{"absolute path", func(in *awslambda.CreateFunctionInput) {
			in.Code.ZipFile = makeZip(t, file{"/etc/evil", 0o644, []byte("x")})
		}, "InvalidParameterValueException", 400, `Could not unzip uploaded file: the entry "/etc/evil" would be extracted outside...`},
		{"unzipped too large", func(in *awslambda.CreateFunctionInput) { in.Code.ZipFile = big.Bytes() }, "InvalidParameterValueException", 400,
			"Unzipped size must be smaller than 262144000 bytes"},
		{"reserved env", func(in *awslambda.CreateFunctionInput) {
			in.Environment = &types.Environment{Variables: map[string]string{"AWS_REGION": "x"}}
		}, "InvalidParameterValueException", 400,
			"Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: AWS_REGION"},
		{"env over 4KB", func(in *awslambda.CreateFunctionInput) {
			in.Environment = &types.Environment{Variables: map[string]string{"BIG": strings.Repeat("x", 4100)}}
		}, "InvalidParameterValueException", 400,
			"Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: ..."},
		{"bad name", func(in *awslambda.CreateFunctionInput) { in.FunctionName = aws.String("no spaces") }, "ValidationException", 400, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := base()
			c.mutate(in)
			_, err := e.c.CreateFunction(t.Context(), in)
			if err == nil {
				t.Fatalf("want %s, got success", c.code)
			}
			code, msg, status := apiError(t, err)
			if code != c.code || status != c.status {
				t.Fatalf("got %s %d %q, want %s %d", code, status, msg, c.code, c.status)
			}
			if want, ok := strings.CutSuffix(c.msg, "..."); ok && !strings.HasPrefix(msg, want) || !ok && c.msg != "" && msg != c.msg {
				t.Fatalf("message %q, want %q", msg, c.msg)
			}
		})
	}
	// Nothing was created by the failures.
	list, err := e.c.ListFunctions(t.Context(), &awslambda.ListFunctionsInput{})
	if err != nil || len(list.Functions) != 0 {
		t.Fatalf("after failed creates: %d functions, %v", len(list.Functions), err)
	}
}

func TestCreateFunctionBodyTooLarge(t *testing.T) {
	e := start(t)
	body := bytes.Repeat([]byte("A"), 70167211+1)
	resp, err := http.Post(e.srv.URL()+"/2015-03-31/functions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	got := decode[map[string]string](t, b)
	if resp.StatusCode != 413 || resp.Header.Get("X-Amzn-ErrorType") != "RequestEntityTooLargeException" ||
		got["message"] != "Request must be smaller than 70167211 bytes for the CreateFunction operation" {
		t.Fatalf("oversized CreateFunction: %d %s %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b)
	}
}

func TestTagsAndConcurrencyAPI(t *testing.T) {
	e := start(t)
	ctx := t.Context()
	e.create(t, &awslambda.CreateFunctionInput{FunctionName: aws.String("tagged"), Runtime: types.RuntimePython312,
		Handler: aws.String("app.handler"), Code: &types.FunctionCode{ZipFile: pythonZip(t)}, Tags: map[string]string{"a": "1"}})
	arn := "arn:aws:lambda:us-east-1:000000000000:function:tagged"
	if _, err := e.c.TagResource(ctx, &awslambda.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{"b": "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.UntagResource(ctx, &awslambda.UntagResourceInput{Resource: aws.String(arn), TagKeys: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := e.c.ListTags(ctx, &awslambda.ListTagsInput{Resource: aws.String(arn)})
	if err != nil || fmt.Sprint(tags.Tags) != "map[b:2]" {
		t.Fatalf("ListTags = %v, %v", tags, err)
	}
	_, err = e.c.ListTags(ctx, &awslambda.ListTagsInput{Resource: aws.String(arn + "x")})
	wantAPIError(t, err, "ResourceNotFoundException", 404, "Function not found: "+arn+"x")

	got, err := e.c.GetFunctionConcurrency(ctx, &awslambda.GetFunctionConcurrencyInput{FunctionName: aws.String("tagged")})
	if err != nil || got.ReservedConcurrentExecutions != nil {
		t.Fatalf("GetFunctionConcurrency before put = %v, %v", got, err)
	}
	put, err := e.c.PutFunctionConcurrency(ctx, &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("tagged"), ReservedConcurrentExecutions: aws.Int32(5)})
	if err != nil || aws.ToInt32(put.ReservedConcurrentExecutions) != 5 {
		t.Fatalf("PutFunctionConcurrency = %v, %v", put, err)
	}
	got, err = e.c.GetFunctionConcurrency(ctx, &awslambda.GetFunctionConcurrencyInput{FunctionName: aws.String(arn)})
	if err != nil || aws.ToInt32(got.ReservedConcurrentExecutions) != 5 {
		t.Fatalf("GetFunctionConcurrency = %v, %v", got, err)
	}
	fn, err := e.c.GetFunction(ctx, &awslambda.GetFunctionInput{FunctionName: aws.String("tagged")})
	if err != nil || fn.Concurrency == nil || aws.ToInt32(fn.Concurrency.ReservedConcurrentExecutions) != 5 {
		t.Fatalf("GetFunction.Concurrency = %+v, %v", fn.Concurrency, err)
	}
	_, err = e.c.PutFunctionConcurrency(ctx, &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("tagged"), ReservedConcurrentExecutions: aws.Int32(901)})
	wantAPIError(t, err, "InvalidParameterValueException", 400, "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].")
	_, err = e.c.PutFunctionConcurrency(ctx, &awslambda.PutFunctionConcurrencyInput{FunctionName: aws.String("tagged:$LATEST"), ReservedConcurrentExecutions: aws.Int32(1)})
	wantAPIError(t, err, "InvalidParameterValueException", 400, "This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN.")
	if _, err := e.c.DeleteFunctionConcurrency(ctx, &awslambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("tagged")}); err != nil {
		t.Fatal(err)
	}
	got, err = e.c.GetFunctionConcurrency(ctx, &awslambda.GetFunctionConcurrencyInput{FunctionName: aws.String("tagged")})
	if err != nil || got.ReservedConcurrentExecutions != nil {
		t.Fatalf("GetFunctionConcurrency after delete = %v, %v", got, err)
	}
}

func TestUpdateConflict(t *testing.T) {
	e := start(t)
	ctx := t.Context()
	e.create(t, &awslambda.CreateFunctionInput{FunctionName: aws.String("busy"), Runtime: types.RuntimePython312,
		Handler: aws.String("app.handler"), Code: &types.FunctionCode{ZipFile: pythonZip(t)}})
	cfg, err := e.c.GetFunctionConfiguration(ctx, &awslambda.GetFunctionConfigurationInput{FunctionName: aws.String("busy")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.c.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("busy"),
		Description: aws.String("x"), RevisionId: aws.String("not-the-revision")})
	wantAPIError(t, err, "PreconditionFailedException", 412, "")
	_, err = e.c.UpdateFunctionConfiguration(ctx, &awslambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("busy"),
		Description: aws.String("x"), RevisionId: cfg.RevisionId})
	if err != nil {
		t.Fatal(err)
	}
	e.waitActive(t, "busy")
}

func TestCodeCacheKeepsModes(t *testing.T) {
	e := start(t)
	zip := makeZip(t, file{"bootstrap", 0o755, goTestBootstrap}, file{"conf/secret.txt", 0o640, []byte("s")}, file{"bin/tool", 0o700, []byte("#!/bin/sh\n")})
	out := e.create(t, &awslambda.CreateFunctionInput{FunctionName: aws.String("modes"), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zip}})
	sum := sha256.Sum256(zip)
	dir := filepath.Join(e.srv.Config().DataDir, "functions", hex.EncodeToString(sum[:]))
	for name, want := range map[string]os.FileMode{"bootstrap": 0o755, "conf/secret.txt": 0o640, "bin/tool": 0o700} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s unpacked with mode %v, want %v", name, fi.Mode().Perm(), want)
		}
	}
	// The executable bootstrap runs.
	if res, err := e.invoke(t, *out.FunctionName, map[string]any{"value": 1}); err != nil || res.FunctionError != nil {
		t.Fatalf("invoke: %v", err)
	}
}

func TestCreateFunctionMissingInterpreter(t *testing.T) {
	e := start(t)
	t.Setenv("PATH", t.TempDir()) // no node, no python3 for the server in this process
	_, err := e.c.CreateFunction(t.Context(), &awslambda.CreateFunctionInput{FunctionName: aws.String("nonode"), Runtime: types.RuntimeNodejs20x,
		Handler: aws.String("index.handler"), Role: aws.String(role), Code: &types.FunctionCode{ZipFile: nodeSeedZip(t)}})
	wantAPIError(t, err, "InvalidParameterValueException", 400, "")
	if _, msg, _ := apiError(t, err); !strings.Contains(msg, "nodejs20.x") || !strings.Contains(msg, "node") {
		t.Fatalf("message %q does not name the runtime and its interpreter", msg)
	}
}
