package sqs

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

type queueRef struct {
	QueueUrl string `json:"QueueUrl"`
}

func (s *Service) metaFor(ctx context.Context, url string) (*meta, error) {
	name, err := s.nameFromURL(url)
	if err != nil {
		return nil, err
	}
	m, _, err := s.loadMeta(ctx, name)
	return m, err
}

func (s *Service) createQueue(ctx context.Context, r *http.Request, in json.RawMessage) (any, error) {
	var req struct {
		QueueName  string            `json:"QueueName"`
		Attributes map[string]string `json:"Attributes"`
		Tags       map[string]string `json:"tags"`
	}
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	if req.QueueName == "" {
		return nil, apiError("MissingParameter", "The request must contain the parameter QueueName.")
	}
	if err := s.create(ctx, req.QueueName, req.Attributes, req.Tags); err != nil {
		return nil, err
	}
	return map[string]string{"QueueUrl": s.queueURL(r.Host, req.QueueName)}, nil
}

func (s *Service) getQueueURL(ctx context.Context, r *http.Request, in json.RawMessage) (any, error) {
	var req struct {
		QueueName string `json:"QueueName"`
		Owner     string `json:"QueueOwnerAWSAccountId"`
	}
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	if req.Owner != "" && req.Owner != s.account {
		return nil, errNoQueue()
	}
	if _, _, err := s.loadMeta(ctx, req.QueueName); err != nil {
		return nil, err
	}
	return map[string]string{"QueueUrl": s.queueURL(r.Host, req.QueueName)}, nil
}

func (s *Service) listQueues(ctx context.Context, r *http.Request, in json.RawMessage) (any, error) {
	var req struct {
		QueueNamePrefix string `json:"QueueNamePrefix"`
		MaxResults      *int   `json:"MaxResults"`
		NextToken       string `json:"NextToken"`
	}
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	names, err := s.names(ctx, req.QueueNamePrefix)
	if err != nil {
		return nil, err
	}
	if req.NextToken != "" {
		i, _ := slices.BinarySearch(names, req.NextToken)
		for i < len(names) && names[i] <= req.NextToken {
			i++
		}
		names = names[i:]
	}
	out := map[string]any{}
	limit := 1000
	if req.MaxResults != nil {
		if *req.MaxResults < 1 || *req.MaxResults > 1000 {
			return nil, apiError("InvalidParameterValue", "Value %d for parameter MaxResults is invalid. Reason: must be between 1 and 1000.", *req.MaxResults)
		}
		limit = *req.MaxResults
	}
	if len(names) > limit {
		names = names[:limit]
		if req.MaxResults != nil {
			out["NextToken"] = names[len(names)-1]
		}
	}
	urls := make([]string, len(names))
	for i, n := range names {
		urls[i] = s.queueURL(r.Host, n)
	}
	if len(urls) > 0 {
		out["QueueUrls"] = urls
	}
	return out, nil
}

func (s *Service) deleteQueue(ctx context.Context, r *http.Request, in json.RawMessage) (any, error) {
	var req queueRef
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	name, err := s.nameFromURL(req.QueueUrl)
	if err != nil {
		return nil, err
	}
	return nil, s.remove(ctx, name)
}

var allAttributeNames = []string{
	"QueueArn", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
	"ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "LastModifiedTimestamp",
	"VisibilityTimeout", "MaximumMessageSize", "MessageRetentionPeriod", "DelaySeconds",
	"ReceiveMessageWaitTimeSeconds", "SqsManagedSseEnabled", "Policy", "RedrivePolicy",
	"RedriveAllowPolicy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds",
}

