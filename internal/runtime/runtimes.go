package runtime

import (
	"context"
	"embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

//go:embed shims/node/bootstrap.js shims/python/bootstrap.py
var shimFS embed.FS // read-only embedded files, not mutable state

// kind is how a runtime is started.
type kind int

const (
	kindProvided kind = iota + 1 // <CodeDir>/bootstrap
	kindNode                     // local node + embedded shim
	kindPython                   // local python3 + embedded shim
)

// runtimeKind maps an AWS runtime identifier to how penstock runs it.
func runtimeKind(rt string) (kind, bool) {
	switch rt {
	case "provided", "provided.al2", "provided.al2023":
		return kindProvided, true
	case "nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x":
		return kindNode, true
	case "python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14":
		return kindPython, true
	}
	return 0, false
}

// interpreter is the local program each managed runtime family uses.
func (k kind) interpreter() string {
	switch k {
	case kindNode:
		return "node"
	case kindPython:
		return "python3"
	}
	return ""
}

// CheckRuntime reports whether penstock can run functions of this runtime
// on this machine: the identifier must be known and, for managed runtimes,
// the local interpreter (node, python3) must be on PATH. Any nodejs*.x runs
// on the local node and any python3.x on the local python3.
func CheckRuntime(rt string) error {
	k, ok := runtimeKind(rt)
	if !ok {
		return fmt.Errorf("%w %q: supported are provided, provided.al2, provided.al2023, nodejs18.x-nodejs24.x, python3.9-python3.14", ErrUnsupportedRuntime, rt)
	}
	if in := k.interpreter(); in != "" {
		if _, err := exec.LookPath(in); err != nil {
			return fmt.Errorf("runtime %s needs %s on PATH: %w", rt, in, err)
		}
	}
	return nil
}

// writeShims writes the embedded runtime shims under dir/runtime and
// returns that directory (LAMBDA_RUNTIME_DIR for managed runtimes).
func writeShims(dir string) (string, error) {
	rdir := filepath.Join(dir, "runtime")
	for _, name := range []string{"shims/node/bootstrap.js", "shims/python/bootstrap.py"} {
		b, err := shimFS.ReadFile(name)
		if err != nil {
			return "", fmt.Errorf("reading embedded shim %s: %w", name, err)
		}
		dst := filepath.Join(rdir, strings.TrimPrefix(name, "shims/"))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", fmt.Errorf("creating runtime dir: %w", err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return "", fmt.Errorf("writing shim %s: %w", dst, err)
		}
	}
	return rdir, nil
}

// command returns the program and arguments that start an environment;
// interpreter is the resolved node or python3 binary.
func command(k kind, codeDir, runtimeDir, interpreter string) (string, []string, error) {
	switch k {
	case kindProvided:
		return filepath.Join(codeDir, "bootstrap"), nil, nil
	case kindNode:
		return interpreter, []string{filepath.Join(runtimeDir, "node", "bootstrap.js")}, nil
	case kindPython:
		return interpreter, []string{"-u", filepath.Join(runtimeDir, "python", "bootstrap.py")}, nil
	}
	return "", nil, fmt.Errorf("no command for runtime kind %d", k)
}

// resolveInterpreter finds the real binary behind `node` / `python3` on
// PATH. Version-manager shims (pyenv, nvm, asdf) are scripts that cost
// tens of milliseconds per start and read the caller's environment, which
// functions do not get; asking the interpreter for its own path skips them.
func resolveInterpreter(ctx context.Context, k kind) (string, error) {
	name := k.interpreter()
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("finding %s: %w", name, err)
	}
	var args []string
	switch k {
	case kindNode:
		args = []string{"-p", "process.execPath"}
	case kindPython:
		args = []string{"-c", "import sys; print(sys.executable)"}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, p, args...).Output()
	if err != nil {
		return p, nil // use the PATH entry as it is
	}
	real := strings.TrimSpace(string(out))
	if fi, err := os.Stat(real); err != nil || fi.IsDir() {
		return p, nil
	}
	return real, nil
}

// awsPath is the PATH AWS gives functions.
const awsPath = "/usr/local/bin:/usr/bin/:/bin:/opt/bin"

// environ builds the process environment: AWS's unreserved defaults, then
// the function's own variables, then the reserved ones (which win).
func environ(s *Spec, k kind, e envInfo) []string {
	path := awsPath
	if e.interpreterDir != "" && !strings.Contains(":"+path+":", ":"+e.interpreterDir+":") {
		path += ":" + e.interpreterDir
	}
	vars := map[string]string{
		"LANG":                     "en_US.UTF-8",
		"PATH":                     path,
		"TZ":                       ":UTC",
		"LD_LIBRARY_PATH":          "/lib64:/usr/lib64:" + e.runtimeDir + ":" + e.runtimeDir + "/lib:" + s.CodeDir + ":" + s.CodeDir + "/lib:/opt/lib",
		"AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
		"TMPDIR":                   e.tmpDir,
	}
	switch k {
	case kindNode:
		vars["NODE_PATH"] = "/opt/nodejs/node_modules:" + e.runtimeDir + "/node:" + s.CodeDir
	case kindPython:
		vars["PYTHONPATH"] = e.runtimeDir + "/python"
		vars["PYTHONUNBUFFERED"] = "1"
	}
	for k, v := range s.Env {
		vars[k] = v
	}
	reserved := map[string]string{
		"_HANDLER":                        s.Handler,
		"AWS_REGION":                      e.region,
		"AWS_DEFAULT_REGION":              e.region,
		"AWS_LAMBDA_FUNCTION_NAME":        s.Name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": fmt.Sprint(memoryMB(s)),
		"AWS_LAMBDA_FUNCTION_VERSION":     version(s),
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + s.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      e.logStream,
		"AWS_LAMBDA_RUNTIME_API":          e.apiAddr,
		"LAMBDA_TASK_ROOT":                s.CodeDir,
		"LAMBDA_RUNTIME_DIR":              e.runtimeDir,
	}
	if k != kindProvided {
		reserved["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + s.Runtime
	}
	for k, v := range e.credentials {
		reserved[k] = v
	}
	for k, v := range reserved {
		vars[k] = v
	}
	delete(vars, "_LAMBDA_SERVER_PORT") // would switch aws-lambda-go to net/rpc mode
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return out
}

// envInfo is the per-environment input to environ.
type envInfo struct {
	region, apiAddr, logStream, runtimeDir, tmpDir, interpreterDir string
	credentials                                                    map[string]string
}

func memoryMB(s *Spec) int {
	if s.MemoryMB <= 0 {
		return 128
	}
	return s.MemoryMB
}

func version(s *Spec) string {
	if s.Version == "" {
		return "$LATEST"
	}
	return s.Version
}

func timeout(s *Spec) time.Duration {
	if s.Timeout <= 0 {
		return 3 * time.Second
	}
	return s.Timeout
}
