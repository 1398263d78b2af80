package esm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/penstock/penstock/internal/awsapi"
)

const mappingsPath = "/2015-03-31/event-source-mappings"

// ServeHTTP serves the event-source-mapping operations of the Lambda API
// and the tags operations on mapping ARNs (see IsTagPath).
func (e *Engine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if IsTagPath(r) {
		e.serveTags(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), mappingsPath)
	if !ok {
		writeError(w, errNotFound())
		return
	}
	rest = strings.Trim(rest, "/")
	id, _ := url.PathUnescape(rest)
	var (
		status = http.StatusOK
		out    any
		err    error
	)
	switch {
	case id == "" && r.Method == http.MethodPost:
		status = http.StatusAccepted
		out, err = e.create(r)
	case id == "" && r.Method == http.MethodGet:
		out, err = e.list(r.Context(), r.URL.Query())
	case id != "" && r.Method == http.MethodGet:
		out, err = e.get(r.Context(), id)
	case id != "" && r.Method == http.MethodPut:
		status = http.StatusAccepted
		out, err = e.update(r, id)
	case id != "" && r.Method == http.MethodDelete:
		status = http.StatusAccepted
		out, err = e.delete(r.Context(), id)
	default:
		err = awsapi.Errorf("UnknownOperationException", http.StatusBadRequest, "Unknown operation %s %s", r.Method, r.URL.Path)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", awsapi.RequestID())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

// capitalMessage lists the errors whose model shape spells "Message".
var capitalMessage = map[string]bool{
	"ResourceNotFoundException": true, "ResourceInUseException": true, "ServiceException": true,
}

func writeError(w http.ResponseWriter, err error) {
	var ae *awsapi.Error
	if !errors.As(err, &ae) {
		ae = errService(err)
	}
	body := map[string]any{}
	for k, v := range ae.Fields {
		body[k] = v
	}
	key := "message"
	if capitalMessage[ae.Code] {
		key = "Message"
	}
	body[key] = ae.Message
	body["__type"] = ae.Code
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", ae.Code)
	w.Header().Set("X-Amzn-RequestId", awsapi.RequestID())
	w.WriteHeader(ae.Status)
	_ = json.NewEncoder(w).Encode(body)
}

func decodeRequest(r *http.Request) (*request, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("reading request: %w", err)
	}
	var req request
	if len(strings.TrimSpace(string(b))) == 0 {
		return &req, nil
	}
	if err := json.Unmarshal(b, &req); err != nil {
		return nil, awsapi.Errorf("SerializationException", http.StatusBadRequest, "%s", err.Error())
	}
	return &req, nil
}

var startingPositions = map[string]bool{posLatest: true, posAtTimestamp: true, posTrimHorizon: true}

func (e *Engine) create(r *http.Request) (any, error) {
	ctx := r.Context()
	req, err := decodeRequest(r)
	if err != nil {
		return nil, err
	}
	if req.StartingPosition != nil && !startingPositions[*req.StartingPosition] {
		return nil, errValidation("1 validation error detected: Value '%s' at 'startingPosition' failed to satisfy constraint: Member must satisfy enum value set: [LATEST, AT_TIMESTAMP, TRIM_HORIZON]", *req.StartingPosition)
	}
	if req.FunctionName == nil {
		return nil, errValidation("1 validation error detected: Value null at 'functionName' failed to satisfy constraint: Member must not be null.")
	}
	now := e.clock.Now()
	m := newMapping()
	if aerr := applySettings(&m, req, now); aerr != nil {
		return nil, aerr
	}
	if req.EventSourceArn == nil || !strings.HasPrefix(*req.EventSourceArn, "arn:") || !strings.Contains(*req.EventSourceArn, ":kinesis:") {
		return nil, errInvalidParam("Unrecognized event source.")
	}
	m.EventSourceArn = *req.EventSourceArn
	if req.StartingPosition == nil {
		return nil, errInvalidParam("1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: Member must not be null.")
	}
	m.StartingPosition = *req.StartingPosition
	if m.StartingPosition == posAtTimestamp {
		if req.StartingPositionTimestamp == nil {
			// Text UNCONFIRMED.
			return nil, errInvalidParam("StartingPositionTimestamp must be provided when StartingPosition is AT_TIMESTAMP.")
		}
		if *req.StartingPositionTimestamp > epochSeconds(now)+1 {
			// Text UNCONFIRMED: AWS documents only "cannot be in the future".
			return nil, errInvalidParam("StartingPositionTimestamp cannot be in the future.")
		}
		m.StartingPositionTimestamp = req.StartingPositionTimestamp
	}
	fn, err := e.resolveFunction(ctx, *req.FunctionName)
	if err != nil {
		return nil, err
	}
	m.FunctionArn = fn
	if _, err := e.o.Streams.Shards(ctx, m.EventSourceArn); err != nil {
		if errors.Is(err, ErrStreamNotFound) {
			return nil, errInvalidParam("Stream not found: %s", m.EventSourceArn)
		}
		return nil, errService(err)
	}
	all, err := e.maps.list(ctx)
	if err != nil {
		return nil, errService(err)
	}
	for _, o := range all {
		if o.EventSourceArn == m.EventSourceArn && o.FunctionArn == m.FunctionArn && o.State != stateDeleting {
			return nil, errConflict(fmt.Sprintf(`The event source arn (" %s ") and function (" %s ") provided mapping already exists. Please update or delete the existing mapping with UUID %s`,
				m.EventSourceArn, functionNameOf(m.FunctionArn), o.UUID))
		}
	}
	if err := e.checkDestination(ctx, m.destination()); err != nil {
		return nil, err
	}
	m.UUID = uuid.NewString()
	m.EventSourceMappingArn = fmt.Sprintf("arn:aws:lambda:%s:%s:event-source-mapping:%s", e.o.Region, e.o.AccountID, m.UUID)
	m.State = stateCreating
	m.Tags = req.Tags
	if err := e.maps.create(ctx, m); err != nil {
		return nil, errService(err)
	}
	return m, nil
}

// resolveFunction returns the function ARN a mapping invokes, keeping a
// qualifier the caller gave.
func (e *Engine) resolveFunction(ctx context.Context, name string) (string, error) {
	fi, err := e.o.Functions.Function(ctx, name)
	if errors.Is(err, ErrFunctionNotFound) {
		return "", errInvalidParam("Function does not exist")
	}
	if err != nil {
		return "", errService(err)
	}
	if q := qualifierOf(name); q != "" {
		return fi.ARN + ":" + q, nil
	}
	return fi.ARN, nil
}

// qualifierOf returns the version or alias in a function name, ARN or
// partial ARN ("" when unqualified).
func qualifierOf(name string) string {
	parts := strings.Split(name, ":")
	switch {
	case len(parts) == 8 && strings.HasPrefix(name, "arn:"): // arn:aws:lambda:r:a:function:name:q
		return parts[7]
	case len(parts) == 4 && parts[1] == "function": // account:function:name:q
		return parts[3]
	case len(parts) == 2: // name:q
		return parts[1]
	}
	return ""
}

// functionNameOf returns the bare function name of an ARN.
func functionNameOf(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) >= 7 && parts[5] == "function" {
		return parts[6]
	}
	return arn
}

