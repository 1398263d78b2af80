package runtime_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/penstock/penstock/internal/runtime"
)

// A Manager runs a Python function: Run owns the processes, Invoke starts
// an environment on the first call and reuses it afterwards.
func ExampleManager_Invoke() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	code := filepath.Join(dir, "code")
	_ = os.MkdirAll(code, 0o755)
	_ = os.WriteFile(filepath.Join(code, "app.py"), []byte(
		"def handler(event, context):\n    return {'hello': event['name'], 'fn': context.function_name}\n"), 0o644)

	m := runtime.NewManager(runtime.Options{Region: "us-east-1", WorkDir: filepath.Join(dir, "work")})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	defer func() { stop(); <-done }()

	fn := &runtime.Spec{Name: "greeter", Runtime: "python3.12", Handler: "app.handler", CodeDir: code}
	for _, name := range []string{"kinesis", "lambda"} {
		res, err := m.Invoke(ctx, fn, []byte(`{"name":"`+name+`"}`), runtime.InvokeOptions{})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(string(res.Payload), res.Cold)
	}
	// Output:
	// {"hello": "kinesis", "fn": "greeter"} true
	// {"hello": "lambda", "fn": "greeter"} false
}
