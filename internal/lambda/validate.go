package lambda

import (
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

const rolePattern = `arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`

var (
	roleRe    = regexp.MustCompile(`^` + rolePattern + `$`)
	handlerRe = regexp.MustCompile(`^[^\s]+$`)
	envKeyRe  = regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9_])+$`)
)

// reservedEnv are the variables Lambda sets itself (esm.md §10.2).
var reservedEnv = []string{"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"}

func runtimeValues() []string {
	var out []string
	for _, v := range types.Runtime("").Values() {
		out = append(out, string(v))
	}
	return out
}

// settings are the configuration members shared by CreateFunction and
// UpdateFunctionConfiguration; nil means "not given".
type settings struct {
	Role        *string `json:"Role"`
	Runtime     *string `json:"Runtime"`
	Handler     *string `json:"Handler"`
	Description *string `json:"Description"`
	Timeout     *int    `json:"Timeout"`
	MemorySize  *int    `json:"MemorySize"`
	Environment *struct {
		Variables map[string]string `json:"Variables"`
	} `json:"Environment"`
	EphemeralStorage *struct {
		Size *int `json:"Size"`
	} `json:"EphemeralStorage"`
	TracingConfig *struct {
		Mode *string `json:"Mode"`
	} `json:"TracingConfig"`
	LoggingConfig *struct {
		LogFormat           *string `json:"LogFormat"`
		LogGroup            *string `json:"LogGroup"`
		ApplicationLogLevel *string `json:"ApplicationLogLevel"`
		SystemLogLevel      *string `json:"SystemLogLevel"`
	} `json:"LoggingConfig"`
	Layers     []string `json:"Layers"`
	RevisionID *string  `json:"RevisionId"`
}

func rangeCheck(v *validation, x *int, member string, lo, hi int) {
	if x == nil {
		return
	}
	if *x < lo {
		v.add(x, member, "have value greater than or equal to "+strconv.Itoa(lo))
	} else if *x > hi {
		v.add(x, member, "have value less than or equal to "+strconv.Itoa(hi))
	}
}

// validate checks model constraints (ValidationException) then semantic ones
// (InvalidParameterValueException).
func (c *settings) validate(v *validation) {
	if c.Role != nil && !roleRe.MatchString(*c.Role) {
		v.add(c.Role, "role", "satisfy regular expression pattern: "+rolePattern)
	}
	if c.Runtime != nil && !slices.Contains(runtimeValues(), *c.Runtime) {
		v.add(c.Runtime, "runtime", "satisfy enum value set: ["+strings.Join(runtimeValues(), ", ")+"]")
	}
	if c.Handler != nil {
		if len(*c.Handler) > 128 {
			v.add(c.Handler, "handler", "have length less than or equal to 128")
		} else if !handlerRe.MatchString(*c.Handler) {
			v.add(c.Handler, "handler", `satisfy regular expression pattern: [^\s]+`)
		}
	}
	if c.Description != nil && len(*c.Description) > 256 {
		v.add(c.Description, "description", "have length less than or equal to 256")
	}
	rangeCheck(v, c.Timeout, "timeout", 1, 900)
	rangeCheck(v, c.MemorySize, "memorySize", 128, 10240)
	if c.EphemeralStorage != nil {
		rangeCheck(v, c.EphemeralStorage.Size, "ephemeralStorage.size", 512, 10240)
	}
	if c.TracingConfig != nil && c.TracingConfig.Mode != nil && *c.TracingConfig.Mode != "Active" && *c.TracingConfig.Mode != "PassThrough" {
		v.add(c.TracingConfig.Mode, "tracingConfig.mode", "satisfy enum value set: [Active, PassThrough]")
	}
	if l := c.LoggingConfig; l != nil {
		if l.LogFormat != nil && *l.LogFormat != "JSON" && *l.LogFormat != "Text" {
			v.add(l.LogFormat, "loggingConfig.logFormat", "satisfy enum value set: [JSON, Text]")
		}
		levels := []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
		if l.ApplicationLogLevel != nil && !slices.Contains(levels, *l.ApplicationLogLevel) {
			v.add(l.ApplicationLogLevel, "loggingConfig.applicationLogLevel", "satisfy enum value set: [TRACE, DEBUG, INFO, WARN, ERROR, FATAL]")
		}
		if l.SystemLogLevel != nil && !slices.Contains([]string{"DEBUG", "INFO", "WARN"}, *l.SystemLogLevel) {
			v.add(l.SystemLogLevel, "loggingConfig.systemLogLevel", "satisfy enum value set: [DEBUG, INFO, WARN]")
		}
	}
	if c.Environment != nil {
		for k := range c.Environment.Variables {
			if !envKeyRe.MatchString(k) {
				v.add(k, "environment.variables", "satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+")
				break
			}
		}
	}
}

// semantic checks what the model cannot express.
func (c *settings) semantic() error {
	if len(c.Layers) > 0 {
		return errInvalid("penstock does not support layers; include the layer's files in the deployment package.")
	}
	if c.Environment != nil {
		var used []string
		for k := range c.Environment.Variables {
			if slices.Contains(reservedEnv, k) {
				used = append(used, k)
			}
		}
		if len(used) > 0 {
			sort.Strings(used)
			return errInvalid("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(used, ","))
		}
		b, _ := json.Marshal(c.Environment.Variables)
		if len(b) > 4096 {
			return errInvalid("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %s", b)
		}
	}
	return nil
}

// apply copies the given members onto r.
func (c *settings) apply(r *record) {
	if c.Role != nil {
		r.Role = *c.Role
	}
	if c.Runtime != nil {
		r.Runtime = *c.Runtime
	}
	if c.Handler != nil {
		r.Handler = *c.Handler
	}
	if c.Description != nil {
		r.Description = *c.Description
	}
	if c.Timeout != nil {
		r.Timeout = *c.Timeout
	}
	if c.MemorySize != nil {
		r.MemorySize = *c.MemorySize
	}
	if c.Environment != nil {
		r.Env, r.HasEnv = c.Environment.Variables, true
	}
	if c.EphemeralStorage != nil && c.EphemeralStorage.Size != nil {
		r.EphemeralStorage = *c.EphemeralStorage.Size
	}
	if c.TracingConfig != nil && c.TracingConfig.Mode != nil {
		r.TracingMode = *c.TracingConfig.Mode
	}
	if l := c.LoggingConfig; l != nil {
		if l.LogFormat != nil {
			r.LogFormat = *l.LogFormat
		}
		if l.LogGroup != nil {
			r.LogGroup = *l.LogGroup
		}
		if l.ApplicationLogLevel != nil {
			r.AppLogLevel = *l.ApplicationLogLevel
		}
		if l.SystemLogLevel != nil {
			r.SystemLogLevel = *l.SystemLogLevel
		}
		if r.LogFormat == "JSON" {
			if r.AppLogLevel == "" {
				r.AppLogLevel = "INFO"
			}
			if r.SystemLogLevel == "" {
				r.SystemLogLevel = "INFO"
			}
		}
	}
}
