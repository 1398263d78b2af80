package sqs

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/penstock/penstock/internal/awsapi"
)

// The query protocol (form POST Action=...&Version=2012-11-05, XML answers)
// that older SDKs (boto3 before 1.34, aws-sdk-go v1, the Java v1 SDK) use.
// Requests are translated into the JSON protocol's request shape and served
// by the same operations; answers are rendered as AWS's XML.

const queryXMLNS = "http://queue.amazonaws.com/doc/2012-11-05/"

// serveQuery answers one query-protocol request.
func (s *Service) serveQuery(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.writeQueryError(w, apiError("InvalidParameterValue", "malformed request: %v", err))
		return
	}
	form := r.Form
	action := form.Get("Action")
	h := operations[action]
	if h == nil {
		s.writeQueryError(w, apiError("InvalidAction", "The action %s is not valid for this endpoint.", action))
		return
	}
	in := queryToJSON(form)
	if _, ok := in["QueueUrl"]; !ok && strings.Count(strings.Trim(r.URL.Path, "/"), "/") == 1 {
		in["QueueUrl"] = "http://" + r.Host + r.URL.Path // query clients post to the queue URL
	}
	body, _ := json.Marshal(in)
	out, err := h(s, r.Context(), r, body)
	if err != nil {
		s.writeQueryError(w, err)
		return
	}
	var b strings.Builder
	b.WriteString(xml.Header)
	fmt.Fprintf(&b, `<%sResponse xmlns="%s">`, action, queryXMLNS)
	if out != nil {
		var m map[string]any
		raw, _ := json.Marshal(out)
		_ = json.Unmarshal(raw, &m)
		if len(m) > 0 || action != "DeleteQueue" {
			fmt.Fprintf(&b, "<%sResult>", action)
			writeQueryResult(&b, action, m)
			fmt.Fprintf(&b, "</%sResult>", action)
		}
	}
	fmt.Fprintf(&b, "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>", awsapi.RequestID(), action)
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write([]byte(b.String()))
}

