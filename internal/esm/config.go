package esm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/penstock/penstock/internal/awsapi"
)

// Mapping is one event source mapping as stored (KV ESM_mappings, key =
// UUID) and, through its JSON, as the API returns it (spec/esm.md §1.5).
type Mapping struct {
	UUID                           string            `json:"UUID"`
	EventSourceMappingArn          string            `json:"EventSourceMappingArn"`
	EventSourceArn                 string            `json:"EventSourceArn"`
	FunctionArn                    string            `json:"FunctionArn"`
	StartingPosition               string            `json:"StartingPosition"`
	StartingPositionTimestamp      *float64          `json:"StartingPositionTimestamp,omitempty"`
	BatchSize                      int               `json:"BatchSize"`
	MaximumBatchingWindowInSeconds int               `json:"MaximumBatchingWindowInSeconds"`
	ParallelizationFactor          int               `json:"ParallelizationFactor"`
	MaximumRecordAgeInSeconds      int               `json:"MaximumRecordAgeInSeconds"`
	MaximumRetryAttempts           int               `json:"MaximumRetryAttempts"`
	BisectBatchOnFunctionError     bool              `json:"BisectBatchOnFunctionError"`
	TumblingWindowInSeconds        int               `json:"TumblingWindowInSeconds"`
	FunctionResponseTypes          []string          `json:"FunctionResponseTypes"`
	DestinationConfig              DestinationConfig `json:"DestinationConfig"`
	FilterCriteria                 *FilterCriteria   `json:"FilterCriteria,omitempty"`
	MetricsConfig                  *MetricsConfig    `json:"MetricsConfig,omitempty"`
	LastModified                   float64           `json:"LastModified"`
	LastProcessingResult           string            `json:"LastProcessingResult"`
	State                          string            `json:"State"`
	StateTransitionReason          string            `json:"StateTransitionReason"`

	// Stored only.
	Enabled bool              `json:"-"`
	Tags    map[string]string `json:"-"`
}

// DestinationConfig is {"OnFailure":{"Destination":"<arn>"}}.
type DestinationConfig struct {
	OnFailure *OnFailure `json:"OnFailure"`
}

// OnFailure names the on-failure destination.
type OnFailure struct {
	Destination string `json:"Destination,omitempty"`
}

// MetricsConfig is {"Metrics":["EventCount"]}.
type MetricsConfig struct {
	Metrics []string `json:"Metrics"`
}

// stored is Mapping plus its stored-only fields.
type stored struct {
	Mapping
	Enabled bool              `json:"Enabled"`
	Tags    map[string]string `json:"Tags,omitempty"`
	// FunctionName is what to invoke (the FunctionArn, qualifier kept).
	FunctionName string `json:"FunctionName"`
}

func (m Mapping) marshalStored() ([]byte, error) {
	return json.Marshal(stored{Mapping: m, Enabled: m.Enabled, Tags: m.Tags, FunctionName: m.FunctionArn})
}

func unmarshalStored(b []byte) (Mapping, error) {
	var s stored
	if err := json.Unmarshal(b, &s); err != nil {
		return Mapping{}, fmt.Errorf("decoding mapping: %w", err)
	}
	m := s.Mapping
	m.Enabled, m.Tags = s.Enabled, s.Tags
	return m, nil
}

// Mapping states.
const (
	stateCreating  = "Creating"
	stateEnabling  = "Enabling"
	stateEnabled   = "Enabled"
	stateDisabling = "Disabling"
	stateDisabled  = "Disabled"
	stateUpdating  = "Updating"
	stateDeleting  = "Deleting"
)

// Starting positions.
const (
	posTrimHorizon = "TRIM_HORIZON"
	posLatest      = "LATEST"
	posAtTimestamp = "AT_TIMESTAMP"
)

const reportBatchItemFailures = "ReportBatchItemFailures"

