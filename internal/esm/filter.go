package esm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file is event filtering (spec/esm.md §7): FilterCriteria validation
// and matching of EventBridge-style patterns against Kinesis records. Pure
// logic, no I/O.

// FilterCriteria is {"Filters":[{"Pattern":"<json>"}]} as the API shapes it.
type FilterCriteria struct {
	Filters []Filter `json:"Filters"`
}

// Filter is one pattern, kept as the JSON text the caller sent.
type Filter struct {
	Pattern string `json:"Pattern"`
}

const (
	maxFilters       = 5
	maxPatternLength = 4096
	invalidPattern   = "Invalid filter pattern definition."
)

// parseFilterCriteria validates a FilterCriteria request member. nil means
// no filters (absent, {}, {"Filters":[]} or {"Filters":null}).
func parseFilterCriteria(raw json.RawMessage) (*FilterCriteria, error) {
	var fc struct {
		Filters []struct {
			Pattern *string `json:"Pattern"`
		} `json:"Filters"`
	}
	if err := json.Unmarshal(raw, &fc); err != nil {
		return nil, errors.New(invalidPattern)
	}
	if len(fc.Filters) == 0 {
		return nil, nil
	}
	if len(fc.Filters) > maxFilters {
		// UNCONFIRMED wording: AWS enforces the quota; its message is not recorded.
		return nil, fmt.Errorf("The maximum number of filters (%d) for this event source mapping has been exceeded.", maxFilters)
	}
	out := &FilterCriteria{}
	for _, f := range fc.Filters {
		if f.Pattern == nil {
			return nil, errors.New(invalidPattern)
		}
		if utf8.RuneCountInString(*f.Pattern) > maxPatternLength {
			return nil, errors.New(invalidPattern)
		}
		if _, err := compilePattern(*f.Pattern); err != nil {
			return nil, errors.New(invalidPattern)
		}
		out.Filters = append(out.Filters, Filter{Pattern: *f.Pattern})
	}
	return out, nil
}

// filterSet is a mapping's compiled filters: a record passes if any matches.
type filterSet []*pattern

func compileFilters(fc *FilterCriteria) (filterSet, error) {
	if fc == nil {
		return nil, nil
	}
	var fs filterSet
	for _, f := range fc.Filters {
		p, err := compilePattern(f.Pattern)
		if err != nil {
			return nil, err
		}
		fs = append(fs, p)
	}
	return fs, nil
}

// match reports whether a record passes the filters (no filters: every
// record passes). The record is presented as Lambda's filtering documents
// it for Kinesis: the kinesis metadata fields and the event's top-level
// fields side by side, with data decoded from JSON when it is JSON (else
// absent, so a pattern on data does not match).
func (fs filterSet) match(es eventSource, seqNum, pk string, data []byte, arrival time.Time) bool {
	if len(fs) == 0 {
		return true
	}
	doc := map[string]any{
		"kinesisSchemaVersion":        "1.0",
		"partitionKey":                pk,
		"sequenceNumber":              seqNum,
		"approximateArrivalTimestamp": json.Number(strconv.FormatFloat(float64(arrival.UnixMilli())/1000, 'f', 3, 64)),
		"eventSource":                 "aws:kinesis",
		"eventVersion":                "1.0",
		"eventID":                     es.ShardID + ":" + seqNum,
		"eventName":                   "aws:kinesis:record",
		"invokeIdentityArn":           es.Role,
		"awsRegion":                   es.Region,
		"eventSourceARN":              es.StreamARN,
	}
	if v, ok := decodeJSON(data); ok {
		doc["data"] = v
	}
	for _, p := range fs {
		if p.match(doc) {
			return true
		}
	}
	return false
}

func decodeJSON(b []byte) (any, bool) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, false
	}
	if d.More() {
		return nil, false
	}
	if _, err := d.Token(); err == nil {
		return nil, false
	}
	return v, true
}

// pattern is one compiled event pattern: every field must match (and),
// plus any $or alternatives.
type pattern struct {
	fields []fieldPattern
	ors    [][]*pattern // each $or: one of its patterns must match
}

type fieldPattern struct {
	key  string
	sub  *pattern  // nested object
	vals []matcher // leaf: one must match (or)
}

func compilePattern(s string) (*pattern, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("pattern is not JSON: %w", err)
	}
	if _, err := d.Token(); err == nil {
		return nil, errors.New("trailing data after the pattern")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("a pattern is a JSON object")
	}
	return compileObject(obj)
}