func (s *Service) writeQueryError(w http.ResponseWriter, err error) {
	var ae *awsapi.Error
	if !errors.As(err, &ae) {
		s.log.Error("sqs internal error", "err", err)
		ae = apiError("InternalError", "%v", err)
	}
	spec, ok := catalogue[ae.Code]
	if !ok {
		spec = catalogue["InternalError"]
	}
	typ := "Sender"
	if !spec.sender {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(ae.Status)
	var b strings.Builder
	b.WriteString(xml.Header)
	fmt.Fprintf(&b, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message><Detail/></Error><RequestId>%s</RequestId></ErrorResponse>`,
		queryXMLNS, typ, esc(spec.queryCode), esc(ae.Message), awsapi.RequestID())
	_, _ = w.Write([]byte(b.String()))
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// queryToJSON maps form parameters onto the JSON request members:
// Attribute.N.Name/Value -> Attributes, AttributeName.N -> AttributeNames,
// MessageAttribute.N.* -> MessageAttributes, <Op>RequestEntry.N.* -> Entries,
// numbers stay numbers.
func queryToJSON(form url.Values) map[string]any {
	in := map[string]any{}
	for k, v := range form {
		if len(v) == 0 || k == "Action" || k == "Version" {
			continue
		}
		switch {
		case strings.Contains(k, "RequestEntry."):
			continue // below
		case strings.HasPrefix(k, "Attribute.") || strings.HasPrefix(k, "MessageAttribute.") || strings.HasPrefix(k, "Tag."):
			continue // below
		case strings.HasPrefix(k, "AttributeName.") || strings.HasPrefix(k, "MessageAttributeName.") || strings.HasPrefix(k, "MessageSystemAttributeName."):
			continue // below
		}
		in[k] = scalar(k, v[0])
	}
	if a := pairs(form, "Attribute", "Name", "Value"); len(a) > 0 {
		in["Attributes"] = a
	}
	for _, l := range []struct{ prefix, member string }{{"AttributeName", "AttributeNames"}, {"MessageAttributeName", "MessageAttributeNames"}, {"MessageSystemAttributeName", "MessageSystemAttributeNames"}} {
		if names := list(form, l.prefix); len(names) > 0 {
			in[l.member] = names
		}
	}
	if ma := messageAttributes(form, ""); len(ma) > 0 {
		in["MessageAttributes"] = ma
	}
	for _, op := range []string{"SendMessageBatchRequestEntry", "DeleteMessageBatchRequestEntry", "ChangeMessageVisibilityBatchRequestEntry"} {
		var entries []map[string]any
		for i := 1; ; i++ {
			pre := fmt.Sprintf("%s.%d.", op, i)
			e := map[string]any{}
			for k, v := range form {
				if rest, ok := strings.CutPrefix(k, pre); ok && !strings.Contains(rest, ".") && len(v) > 0 {
					e[rest] = scalar(rest, v[0])
				}
			}
			if ma := messageAttributes(form, pre); len(ma) > 0 {
				e["MessageAttributes"] = ma
			}
			if len(e) == 0 {
				break
			}
			entries = append(entries, e)
		}
		if entries != nil {
			in["Entries"] = entries
		}
	}
	return in
}

func scalar(k, v string) any {
	switch k {
	case "MaxNumberOfMessages", "WaitTimeSeconds", "VisibilityTimeout", "DelaySeconds", "MaxResults":
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return v
}

func pairs(form url.Values, prefix, kname, vname string) map[string]string {
	out := map[string]string{}
	for i := 1; ; i++ {
		k := form.Get(fmt.Sprintf("%s.%d.%s", prefix, i, kname))
		if k == "" {
			return out
		}
		out[k] = form.Get(fmt.Sprintf("%s.%d.%s", prefix, i, vname))
	}
}

func list(form url.Values, prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v := form.Get(fmt.Sprintf("%s.%d", prefix, i))
		if v == "" {
			return out
		}
		out = append(out, v)
	}
}

func messageAttributes(form url.Values, pre string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for i := 1; ; i++ {
		p := fmt.Sprintf("%sMessageAttribute.%d.", pre, i)
		n := form.Get(p + "Name")
		if n == "" {
			return out
		}
		a := map[string]string{"DataType": form.Get(p + "Value.DataType")}
		if v := form.Get(p + "Value.StringValue"); v != "" {
			a["StringValue"] = v
		}
		if v := form.Get(p + "Value.BinaryValue"); v != "" {
			a["BinaryValue"] = v // base64 in both protocols
		}
		out[n] = a
	}
}

// writeQueryResult renders a JSON-protocol result as the query protocol's
// XML members.
func writeQueryResult(b *strings.Builder, action string, m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch v := m[k].(type) {
		case string:
			fmt.Fprintf(b, "<%s>%s</%s>", k, esc(v), k)
		case float64, bool:
			fmt.Fprintf(b, "<%s>%v</%s>", k, v, k)
		case []any:
			el := map[string]string{"QueueUrls": "QueueUrl", "Messages": "Message", "Failed": "BatchResultErrorEntry",
				"Successful": strings.TrimSuffix(action, "Batch") + "BatchResultEntry"}[k]
			if el == "" {
				el = k
			}
			for _, item := range v {
				switch x := item.(type) {
				case string:
					fmt.Fprintf(b, "<%s>%s</%s>", el, esc(x), el)
				case map[string]any:
					fmt.Fprintf(b, "<%s>", el)
					writeQueryResult(b, action, x)
					fmt.Fprintf(b, "</%s>", el)
				}
			}
		case map[string]any:
			switch k {
			case "Attributes":
				for _, n := range sortedKeys(v) {
					fmt.Fprintf(b, "<Attribute><Name>%s</Name><Value>%s</Value></Attribute>", esc(n), esc(fmt.Sprint(v[n])))
				}
			case "MessageAttributes":
				for _, n := range sortedKeys(v) {
					a, _ := v[n].(map[string]any)
					fmt.Fprintf(b, "<MessageAttribute><Name>%s</Name><Value>", esc(n))
					if sv, ok := a["StringValue"].(string); ok {
						fmt.Fprintf(b, "<StringValue>%s</StringValue>", esc(sv))
					}
					if bv, ok := a["BinaryValue"].(string); ok {
						if _, err := base64.StdEncoding.DecodeString(bv); err == nil {
							fmt.Fprintf(b, "<BinaryValue>%s</BinaryValue>", bv)
						}
					}
					fmt.Fprintf(b, "<DataType>%s</DataType></Value></MessageAttribute>", esc(fmt.Sprint(a["DataType"])))
				}
			}
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
