package lambda

import (
	"net/url"
	"regexp"
	"strings"
)

const latest = "$LATEST"

// functionNamePattern is the Lambda model's pattern for FunctionName in
// paths (name, partial ARN or ARN, optional qualifier).
const functionNamePattern = `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`

var (
	functionNameRe = regexp.MustCompile(`^` + functionNamePattern + `$`)
	plainNameRe    = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,64}$`)
	qualifierRe    = regexp.MustCompile(`^(\$LATEST|[a-zA-Z0-9-_]{1,128})$`)
)

// ref is a parsed FunctionName: the bare name and the qualifier the name
// carried, if any.
type ref struct {
	Name      string
	Qualifier string
}

// parseFunctionName accepts every FunctionName form AWS does: name,
// name:qualifier, account:function:name[:qualifier] and the full ARN. The
// region and account of an ARN are not compared with the server's (a
// function is found by name).
func parseFunctionName(s string) (ref, error) {
	if s == "" || len(s) > 170 || !functionNameRe.MatchString(s) {
		var v validation
		v.add(s, "functionName", "satisfy regular expression pattern: "+functionNamePattern)
		return ref{}, v.err()
	}
	parts := strings.Split(s, ":")
	var r ref
	switch {
	case strings.HasPrefix(s, "arn:"):
		// arn:aws:lambda:region:account:function:name[:qualifier]
		if len(parts) < 7 || parts[5] != "function" {
			return ref{}, errInvalid("Invalid function name or ARN: %s", s)
		}
		r.Name = parts[6]
		if len(parts) == 8 {
			r.Qualifier = parts[7]
		}
	case len(parts) >= 3 && parts[1] == "function":
		r.Name = parts[2]
		if len(parts) == 4 {
			r.Qualifier = parts[3]
		}
	case parts[0] == "function" && len(parts) <= 3:
		r.Name = parts[1]
		if len(parts) == 3 {
			r.Qualifier = parts[2]
		}
	case len(parts) == 2:
		r.Name, r.Qualifier = parts[0], parts[1]
	case len(parts) == 1:
		r.Name = s
	default:
		return ref{}, errInvalid("Invalid function name or ARN: %s", s)
	}
	if !plainNameRe.MatchString(r.Name) {
		var v validation
		v.add(s, "functionName", "satisfy regular expression pattern: "+functionNamePattern)
		return ref{}, v.err()
	}
	return r, nil
}

// pathFunctionName decodes the {FunctionName} path segment (ARNs arrive
// URL-escaped) and merges it with a ?Qualifier= query parameter.
func pathFunctionName(seg string, q url.Values) (ref, error) {
	name, err := url.PathUnescape(seg)
	if err != nil {
		name = seg
	}
	r, err := parseFunctionName(name)
	if err != nil {
		return ref{}, err
	}
	if qq := q.Get("Qualifier"); qq != "" {
		if !qualifierRe.MatchString(qq) {
			var v validation
			v.add(qq, "qualifier", `satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)`)
			return ref{}, v.err()
		}
		if r.Qualifier != "" && r.Qualifier != qq {
			return ref{}, errInvalid("The derived qualifier from the function name does not match the specified qualifier.")
		}
		r.Qualifier = qq
	}
	return r, nil
}

func (s *Service) functionARN(name string) string {
	return "arn:aws:lambda:" + s.region + ":" + s.account + ":function:" + name
}