func compileObject(obj map[string]any) (*pattern, error) {
	if len(obj) == 0 {
		return nil, errors.New("empty pattern object")
	}
	p := &pattern{}
	for k, v := range obj {
		if k == "$or" {
			list, ok := v.([]any)
			if !ok || len(list) < 2 {
				return nil, errors.New("$or needs a list of at least two patterns")
			}
			var alts []*pattern
			for _, x := range list {
				o, ok := x.(map[string]any)
				if !ok {
					return nil, errors.New("$or entries are objects")
				}
				sp, err := compileObject(o)
				if err != nil {
					return nil, err
				}
				alts = append(alts, sp)
			}
			p.ors = append(p.ors, alts)
			continue
		}
		switch x := v.(type) {
		case map[string]any:
			sp, err := compileObject(x)
			if err != nil {
				return nil, err
			}
			p.fields = append(p.fields, fieldPattern{key: k, sub: sp})
		case []any:
			if len(x) == 0 {
				return nil, fmt.Errorf("field %q: empty list", k)
			}
			fp := fieldPattern{key: k}
			for _, e := range x {
				m, err := compileMatcher(e)
				if err != nil {
					return nil, fmt.Errorf("field %q: %w", k, err)
				}
				fp.vals = append(fp.vals, m)
			}
			p.fields = append(p.fields, fp)
		default:
			return nil, fmt.Errorf("field %q: a leaf value must be a list", k)
		}
	}
	return p, nil
}