func (e *Engine) checkDestination(ctx context.Context, dest string) error {
	if dest == "" {
		return nil
	}
	if e.o.Destinations == nil {
		return errInvalidParam("penstock was started without on-failure destinations: DestinationConfig cannot be used.")
	}
	if err := e.o.Destinations.Check(ctx, dest); err != nil {
		var ae *awsapi.Error
		if errors.As(err, &ae) {
			return ae
		}
		return errInvalidParam("%s", err.Error())
	}
	return nil
}

func (e *Engine) view(m Mapping) Mapping {
	if met := e.Metrics(m.UUID); met != nil {
		if r := met.result(); r != "" {
			m.LastProcessingResult = r
		}
	}
	return m
}

func (e *Engine) get(ctx context.Context, id string) (any, error) {
	m, _, err := e.maps.get(ctx, id)
	if errors.Is(err, errNoMapping) {
		return nil, errNotFound()
	}
	if err != nil {
		return nil, errService(err)
	}
	return e.view(m), nil
}

func (e *Engine) update(r *http.Request, id string) (any, error) {
	ctx := r.Context()
	req, err := decodeRequest(r)
	if err != nil {
		return nil, err
	}
	var fn string
	if req.FunctionName != nil {
		if fn, err = e.resolveFunction(ctx, *req.FunctionName); err != nil {
			return nil, err
		}
	}
	if req.DestinationConfig != nil && req.DestinationConfig.OnFailure != nil {
		if err := e.checkDestination(ctx, req.DestinationConfig.OnFailure.Destination); err != nil {
			return nil, err
		}
	}
	m, err := e.maps.update(ctx, id, func(m *Mapping) error {
		if m.State == stateDeleting {
			return errInUse("Cannot update the event source mapping because it is being deleted.")
		}
		was := m.Enabled
		if aerr := applySettings(m, req, e.clock.Now()); aerr != nil {
			return aerr
		}
		if fn != "" {
			m.FunctionArn = fn
		}
		switch {
		case m.Enabled && !was:
			m.State = stateEnabling
		case !m.Enabled && was:
			m.State = stateDisabling
		default:
			m.State = stateUpdating
		}
		for k, v := range req.Tags {
			if m.Tags == nil {
				m.Tags = map[string]string{}
			}
			m.Tags[k] = v
		}
		return nil
	})
	if errors.Is(err, errNoMapping) {
		return nil, errNotFound()
	}
	if err != nil {
		return nil, err
	}
	return e.view(m), nil
}

