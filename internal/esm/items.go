package esm

import (
	"bytes"
	"encoding/json"
)

// classifyResponse turns a successful invoke's response body into an
// outcome, following the ReportBatchItemFailures cases recorded against AWS
// (spec/esm.md §5.4). Without the feature every response is success.
//
// Success: null, "", [], {}, {"batchItemFailures":[]}, {"batchItemFailures":null},
// an object without batchItemFailures, an empty body.
// Partial: every entry names a record of the batch; the lowest one wins.
// Complete failure (outInvalid): an entry whose itemIdentifier is "", null,
// missing, or not a sequence number of the batch; a body that is not JSON
// (UNCONFIRMED); batchItemFailures that is not a list (UNCONFIRMED).
func classifyResponse(itemFailures bool, body []byte, recs []*rec) outcome {
	if !itemFailures {
		return outcome{Kind: outOK}
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return outcome{Kind: outOK}
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return outcome{Kind: outInvalid}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		// null, "", [], numbers...: nothing reported as failed.
		return outcome{Kind: outOK}
	}
	raw, ok := obj["batchItemFailures"]
	if !ok || raw == nil {
		return outcome{Kind: outOK}
	}
	list, ok := raw.([]any)
	if !ok {
		return outcome{Kind: outInvalid}
	}
	if len(list) == 0 {
		return outcome{Kind: outOK}
	}
	index := make(map[string]int, len(recs))
	for i, r := range recs {
		index[r.SeqNum] = i
	}
	lowest := -1
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return outcome{Kind: outInvalid}
		}
		id, ok := m["itemIdentifier"].(string)
		if !ok || id == "" {
			return outcome{Kind: outInvalid}
		}
		i, ok := index[id]
		if !ok {
			return outcome{Kind: outInvalid}
		}
		if lowest < 0 || i < lowest {
			lowest = i
		}
	}
	return outcome{Kind: outPartial, FailedAt: lowest}
}