// match applies the pattern to an object value.
func (p *pattern) match(v any) bool {
	obj, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for _, f := range p.fields {
		val, present := obj[f.key]
		if f.sub != nil {
			if !present || !matchNested(f.sub, val) {
				return false
			}
			continue
		}
		if !matchLeaf(f.vals, val, present) {
			return false
		}
	}
	for _, alts := range p.ors {
		hit := false
		for _, a := range alts {
			if a.match(obj) {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// matchNested: a nested pattern matches an object, or any object of a list.
func matchNested(p *pattern, v any) bool {
	if list, ok := v.([]any); ok {
		for _, e := range list {
			if p.match(e) {
				return true
			}
		}
		return false
	}
	return p.match(v)
}

// matchLeaf: one matcher must accept the value (any element of a list value).
func matchLeaf(ms []matcher, v any, present bool) bool {
	for _, m := range ms {
		if m.kind == mExists {
			if m.exists == (present && !isEmptyList(v)) {
				return true
			}
			continue
		}
		if !present {
			// Every other matcher, anything-but too, needs the field.
			continue
		}
		if list, ok := v.([]any); ok {
			if m.kind == mAnythingBut {
				// Every element must avoid the excluded values.
				okAll := len(list) > 0
				for _, e := range list {
					if !m.accept(e) {
						okAll = false
						break
					}
				}
				if okAll {
					return true
				}
				continue
			}
			for _, e := range list {
				if m.accept(e) {
					return true
				}
			}
			continue
		}
		if m.accept(v) {
			return true
		}
	}
	return false
}

func isEmptyList(v any) bool {
	l, ok := v.([]any)
	return ok && len(l) == 0
}

type matcherKind int

const (
	mExact       matcherKind = iota // string, number (by text), bool, null
	mPrefix                         // prefix (optionally ignoring case)
	mSuffix                         // suffix (optionally ignoring case)
	mIgnoreCase                     // equals-ignore-case
	mWildcard                       // wildcard with *
	mNumeric                        // numeric comparisons
	mExists                         // exists true/false
	mAnythingBut                    // anything-but: none of inner matches
)

type matcher struct {
	kind       matcherKind
	exact      any // string, json.Number, bool or nil
	text       string
	ignoreCase bool
	exists     bool
	cmps       []numCmp
	inner      []matcher // anything-but
}

type numCmp struct {
	op string
	v  float64
}

func compileMatcher(e any) (matcher, error) {
	switch x := e.(type) {
	case string, json.Number, bool, nil:
		return matcher{kind: mExact, exact: x}, nil
	case map[string]any:
		if len(x) != 1 {
			return matcher{}, errors.New("a matcher object has exactly one key")
		}
		for k, v := range x {
			return compileOperator(k, v)
		}
	}
	return matcher{}, fmt.Errorf("unsupported matcher %v", e)
}

func compileOperator(k string, v any) (matcher, error) {
	switch k {
	case "prefix", "suffix":
		kind := mPrefix
		if k == "suffix" {
			kind = mSuffix
		}
		switch x := v.(type) {
		case string:
			return matcher{kind: kind, text: x}, nil
		case map[string]any:
			if s, ok := x["equals-ignore-case"].(string); ok && len(x) == 1 {
				return matcher{kind: kind, text: strings.ToLower(s), ignoreCase: true}, nil
			}
		}
		return matcher{}, fmt.Errorf("%s takes a string", k)
	case "equals-ignore-case":
		s, ok := v.(string)
		if !ok {
			return matcher{}, errors.New("equals-ignore-case takes a string")
		}
		return matcher{kind: mIgnoreCase, text: strings.ToLower(s)}, nil
	case "wildcard":
		s, ok := v.(string)
		if !ok || strings.Contains(s, "**") {
			return matcher{}, errors.New("wildcard takes a string without consecutive *")
		}
		return matcher{kind: mWildcard, text: s}, nil
	case "exists":
		b, ok := v.(bool)
		if !ok {
			return matcher{}, errors.New("exists takes true or false")
		}
		return matcher{kind: mExists, exists: b}, nil
	case "numeric":
		return compileNumeric(v)
	case "anything-but":
		m := matcher{kind: mAnythingBut}
		switch x := v.(type) {
		case string, json.Number:
			m.inner = []matcher{{kind: mExact, exact: x}}
		case []any:
			if len(x) == 0 {
				return matcher{}, errors.New("anything-but list is empty")
			}
			for _, e := range x {
				switch e.(type) {
				case string, json.Number:
					m.inner = append(m.inner, matcher{kind: mExact, exact: e})
				default:
					return matcher{}, errors.New("anything-but lists hold strings or numbers")
				}
			}
		case map[string]any:
			if len(x) != 1 {
				return matcher{}, errors.New("anything-but takes one operator")
			}
			for ik, iv := range x {
				switch ik {
				case "prefix", "suffix", "equals-ignore-case", "wildcard":
				default:
					return matcher{}, fmt.Errorf("anything-but does not take %s", ik)
				}
				if l, ok := iv.([]any); ok && ik != "prefix" && ik != "suffix" {
					for _, e := range l {
						im, err := compileOperator(ik, e)
						if err != nil {
							return matcher{}, err
						}
						m.inner = append(m.inner, im)
					}
					continue
				}
				im, err := compileOperator(ik, iv)
				if err != nil {
					return matcher{}, err
				}
				m.inner = append(m.inner, im)
			}
		default:
			return matcher{}, errors.New("anything-but takes a value, a list or an operator")
		}
		return m, nil
	}
	return matcher{}, fmt.Errorf("unknown operator %q", k)
}

func compileNumeric(v any) (matcher, error) {
	l, ok := v.([]any)
	if !ok || len(l) == 0 || len(l)%2 != 0 || len(l) > 4 {
		return matcher{}, errors.New("numeric takes [op, n] or [op, n, op, n]")
	}
	m := matcher{kind: mNumeric}
	for i := 0; i < len(l); i += 2 {
		op, ok := l[i].(string)
		n, nok := l[i+1].(json.Number)
		if !ok || !nok {
			return matcher{}, errors.New("numeric takes operator strings and numbers")
		}
		switch op {
		case "=", "<", "<=", ">", ">=":
		default:
			return matcher{}, fmt.Errorf("numeric operator %q", op)
		}
		f, err := n.Float64()
		if err != nil {
			return matcher{}, fmt.Errorf("numeric value %s: %w", n, err)
		}
		m.cmps = append(m.cmps, numCmp{op, f})
	}
	return m, nil
}

// accept matches one scalar value.
func (m matcher) accept(v any) bool {
	switch m.kind {
	case mExact:
		switch x := m.exact.(type) {
		case nil:
			return v == nil
		case bool:
			b, ok := v.(bool)
			return ok && b == x
		case json.Number:
			// Numbers compare by their text (spec/esm.md §7: 300 ≠ 300.0).
			n, ok := v.(json.Number)
			return ok && n.String() == x.String()
		case string:
			s, ok := v.(string)
			return ok && s == x
		}
		return false
	case mPrefix, mSuffix, mIgnoreCase, mWildcard:
		s, ok := v.(string)
		if !ok {
			return false
		}
		if m.ignoreCase || m.kind == mIgnoreCase {
			s = strings.ToLower(s)
		}
		switch m.kind {
		case mPrefix:
			return strings.HasPrefix(s, m.text)
		case mSuffix:
			return strings.HasSuffix(s, m.text)
		case mIgnoreCase:
			return s == m.text
		default:
			return wildcardMatch(m.text, s)
		}
	case mNumeric:
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		f, err := n.Float64()
		if err != nil || math.IsNaN(f) {
			return false
		}
		for _, c := range m.cmps {
			var pass bool
			switch c.op {
			case "=":
				pass = f == c.v
			case "<":
				pass = f < c.v
			case "<=":
				pass = f <= c.v
			case ">":
				pass = f > c.v
			case ">=":
				pass = f >= c.v
			}
			if !pass {
				return false
			}
		}
		return true
	case mAnythingBut:
		// Only strings and numbers are compared (EventBridge); other
		// values are different from every excluded one.
		for _, in := range m.inner {
			if in.accept(v) {
				return false
			}
		}
		return true
	}
	return false
}

// wildcardMatch matches s against a pattern where * is any run of characters.
func wildcardMatch(pat, s string) bool {
	parts := strings.Split(pat, "*")
	if len(parts) == 1 {
		return pat == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, last)
}