func (s *Service) getQueueAttributes(ctx context.Context, r *http.Request, in json.RawMessage) (any, error) {
	var req struct {
		QueueUrl       string   `json:"QueueUrl"`
		AttributeNames []string `json:"AttributeNames"`
	}
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	m, err := s.metaFor(ctx, req.QueueUrl)
	if err != nil {
		return nil, err
	}
	want := req.AttributeNames
	if slices.Contains(want, "All") {
		want = allAttributeNames
	}
	for _, n := range want {
		if !slices.Contains(allAttributeNames, n) {
			return nil, apiError("InvalidAttributeName", "Unknown Attribute %s.", n)
		}
	}
	attrs := map[string]string{}
	var counts *[2]int
	for _, n := range want {
		switch n {
		case "QueueArn":
			attrs[n] = s.ARN(m.Name)
		case "CreatedTimestamp":
			attrs[n] = strconv.FormatInt(m.Created, 10)
		case "LastModifiedTimestamp":
			attrs[n] = strconv.FormatInt(m.LastModified, 10)
		case "ApproximateNumberOfMessagesDelayed":
			attrs[n] = strconv.Itoa(s.delayedCount(m.Name))
		case "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible":
			if counts == nil {
				c, err := s.counts(ctx, m.Name)
				if err != nil {
					return nil, err
				}
				counts = &c
			}
			if n == "ApproximateNumberOfMessages" {
				attrs[n] = strconv.Itoa(counts[0])
			} else {
				attrs[n] = strconv.Itoa(counts[1])
			}
		default:
			if v := m.attr(n); v != "" {
				attrs[n] = v
			}
		}
	}
	if len(attrs) == 0 {
		return map[string]any{}, nil
	}
	return map[string]any{"Attributes": attrs}, nil
}

// counts returns (visible, in flight): the stream's message count and the
// visibility deadlines this node handed out (see doc.go).
func (s *Service) counts(ctx context.Context, name string) ([2]int, error) {
	st, err := s.js.Stream(ctx, streamName(name))
	if err != nil {
		return [2]int{}, errNoQueue()
	}
	si, err := st.Info(ctx)
	if err != nil {
		return [2]int{}, err
	}
	total := int(si.State.Msgs)
	inflight := min(s.inFlight(name), total)
	return [2]int{max(0, total-inflight-s.delayedCount(name)), inflight}, nil
}

func (s *Service) setQueueAttributes(ctx context.Context, r *http.Request, in json.RawMessage) (any, error) {
	var req struct {
		QueueUrl   string            `json:"QueueUrl"`
		Attributes map[string]string `json:"Attributes"`
	}
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	name, err := s.nameFromURL(req.QueueUrl)
	if err != nil {
		return nil, err
	}
	return nil, s.setAttributes(ctx, name, req.Attributes)
}

type sendRequest struct {
	Id                string                      `json:"Id"`
	QueueUrl          string                      `json:"QueueUrl"`
	MessageBody       string                      `json:"MessageBody"`
	DelaySeconds      *int                        `json:"DelaySeconds"`
	MessageAttributes map[string]MessageAttribute `json:"MessageAttributes"`
}

func (s *Service) sendMessage(ctx context.Context, r *http.Request, in json.RawMessage) (any, error) {
	var req sendRequest
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	m, err := s.metaFor(ctx, req.QueueUrl)
	if err != nil {
		return nil, err
	}
	res, err := s.put(ctx, m, req.MessageBody, req.MessageAttributes, req.DelaySeconds)
	if err != nil {
		return nil, err
	}
	out := map[string]string{"MessageId": res.ID, "MD5OfMessageBody": res.MD5Body}
	if res.MD5Attrs != "" {
		out["MD5OfMessageAttributes"] = res.MD5Attrs
	}
	return out, nil
}

type batchError struct {
	Id          string `json:"Id"`
	Code        string `json:"Code"`
	Message     string `json:"Message"`
	SenderFault bool   `json:"SenderFault"`
}

