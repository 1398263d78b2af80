package esm

import (
	"context"
	"errors"
	"fmt"

	"github.com/penstock/penstock/internal/lambda"
	"github.com/penstock/penstock/internal/runtime"
)

// LambdaFunctions adapts the Lambda service's Go API to Functions.
func LambdaFunctions(s *lambda.Service) Functions { return lambdaFunctions{s} }

type lambdaFunctions struct{ s *lambda.Service }

func (l lambdaFunctions) Function(ctx context.Context, name string) (FunctionInfo, error) {
	fi, err := l.s.Function(ctx, name)
	if errors.Is(err, lambda.ErrFunctionNotFound) {
		return FunctionInfo{}, fmt.Errorf("%w: %w", ErrFunctionNotFound, err)
	}
	if err != nil {
		return FunctionInfo{}, err
	}
	return FunctionInfo{Name: fi.Name, ARN: fi.ARN, Role: fi.Role}, nil
}

func (l lambdaFunctions) Invoke(ctx context.Context, name string, payload []byte) (*InvokeResult, error) {
	res, err := l.s.Invoke(ctx, name, payload, runtime.InvokeOptions{})
	switch {
	case errors.Is(err, runtime.ErrThrottled):
		return nil, fmt.Errorf("%w: %w", ErrThrottled, err)
	case errors.Is(err, lambda.ErrFunctionNotFound):
		return nil, fmt.Errorf("%w: %w", ErrFunctionNotFound, err)
	case err != nil:
		return nil, err
	}
	return &InvokeResult{Payload: res.Payload, FunctionError: res.FunctionError, ErrorType: res.ErrorType,
		ExecutedVersion: "$LATEST", Duration: res.Duration}, nil
}
