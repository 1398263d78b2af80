package lambda

import (
	"time"
)

// State strings as AWS reports them (esm.md §1.3, recorded).
const (
	statePending  = "Pending"
	stateActive   = "Active"
	updInProgress = "InProgress"
	updSuccessful = "Successful"

	reasonCreating = "The function is being created."
	codeCreating   = "Creating"
)

// record is one function as stored in the LAMBDA_functions bucket (key =
// function name). Every change is a compare-and-set on the entry's revision.
type record struct {
	Name        string            `json:"name"`
	Runtime     string            `json:"runtime"`
	Handler     string            `json:"handler,omitempty"`
	Role        string            `json:"role"`
	Description string            `json:"description"`
	Timeout     int               `json:"timeout"`
	MemorySize  int               `json:"memorySize"`
	Env         map[string]string `json:"env,omitempty"` // nil = no Environment
	HasEnv      bool              `json:"hasEnv,omitempty"`

	Architectures    []string `json:"architectures"`
	EphemeralStorage int      `json:"ephemeralStorage"`
	TracingMode      string   `json:"tracingMode"`
	LogFormat        string   `json:"logFormat"`
	LogGroup         string   `json:"logGroup"`
	AppLogLevel      string   `json:"appLogLevel,omitempty"`
	SystemLogLevel   string   `json:"systemLogLevel,omitempty"`

	Code code `json:"code"`

	LastModified time.Time `json:"lastModified"`
	RevisionID   string    `json:"revisionId"`

	State                      string `json:"state"`
	StateReason                string `json:"stateReason,omitempty"`
	StateReasonCode            string `json:"stateReasonCode,omitempty"`
	LastUpdateStatus           string `json:"lastUpdateStatus,omitempty"`
	LastUpdateStatusReason     string `json:"lastUpdateStatusReason,omitempty"`
	LastUpdateStatusReasonCode string `json:"lastUpdateStatusReasonCode,omitempty"`

	Tags     map[string]string `json:"tags,omitempty"`
	Reserved *int              `json:"reserved,omitempty"` // reserved concurrency

	// Live is what invocations run: set when the function becomes Active
	// and replaced when an update completes, so that invocations during an
	// update keep using the previous code and configuration (as AWS does).
	Live *live `json:"live,omitempty"`
}

// code is a function's deployment package.
type code struct {
	Sha256 string `json:"sha256"` // base64, as CodeSha256
	Hex    string `json:"hex"`    // hex of the same digest: cache dir name
	Size   int64  `json:"size"`
	Object string `json:"object"` // object name in LAMBDA_code
}

// live is the part of a function an execution environment is built from.
type live struct {
	Runtime    string            `json:"runtime"`
	Handler    string            `json:"handler"`
	Timeout    int               `json:"timeout"`
	MemorySize int               `json:"memorySize"`
	Env        map[string]string `json:"env,omitempty"`
	Code       code              `json:"code"`
	RevisionID string            `json:"revisionId"`
}

func (r *record) snapshot() *live {
	return &live{Runtime: r.Runtime, Handler: r.Handler, Timeout: r.Timeout, MemorySize: r.MemorySize,
		Env: r.Env, Code: r.Code, RevisionID: r.RevisionID}
}

// functionConfiguration is the FunctionConfiguration shape, members in the
// order AWS writes them.
type functionConfiguration struct {
	FunctionName               string            `json:"FunctionName"`
	FunctionArn                string            `json:"FunctionArn"`
	Runtime                    string            `json:"Runtime,omitempty"`
	Role                       string            `json:"Role"`
	Handler                    string            `json:"Handler,omitempty"`
	CodeSize                   int64             `json:"CodeSize"`
	Description                string            `json:"Description"`
	Timeout                    int               `json:"Timeout"`
	MemorySize                 int               `json:"MemorySize"`
	LastModified               string            `json:"LastModified"`
	CodeSha256                 string            `json:"CodeSha256"`
	Version                    string            `json:"Version"`
	Environment                *environment      `json:"Environment,omitempty"`
	TracingConfig              map[string]string `json:"TracingConfig"`
	RevisionID                 string            `json:"RevisionId"`
	State                      string            `json:"State,omitempty"`
	StateReason                string            `json:"StateReason,omitempty"`
	StateReasonCode            string            `json:"StateReasonCode,omitempty"`
	LastUpdateStatus           string            `json:"LastUpdateStatus,omitempty"`
	LastUpdateStatusReason     string            `json:"LastUpdateStatusReason,omitempty"`
	LastUpdateStatusReasonCode string            `json:"LastUpdateStatusReasonCode,omitempty"`
	PackageType                string            `json:"PackageType"`
	Architectures              []string          `json:"Architectures"`
	EphemeralStorage           map[string]int    `json:"EphemeralStorage"`
	SnapStart                  map[string]string `json:"SnapStart"`
	LoggingConfig              map[string]string `json:"LoggingConfig"`
}

type environment struct {
	Variables map[string]string `json:"Variables"`
}

// lastModifiedFormat is FunctionConfiguration.LastModified:
// 2019-11-21T19:32:12.000+0000.
const lastModifiedFormat = "2006-01-02T15:04:05.000-0700"

// configuration renders the record. List entries (inList) omit the state
// members, as ListFunctions does.
func (s *Service) configuration(r *record, inList bool) functionConfiguration {
	c := functionConfiguration{
		FunctionName:     r.Name,
		FunctionArn:      s.functionARN(r.Name),
		Runtime:          r.Runtime,
		Role:             r.Role,
		Handler:          r.Handler,
		CodeSize:         r.Code.Size,
		Description:      r.Description,
		Timeout:          r.Timeout,
		MemorySize:       r.MemorySize,
		LastModified:     r.LastModified.UTC().Format(lastModifiedFormat),
		CodeSha256:       r.Code.Sha256,
		Version:          latest,
		TracingConfig:    map[string]string{"Mode": r.TracingMode},
		RevisionID:       r.RevisionID,
		PackageType:      "Zip",
		Architectures:    r.Architectures,
		EphemeralStorage: map[string]int{"Size": r.EphemeralStorage},
		SnapStart:        map[string]string{"ApplyOn": "None", "OptimizationStatus": "Off"},
		LoggingConfig:    map[string]string{"LogFormat": r.LogFormat, "LogGroup": r.LogGroup},
	}
	if r.AppLogLevel != "" {
		c.LoggingConfig["ApplicationLogLevel"] = r.AppLogLevel
	}
	if r.SystemLogLevel != "" {
		c.LoggingConfig["SystemLogLevel"] = r.SystemLogLevel
	}
	if r.HasEnv {
		vars := r.Env
		if vars == nil {
			vars = map[string]string{}
		}
		c.Environment = &environment{Variables: vars}
	}
	if !inList {
		c.State = r.State
		c.StateReason = r.StateReason
		c.StateReasonCode = r.StateReasonCode
		c.LastUpdateStatus = r.LastUpdateStatus
		c.LastUpdateStatusReason = r.LastUpdateStatusReason
		c.LastUpdateStatusReasonCode = r.LastUpdateStatusReasonCode
	}
	return c
}