// request is the body of Create and Update; nil = not given.
type request struct {
	EventSourceArn                 *string           `json:"EventSourceArn"`
	FunctionName                   *string           `json:"FunctionName"`
	Enabled                        *bool             `json:"Enabled"`
	BatchSize                      *int              `json:"BatchSize"`
	MaximumBatchingWindowInSeconds *int              `json:"MaximumBatchingWindowInSeconds"`
	ParallelizationFactor          *int              `json:"ParallelizationFactor"`
	StartingPosition               *string           `json:"StartingPosition"`
	StartingPositionTimestamp      *float64          `json:"StartingPositionTimestamp"`
	MaximumRecordAgeInSeconds      *int              `json:"MaximumRecordAgeInSeconds"`
	MaximumRetryAttempts           *int              `json:"MaximumRetryAttempts"`
	BisectBatchOnFunctionError     *bool             `json:"BisectBatchOnFunctionError"`
	TumblingWindowInSeconds        *int              `json:"TumblingWindowInSeconds"`
	FunctionResponseTypes          *[]string         `json:"FunctionResponseTypes"`
	DestinationConfig              *requestDest      `json:"DestinationConfig"`
	FilterCriteria                 *json.RawMessage  `json:"FilterCriteria"`
	MetricsConfig                  *MetricsConfig    `json:"MetricsConfig"`
	Tags                           map[string]string `json:"Tags"`
	KMSKeyArn                      *string           `json:"KMSKeyArn"`
	Extra                          map[string]any    `json:"-"`
}

type requestDest struct {
	OnFailure *OnFailure      `json:"OnFailure"`
	OnSuccess json.RawMessage `json:"OnSuccess"`
}

// Error constructors (spec/esm.md §1.2: the message key's casing follows
// the model shape, which writeError applies by code).
func errInvalidParam(format string, args ...any) *awsapi.Error {
	return userErr("InvalidParameterValueException", http.StatusBadRequest, fmt.Sprintf(format, args...))
}

func errValidation(format string, args ...any) *awsapi.Error {
	return awsapi.Errorf("ValidationException", http.StatusBadRequest, format, args...)
}

func errNotFound() *awsapi.Error {
	return userErr("ResourceNotFoundException", http.StatusNotFound, "The resource you requested does not exist.")
}

func errConflict(msg string) *awsapi.Error {
	return userErr("ResourceConflictException", http.StatusConflict, msg)
}

func errInUse(msg string) *awsapi.Error {
	return userErr("ResourceInUseException", http.StatusBadRequest, msg)
}

func errService(err error) *awsapi.Error {
	return userErr("ServiceException", http.StatusInternalServerError, err.Error())
}

func userErr(code string, status int, msg string) *awsapi.Error {
	return &awsapi.Error{Code: code, Status: status, Message: msg, Fields: map[string]any{"Type": "User"}}
}

// rangeErr is the model-validation message for a number out of range.
func rangeErr(member string, v, lo, hi int) *awsapi.Error {
	if v < lo {
		return errValidation("1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value greater than or equal to %d", v, member, lo)
	}
	return errValidation("1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value less than or equal to %d", v, member, hi)
}

