#!/bin/sh
# AWS_LAMBDA_EXEC_WRAPPER test script: marks the environment, then runs the runtime.
export WRAPPED_BY=wrapper.sh
exec "$@"
