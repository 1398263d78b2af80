package kinesis

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/penstock/penstock/internal/awsapi"
)

// validator collects constraint violations in AWS's format:
// "Value '<v>' at '<path>' failed to satisfy constraint: <rule>".
type validator struct{ items []string }

func (v *validator) add(value, path, rule string) {
	v.items = append(v.items, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", value, path, rule))
}

func quote(s string) string { return "'" + s + "'" }

// err returns the ValidationException, or nil. At most 10 items are listed.
func (v *validator) err() *awsapi.Error {
	n := len(v.items)
	if n == 0 {
		return nil
	}
	items := v.items
	if len(items) > 10 {
		items = items[:10]
	}
	plural := "error"
	if n > 1 {
		plural = "errors"
	}
	return errorf(codeValidation, "%d validation %s detected: %s", n, plural, strings.Join(items, "; "))
}

func (v *validator) required(path string, present bool) bool {
	if !present {
		v.add("null", path, "Member must not be null")
	}
	return present
}

// str checks a string member's length (in characters) and pattern.
func (v *validator) str(path string, s *string, req bool, minLen, maxLen int, re *regexp.Regexp) {
	if s == nil {
		if req {
			v.required(path, false)
		}
		return
	}
	n := utf8.RuneCountInString(*s)
	if n < minLen {
		v.add(quote(*s), path, fmt.Sprintf("Member must have length greater than or equal to %d", minLen))
	}
	if maxLen > 0 && n > maxLen {
		v.add(quote(*s), path, fmt.Sprintf("Member must have length less than or equal to %d", maxLen))
	}
	if re != nil && !re.MatchString(*s) {
		v.add(quote(*s), path, "Member must satisfy regular expression pattern: "+strings.TrimSuffix(strings.TrimPrefix(re.String(), "^(?:"), ")$"))
	}
}

// integer checks a numeric range; min/max are ignored when nil.
func (v *validator) integer(path string, n *int64, req bool, minV, maxV *int64) {
	if n == nil {
		if req {
			v.required(path, false)
		}
		return
	}
	if minV != nil && *n < *minV {
		v.add(quote(strconv.FormatInt(*n, 10)), path, fmt.Sprintf("Member must have value greater than or equal to %d", *minV))
	}
	if maxV != nil && *n > *maxV {
		v.add(quote(strconv.FormatInt(*n, 10)), path, fmt.Sprintf("Member must have value less than or equal to %d", *maxV))
	}
}

func (v *validator) enum(path string, s *string, req bool, values ...string) {
	if s == nil {
		if req {
			v.required(path, false)
		}
		return
	}
	for _, e := range values {
		if *s == e {
			return
		}
	}
	v.add(quote(*s), path, "Member must satisfy enum value set: ["+strings.Join(values, ", ")+"]")
}

func blobValue(n int) string {
	return fmt.Sprintf("'java.nio.HeapByteBuffer[pos=0 lim=%d cap=%d]'", n, n)
}

func i64(n int64) *int64 { return &n }

// anchored compiles an AWS pattern so that it must match the whole value.
func anchored(p string) *regexp.Regexp { return regexp.MustCompile("^(?:" + p + ")$") }

var (
	reStreamName  = anchored(`[a-zA-Z0-9_.-]+`)
	reStreamARN   = anchored(`arn:aws.*:kinesis:.*:\d{12}:stream/\S+`)
	reResourceARN = anchored(`arn:aws.*:kinesis:.*:\d{12}:.*stream/\S+`)
	reHashKey     = anchored(`0|([1-9]\d{0,38})`)
	reSeqNumber   = anchored(`0|([1-9]\d{0,128})`)
	reShardID     = anchored(`[a-zA-Z0-9_.-]+`)
	reStreamID    = anchored(`[a-z0-9]{20}-[a-z0-9]{3}`)
)