// applySettings validates and copies the tunable fields of req into m
// (create: over the defaults; update: over the current values).
func applySettings(m *Mapping, req *request, now time.Time) *awsapi.Error {
	type bound struct {
		v      *int
		member string
		lo, hi int
		dst    *int
	}
	for _, b := range []bound{
		{req.BatchSize, "batchSize", 1, 10000, &m.BatchSize},
		{req.MaximumBatchingWindowInSeconds, "maximumBatchingWindowInSeconds", 0, 300, &m.MaximumBatchingWindowInSeconds},
		{req.ParallelizationFactor, "parallelizationFactor", 1, 10, &m.ParallelizationFactor},
		{req.MaximumRecordAgeInSeconds, "maximumRecordAgeInSeconds", -1, 604800, &m.MaximumRecordAgeInSeconds},
		{req.MaximumRetryAttempts, "maximumRetryAttempts", -1, 10000, &m.MaximumRetryAttempts},
		{req.TumblingWindowInSeconds, "tumblingWindowInSeconds", 0, 900, &m.TumblingWindowInSeconds},
	} {
		if b.v == nil {
			continue
		}
		if *b.v < b.lo || *b.v > b.hi {
			return rangeErr(b.member, *b.v, b.lo, b.hi)
		}
		*b.dst = *b.v
	}
	if a := m.MaximumRecordAgeInSeconds; a != -1 && (a < 60 || a > 604800) {
		return errInvalidParam("MaximumRecordAgeInSeconds must be either -1 (forever) or between 60 and 604800 (inclusive)")
	}
	if req.Enabled != nil {
		m.Enabled = *req.Enabled
	}
	if req.BisectBatchOnFunctionError != nil {
		m.BisectBatchOnFunctionError = *req.BisectBatchOnFunctionError
	}
	if req.FunctionResponseTypes != nil {
		for _, t := range *req.FunctionResponseTypes {
			if t != reportBatchItemFailures {
				return errValidation("1 validation error detected: Value '[%s]' at 'functionResponseTypes' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]", strings.Join(*req.FunctionResponseTypes, ", "))
			}
		}
		if len(*req.FunctionResponseTypes) > 1 {
			return errValidation("1 validation error detected: Value '[%s]' at 'functionResponseTypes' failed to satisfy constraint: Member must have length less than or equal to 1", strings.Join(*req.FunctionResponseTypes, ", "))
		}
		m.FunctionResponseTypes = append([]string{}, *req.FunctionResponseTypes...)
	}
	if req.DestinationConfig != nil {
		if len(req.DestinationConfig.OnSuccess) > 0 && string(req.DestinationConfig.OnSuccess) != "null" {
			return errInvalidParam("Unsupported DestinationConfig parameter for given event source mapping type.")
		}
		m.DestinationConfig = DestinationConfig{OnFailure: &OnFailure{}}
		if of := req.DestinationConfig.OnFailure; of != nil {
			if len(of.Destination) > 350 {
				return errValidation("1 validation error detected: Value '%s' at 'destinationConfig.onFailure.destination' failed to satisfy constraint: Member must have length less than or equal to 350", of.Destination)
			}
			m.DestinationConfig.OnFailure.Destination = of.Destination
		}
	}
	if req.FilterCriteria != nil {
		fc, err := parseFilterCriteria(*req.FilterCriteria)
		if err != nil {
			return errInvalidParam("%s", err.Error())
		}
		m.FilterCriteria = fc // {} and {"Filters":[]} remove the filters
	}
	if req.MetricsConfig != nil {
		for _, x := range req.MetricsConfig.Metrics {
			if x != "EventCount" && x != "ErrorCount" && x != "KafkaMetrics" {
				return errValidation("1 validation error detected: Value '[%s]' at 'metricsConfig.metrics' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [EventCount, ErrorCount, KafkaMetrics]]", strings.Join(req.MetricsConfig.Metrics, ", "))
			}
		}
		if len(req.MetricsConfig.Metrics) == 0 {
			m.MetricsConfig = nil
		} else {
			m.MetricsConfig = &MetricsConfig{Metrics: append([]string{}, req.MetricsConfig.Metrics...)}
		}
	}
	m.LastModified = epochSeconds(now)
	return nil
}

// newMapping returns a mapping with Kinesis defaults (spec/esm.md §1.4).
func newMapping() Mapping {
	return Mapping{
		BatchSize:                 100,
		ParallelizationFactor:     1,
		MaximumRecordAgeInSeconds: -1,
		MaximumRetryAttempts:      -1,
		FunctionResponseTypes:     []string{},
		DestinationConfig:         DestinationConfig{OnFailure: &OnFailure{}},
		LastProcessingResult:      "No records processed",
		StateTransitionReason:     "User action",
		Enabled:                   true,
	}
}

func epochSeconds(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}

// policy derives the fate policy of a mapping.
func (m Mapping) policy(base, maxBackoff time.Duration) policy {
	p := policy{MaxRetries: m.MaximumRetryAttempts, Bisect: m.BisectBatchOnFunctionError,
		BackoffBase: base, BackoffMax: maxBackoff}
	if m.MaximumRecordAgeInSeconds > 0 {
		p.MaxAge = time.Duration(m.MaximumRecordAgeInSeconds) * time.Second
	}
	for _, t := range m.FunctionResponseTypes {
		if t == reportBatchItemFailures {
			p.ItemFailures = true
		}
	}
	return p
}

func (m Mapping) destination() string {
	if m.DestinationConfig.OnFailure == nil {
		return ""
	}
	return m.DestinationConfig.OnFailure.Destination
}

// runKey is what makes running pollers restart when it changes.
func (m Mapping) runKey() string {
	b, _ := json.Marshal(struct {
		A, F, P          string
		B, W, PF, Age, R int
		Bi               bool
		T                []string
		D                string
		TW               int
		FC               *FilterCriteria
	}{m.EventSourceArn, m.FunctionArn, m.StartingPosition, m.BatchSize, m.MaximumBatchingWindowInSeconds,
		m.ParallelizationFactor, m.MaximumRecordAgeInSeconds, m.MaximumRetryAttempts,
		m.BisectBatchOnFunctionError, m.FunctionResponseTypes, m.destination(),
		m.TumblingWindowInSeconds, m.FilterCriteria})
	return string(b)
}
