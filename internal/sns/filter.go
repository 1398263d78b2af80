package sns

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// A filter policy (subscription attribute FilterPolicy) decides which
// messages a subscription gets. Scope MessageAttributes (the default)
// matches the message attributes (String, Number, String.Array; Binary
// never matches); scope MessageBody matches the JSON message, nested keys
// included. Keys are ANDed, the values of a key ORed; "$or" takes a list of
// alternative policies. Value rules: exact strings and numbers,
// {"prefix"}, {"suffix"}, {"equals-ignore-case"}, {"anything-but": value,
// [values] or {"prefix"}}, {"numeric": [op, n, ...]}, {"exists": bool}.

// checkFilterPolicy validates a policy (InvalidParameter otherwise).
func checkFilterPolicy(v string) error {
	var p map[string]any
	if err := json.Unmarshal([]byte(v), &p); err != nil {
		return errInvalid("Invalid parameter: FilterPolicy: failed to parse JSON. %v", err)
	}
	if err := checkPolicyObject(p); err != nil {
		return errInvalid("Invalid parameter: FilterPolicy: %v", err)
	}
	return nil
}

func checkPolicyObject(p map[string]any) error {
	for k, v := range p {
		if k == "$or" {
			alts, ok := v.([]any)
			if !ok || len(alts) < 2 {
				return fmt.Errorf(`"$or" needs a list of at least two policies`)
			}
			for _, a := range alts {
				o, ok := a.(map[string]any)
				if !ok {
					return fmt.Errorf(`"$or" alternatives must be objects`)
				}
				if err := checkPolicyObject(o); err != nil {
					return err
				}
			}
			continue
		}
		switch x := v.(type) {
		case map[string]any:
			if err := checkPolicyObject(x); err != nil {
				return err
			}
		case []any:
			for _, rule := range x {
				if err := checkRule(rule); err != nil {
					return fmt.Errorf("%s: %w", k, err)
				}
			}
		default:
			return fmt.Errorf("%s: match value must be a list or an object", k)
		}
	}
	return nil
}

func checkRule(rule any) error {
	switch r := rule.(type) {
	case string, float64, nil, bool:
		return nil
	case map[string]any:
		if len(r) != 1 {
			return fmt.Errorf("a rule object has exactly one operator")
		}
		for op, arg := range r {
			switch op {
			case "prefix", "suffix", "equals-ignore-case":
				if _, ok := arg.(string); !ok {
					return fmt.Errorf("%s takes a string", op)
				}
			case "exists":
				if _, ok := arg.(bool); !ok {
					return fmt.Errorf("exists takes true or false")
				}
			case "anything-but":
				return nil
			case "numeric":
				conds, ok := arg.([]any)
				if !ok || len(conds) == 0 || len(conds)%2 != 0 {
					return fmt.Errorf("numeric takes [operator, number, ...]")
				}
				for i := 0; i < len(conds); i += 2 {
					o, _ := conds[i].(string)
					if _, ok := conds[i+1].(float64); !ok || !strings.Contains("= < <= > >=", o) || o == "" {
						return fmt.Errorf("bad numeric condition %v %v", conds[i], conds[i+1])
					}
				}
			default:
				return fmt.Errorf("unrecognized match type %s", op)
			}
		}
		return nil
	}
	return fmt.Errorf("bad rule %v", rule)
}

// attributeDoc turns message attributes into the document a policy of
// scope MessageAttributes matches.
func attributeDoc(attrs map[string]msgAttr) map[string]any {
	doc := map[string]any{}
	for k, a := range attrs {
		switch {
		case strings.HasPrefix(a.Type, "Number"):
			if f, err := strconv.ParseFloat(a.String, 64); err == nil {
				doc[k] = f
			}
		case a.Type == "String.Array":
			var arr []any
			if json.Unmarshal([]byte(a.String), &arr) == nil {
				doc[k] = arr
			}
		case strings.HasPrefix(a.Type, "String"):
			doc[k] = a.String
		}
	}
	return doc
}

// matches reports whether doc satisfies the policy.
func matches(policy map[string]any, doc map[string]any) bool {
	for k, v := range policy {
		if k == "$or" {
			alts, _ := v.([]any)
			matched := false
			for _, a := range alts {
				if o, ok := a.(map[string]any); ok && matches(o, doc) {
					matched = true
					break
				}
			}
			if !matched {
				return false
			}
			continue
		}
		val, present := doc[k]
		switch x := v.(type) {
		case map[string]any:
			sub, ok := val.(map[string]any)
			if !ok || !matches(x, sub) {
				return false
			}
		case []any:
			if !matchRules(x, val, present) {
				return false
			}
		}
	}
	return true
}

func matchRules(rules []any, val any, present bool) bool {
	if arr, ok := val.([]any); ok {
		for _, r := range rules {
			if m, ok := r.(map[string]any); ok {
				if e, ok := m["exists"]; ok {
					if e == true {
						return true
					}
					continue
				}
			}
			for _, v := range arr {
				if matchRule(r, v, true) {
					return true
				}
			}
		}
		return false
	}
	for _, r := range rules {
		if matchRule(r, val, present) {
			return true
		}
	}
	return false
}

func matchRule(rule, val any, present bool) bool {
	switch r := rule.(type) {
	case string:
		s, ok := val.(string)
		return present && ok && s == r
	case float64:
		f, ok := val.(float64)
		return present && ok && f == r
	case nil:
		return present && val == nil
	case bool:
		b, ok := val.(bool)
		return present && ok && b == r
	case map[string]any:
		for op, arg := range r {
			switch op {
			case "exists":
				return present == (arg == true)
			case "prefix":
				s, ok := val.(string)
				return present && ok && strings.HasPrefix(s, arg.(string))
			case "suffix":
				s, ok := val.(string)
				return present && ok && strings.HasSuffix(s, arg.(string))
			case "equals-ignore-case":
				s, ok := val.(string)
				return present && ok && strings.EqualFold(s, arg.(string))
			case "anything-but":
				if !present {
					return false
				}
				switch a := arg.(type) {
				case []any:
					for _, x := range a {
						if matchRule(x, val, true) {
							return false
						}
					}
					return true
				case map[string]any:
					return !matchRule(a, val, true)
				default:
					return !matchRule(a, val, true)
				}
			case "numeric":
				f, ok := val.(float64)
				if !present || !ok {
					return false
				}
				conds, _ := arg.([]any)
				for i := 0; i+1 < len(conds); i += 2 {
					n, _ := conds[i+1].(float64)
					var good bool
					switch conds[i] {
					case "=":
						good = f == n
					case "<":
						good = f < n
					case "<=":
						good = f <= n
					case ">":
						good = f > n
					case ">=":
						good = f >= n
					}
					if !good {
						return false
					}
				}
				return true
			}
		}
	}
	return false
}

// wants reports whether the subscription's filter policy lets the message
// through (no policy: every message).
func (sub *subscription) wants(msg string, attrs map[string]msgAttr) bool {
	p := sub.Attributes["FilterPolicy"]
	if p == "" {
		return true
	}
	var policy map[string]any
	if json.Unmarshal([]byte(p), &policy) != nil {
		return false
	}
	if sub.Attributes["FilterPolicyScope"] == "MessageBody" {
		var doc map[string]any
		if json.Unmarshal([]byte(msg), &doc) != nil {
			return false
		}
		return matches(policy, doc)
	}
	return matches(policy, attributeDoc(attrs))
}