// checkBatch validates batch entry ids (1..10, distinct, [A-Za-z0-9_-]{1,80}).
func checkBatch(ids []string) error {
	if len(ids) == 0 {
		return apiError("EmptyBatchRequest", "There should be at least one SendMessageBatchRequestEntry in the request.")
	}
	if len(ids) > 10 {
		return apiError("TooManyEntriesInBatch", "Maximum number of entries per request are 10. You have sent %d.", len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !nameRe.MatchString(id) {
			return apiError("InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
		}
		if seen[id] {
			return apiError("BatchEntryIdsNotDistinct", "Id %s repeated.", id)
		}
		seen[id] = true
	}
	return nil
}

func entryError(id string, err error) batchError {
	code, msg := "InternalError", err.Error()
	sender := false
	if ae := asAPI(err); ae != nil {
		spec := catalogue[ae.Code]
		code, msg, sender = spec.queryCode, ae.Message, spec.sender
	}
	return batchError{Id: id, Code: code, Message: msg, SenderFault: sender}
}

func (s *Service) sendMessageBatch(ctx context.Context, r *http.Request, in json.RawMessage) (any, error) {
	var req struct {
		QueueUrl string        `json:"QueueUrl"`
		Entries  []sendRequest `json:"Entries"`
	}
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	m, err := s.metaFor(ctx, req.QueueUrl)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(req.Entries))
	total := 0
	for i, e := range req.Entries {
		ids[i] = e.Id
		total += len(e.MessageBody)
	}
	if err := checkBatch(ids); err != nil {
		return nil, err
	}
	if total > 1048576 {
		return nil, apiError("BatchRequestTooLong", "Batch requests cannot be longer than 1048576 bytes. You have sent %d bytes.", total)
	}
	ok := []map[string]string{}
	failed := []batchError{}
	var bodies [][]byte
	var envs []envelope
	var ids2 []string
	for _, e := range req.Entries {
		env, b, err := s.prepare(m, e.MessageBody, e.MessageAttributes, e.DelaySeconds)
		if err != nil {
			failed = append(failed, entryError(e.Id, err))
			continue
		}
		bodies, envs, ids2 = append(bodies, b), append(envs, env), append(ids2, e.Id)
	}
	if len(bodies) > 0 {
		if err := s.putBatch(ctx, m, envs, bodies); err != nil {
			if asAPI(err) != nil {
				return nil, err
			}
			for _, id := range ids2 {
				failed = append(failed, entryError(id, err))
			}
			bodies = nil
		}
	}
	if bodies != nil {
		for i, env := range envs {
			res := sentOf(env)
			o := map[string]string{"Id": ids2[i], "MessageId": res.ID, "MD5OfMessageBody": res.MD5Body}
			if res.MD5Attrs != "" {
				o["MD5OfMessageAttributes"] = res.MD5Attrs
			}
			ok = append(ok, o)
		}
	}
	return map[string]any{"Successful": ok, "Failed": failed}, nil
}

func (s *Service) receiveMessage(ctx context.Context, r *http.Request, in json.RawMessage) (any, error) {
	var req struct {
		QueueUrl                    string   `json:"QueueUrl"`
		MaxNumberOfMessages         *int     `json:"MaxNumberOfMessages"`
		WaitTimeSeconds             *int     `json:"WaitTimeSeconds"`
		VisibilityTimeout           *int     `json:"VisibilityTimeout"`
		AttributeNames              []string `json:"AttributeNames"`
		MessageSystemAttributeNames []string `json:"MessageSystemAttributeNames"`
		MessageAttributeNames       []string `json:"MessageAttributeNames"`
	}
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	m, err := s.metaFor(ctx, req.QueueUrl)
	if err != nil {
		return nil, err
	}
	max := 1
	if req.MaxNumberOfMessages != nil {
		max = *req.MaxNumberOfMessages
		if max < 1 || max > 10 {
			return nil, apiError("InvalidParameterValue", "Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", max)
		}
	}
	wait := m.seconds("ReceiveMessageWaitTimeSeconds")
	if req.WaitTimeSeconds != nil {
		if *req.WaitTimeSeconds < 0 || *req.WaitTimeSeconds > 20 {
			return nil, apiError("InvalidParameterValue", "Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", *req.WaitTimeSeconds)
		}
		wait = time.Duration(*req.WaitTimeSeconds) * time.Second
	}
	var vis *time.Duration
	if req.VisibilityTimeout != nil {
		if *req.VisibilityTimeout < 0 || *req.VisibilityTimeout > 43200 {
			return nil, apiError("InvalidParameterValue", "Value %d for parameter VisibilityTimeout is invalid. Reason: must be between 0 and 43200.", *req.VisibilityTimeout)
		}
		d := time.Duration(*req.VisibilityTimeout) * time.Second
		vis = &d
	}
	msgs, err := s.receive(ctx, m, max, wait, vis)
	if err != nil && len(msgs) == 0 {
		return nil, err
	}
	sysNames := append(slices.Clone(req.AttributeNames), req.MessageSystemAttributeNames...)
	out := make([]map[string]any, 0, len(msgs))
	for _, rm := range msgs {
		o := map[string]any{
			"MessageId":     rm.env.ID,
			"ReceiptHandle": rm.handle,
			"MD5OfBody":     md5Hex([]byte(rm.env.Body)),
			"Body":          rm.env.Body,
		}
		if a := systemAttributes(sysNames, rm); len(a) > 0 {
			o["Attributes"] = a
		}
		if ma := filterAttributes(req.MessageAttributeNames, rm.env.Attrs); len(ma) > 0 {
			o["MessageAttributes"] = ma
			o["MD5OfMessageAttributes"] = attributesMD5(ma)
		}
		out = append(out, o)
	}
	if len(out) == 0 {
		return map[string]any{}, nil
	}
	return map[string]any{"Messages": out}, nil
}

func systemAttributes(names []string, rm received) map[string]string {
	all := slices.Contains(names, "All")
	a := map[string]string{}
	add := func(n, v string) {
		if all || slices.Contains(names, n) {
			a[n] = v
		}
	}
	add("SenderId", "AIDAPENSTOCK000000000")
	add("SentTimestamp", strconv.FormatInt(rm.env.Sent, 10))
	add("ApproximateReceiveCount", strconv.FormatUint(rm.count, 10))
	add("ApproximateFirstReceiveTimestamp", strconv.FormatInt(rm.firstRcv, 10))
	return a
}

// filterAttributes keeps the message attributes the request asked for:
// "All", ".*", exact names, or "prefix.*".
func filterAttributes(names []string, attrs map[string]MessageAttribute) map[string]MessageAttribute {
	out := map[string]MessageAttribute{}
	for n, a := range attrs {
		for _, w := range names {
			if w == "All" || w == ".*" || w == n || (strings.HasSuffix(w, ".*") && strings.HasPrefix(n, strings.TrimSuffix(w, "*"))) {
				out[n] = a
				break
			}
		}
	}
	return out
}

type receiptRef struct {
	QueueUrl          string `json:"QueueUrl"`
	ReceiptHandle     string `json:"ReceiptHandle"`
	VisibilityTimeout *int   `json:"VisibilityTimeout"`
	Id                string `json:"Id"`
}

func (s *Service) deleteMessage(ctx context.Context, r *http.Request, in json.RawMessage) (any, error) {
	var req receiptRef
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	m, err := s.metaFor(ctx, req.QueueUrl)
	if err != nil {
		return nil, err
	}
	return nil, s.ack(ctx, m.Name, req.ReceiptHandle)
}

func (s *Service) deleteMessageBatch(ctx context.Context, r *http.Request, in json.RawMessage) (any, error) {
	return s.receiptBatch(ctx, in, func(name string, e receiptRef) error {
		return s.ack(ctx, name, e.ReceiptHandle)
	})
}

func (s *Service) changeMessageVisibilityBatch(ctx context.Context, r *http.Request, in json.RawMessage) (any, error) {
	return s.receiptBatch(ctx, in, func(name string, e receiptRef) error {
		return s.visibility(ctx, name, e)
	})
}

func (s *Service) receiptBatch(ctx context.Context, in json.RawMessage, f func(string, receiptRef) error) (any, error) {
	var req struct {
		QueueUrl string       `json:"QueueUrl"`
		Entries  []receiptRef `json:"Entries"`
	}
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	m, err := s.metaFor(ctx, req.QueueUrl)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(req.Entries))
	for i, e := range req.Entries {
		ids[i] = e.Id
	}
	if err := checkBatch(ids); err != nil {
		return nil, err
	}
	// The entries are independent acks/naks: send them concurrently (each
	// waits for the server's reply), report in request order.
	errs := make([]error, len(req.Entries))
	var wg sync.WaitGroup
	for i, e := range req.Entries {
		wg.Go(func() { errs[i] = f(m.Name, e) })
	}
	wg.Wait()
	ok := []map[string]string{}
	failed := []batchError{}
	for i, e := range req.Entries {
		if errs[i] != nil {
			failed = append(failed, entryError(e.Id, errs[i]))
			continue
		}
		ok = append(ok, map[string]string{"Id": e.Id})
	}
	return map[string]any{"Successful": ok, "Failed": failed}, nil
}