func (e *Engine) delete(ctx context.Context, id string) (any, error) {
	m, err := e.maps.update(ctx, id, func(m *Mapping) error {
		m.State = stateDeleting
		m.LastModified = epochSeconds(e.clock.Now())
		return nil
	})
	if errors.Is(err, errNoMapping) {
		return nil, errNotFound()
	}
	if err != nil {
		return nil, err
	}
	return e.view(m), nil
}

type listOutput struct {
	EventSourceMappings []Mapping `json:"EventSourceMappings"`
	NextMarker          string    `json:"NextMarker,omitempty"`
}

func (e *Engine) list(ctx context.Context, q url.Values) (any, error) {
	maxItems := 100
	if s := q.Get("MaxItems"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			v, _ := strconv.Atoi(s)
			return nil, rangeErr("maxItems", v, 1, 10000)
		}
		maxItems = min(n, 100)
	}
	all, err := e.maps.list(ctx)
	if err != nil {
		return nil, errService(err)
	}
	src, fn := q.Get("EventSourceArn"), q.Get("FunctionName")
	marker := q.Get("Marker")
	out := listOutput{EventSourceMappings: []Mapping{}}
	for _, m := range all {
		if marker != "" && m.UUID <= marker {
			continue
		}
		if src != "" && m.EventSourceArn != src {
			continue
		}
		if fn != "" && !functionMatches(m.FunctionArn, fn) {
			continue
		}
		if len(out.EventSourceMappings) == maxItems {
			out.NextMarker = out.EventSourceMappings[maxItems-1].UUID
			break
		}
		out.EventSourceMappings = append(out.EventSourceMappings, e.view(m))
	}
	return out, nil
}

// functionMatches: a List filter by name, ARN or partial ARN.
func functionMatches(arn, f string) bool {
	return arn == f || functionNameOf(arn) == f || strings.HasSuffix(arn, ":"+f) ||
		strings.HasSuffix(arn, ":function:"+f)
}
