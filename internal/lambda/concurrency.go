package lambda

import (
	"context"
	"net/http"
)

// Account concurrency as AWS sets it by default (esm.md §11): reservations
// must leave minUnreserved of accountConcurrency unreserved.
const (
	accountConcurrency = 1000
	minUnreserved      = 100
)

func (s *Service) unqualified(seg string, r *http.Request) (string, error) {
	ref, err := pathFunctionName(seg, r.URL.Query())
	if err != nil {
		return "", err
	}
	if ref.Qualifier != "" {
		return "", errInvalid("This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN.")
	}
	return ref.Name, nil
}

func (s *Service) putConcurrency(w http.ResponseWriter, r *http.Request, seg string) error {
	var req struct {
		Reserved *int `json:"ReservedConcurrentExecutions"`
	}
	if err := decodeJSON(r, 1<<20, "PutFunctionConcurrency", &req); err != nil {
		return err
	}
	var v validation
	if req.Reserved == nil {
		v.add(nil, "reservedConcurrentExecutions", "not be null")
	} else if *req.Reserved < 0 {
		v.add(req.Reserved, "reservedConcurrentExecutions", "have value greater than or equal to 0")
	}
	if err := v.err(); err != nil {
		return err
	}
	name, err := s.unqualified(seg, r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if err := s.checkReservation(ctx, name, *req.Reserved); err != nil {
		return err
	}
	n := *req.Reserved
	if _, err := s.mutate(ctx, name, func(rec *record) error {
		rec.Reserved = &n
		return nil
	}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int{"ReservedConcurrentExecutions": n})
}

// checkReservation keeps the account's unreserved concurrency at or above
// its minimum, counting every other function's reservation.
func (s *Service) checkReservation(ctx context.Context, name string, n int) error {
	recs, err := s.all(ctx)
	if err != nil {
		return err
	}
	total := n
	found := false
	for _, rec := range recs {
		if rec.Name == name {
			found = true
			continue
		}
		if rec.Reserved != nil {
			total += *rec.Reserved
		}
	}
	if !found {
		return errNotFound(s.functionARN(name))
	}
	if accountConcurrency-total < minUnreserved {
		return errInvalid("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", minUnreserved)
	}
	return nil
}

func (s *Service) getConcurrency(w http.ResponseWriter, r *http.Request, seg string) error {
	name, err := s.unqualified(seg, r)
	if err != nil {
		return err
	}
	rec, _, err := s.load(r.Context(), name)
	if err != nil {
		return err
	}
	out := map[string]int{}
	if rec.Reserved != nil {
		out["ReservedConcurrentExecutions"] = *rec.Reserved
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Service) deleteConcurrency(w http.ResponseWriter, r *http.Request, seg string) error {
	name, err := s.unqualified(seg, r)
	if err != nil {
		return err
	}
	if _, err := s.mutate(r.Context(), name, func(rec *record) error {
		rec.Reserved = nil
		return nil
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