func (s *Service) visibility(ctx context.Context, name string, req receiptRef) error {
	if req.VisibilityTimeout == nil {
		return apiError("MissingParameter", "The request must contain the parameter VisibilityTimeout.")
	}
	if v := *req.VisibilityTimeout; v < 0 || v > 43200 {
		return apiError("InvalidParameterValue", "Value %d for parameter VisibilityTimeout is invalid. Reason: must be between 0 and 43200.", v)
	}
	return s.changeVisibility(ctx, name, req.ReceiptHandle, time.Duration(*req.VisibilityTimeout)*time.Second)
}

func (s *Service) changeMessageVisibility(ctx context.Context, r *http.Request, in json.RawMessage) (any, error) {
	var req receiptRef
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	m, err := s.metaFor(ctx, req.QueueUrl)
	if err != nil {
		return nil, err
	}
	return nil, s.visibility(ctx, m.Name, req)
}

func (s *Service) purgeQueue(ctx context.Context, r *http.Request, in json.RawMessage) (any, error) {
	var req queueRef
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	m, err := s.metaFor(ctx, req.QueueUrl)
	if err != nil {
		return nil, err
	}
	st, err := s.js.Stream(ctx, streamName(m.Name))
	if err != nil {
		return nil, errNoQueue()
	}
	if err := st.Purge(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	delete(s.queues, m.Name)
	s.mu.Unlock()
	return nil, nil
}

func (s *Service) tagQueue(ctx context.Context, r *http.Request, in json.RawMessage) (any, error) {
	var req struct {
		QueueUrl string            `json:"QueueUrl"`
		Tags     map[string]string `json:"Tags"`
	}
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	name, err := s.nameFromURL(req.QueueUrl)
	if err != nil {
		return nil, err
	}
	return nil, s.update(ctx, name, func(m *meta) {
		if m.Tags == nil {
			m.Tags = map[string]string{}
		}
		for k, v := range req.Tags {
			m.Tags[k] = v
		}
	})
}

func (s *Service) untagQueue(ctx context.Context, r *http.Request, in json.RawMessage) (any, error) {
	var req struct {
		QueueUrl string   `json:"QueueUrl"`
		TagKeys  []string `json:"TagKeys"`
	}
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	name, err := s.nameFromURL(req.QueueUrl)
	if err != nil {
		return nil, err
	}
	return nil, s.update(ctx, name, func(m *meta) {
		for _, k := range req.TagKeys {
			delete(m.Tags, k)
		}
	})
}

func (s *Service) listQueueTags(ctx context.Context, r *http.Request, in json.RawMessage) (any, error) {
	var req queueRef
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	m, err := s.metaFor(ctx, req.QueueUrl)
	if err != nil {
		return nil, err
	}
	if len(m.Tags) == 0 {
		return map[string]any{}, nil
	}
	return map[string]any{"Tags": m.Tags}, nil
}

// listDeadLetterSourceQueues lists the queues whose RedrivePolicy targets
// this queue.
func (s *Service) listDeadLetterSourceQueues(ctx context.Context, r *http.Request, in json.RawMessage) (any, error) {
	var req queueRef
	if err := decode(in, &req); err != nil {
		return nil, err
	}
	m, err := s.metaFor(ctx, req.QueueUrl)
	if err != nil {
		return nil, err
	}
	names, err := s.names(ctx, "")
	if err != nil {
		return nil, err
	}
	urls := []string{}
	for _, n := range names {
		src, _, err := s.loadMeta(ctx, n)
		if err != nil {
			continue
		}
		var p redrivePolicy
		if json.Unmarshal([]byte(src.attr("RedrivePolicy")), &p) == nil && p.DeadLetterTargetArn == s.ARN(m.Name) {
			urls = append(urls, s.queueURL(r.Host, n))
		}
	}
	return map[string]any{"queueUrls": urls}, nil
}
