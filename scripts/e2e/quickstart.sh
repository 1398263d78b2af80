#!/usr/bin/env bash
# Run by scripts/test.sh: the README's quickstart pipeline (examples/quickstart)
# against a penstock this script starts; the poison order must end as a dead
# letter with the AWS on-failure record shape.
set -euo pipefail
source "$(dirname "$0")/../lib/penstock.sh"
command -v aws >/dev/null || ps_fail "the AWS CLI is not installed (apt-get install awscli)"
command -v zip >/dev/null || ps_fail "zip is not installed (apt-get install zip)"
ps_start
out=$(PENSTOCK_ENDPOINT=$PS_URL bash "$PS_ROOT/examples/quickstart/run.sh" 2>&1) || { echo "$out"; ps_fail "quickstart run.sh failed"; }
echo "$out" | tail -n 40
expect_contains "dead letter condition" "$out" '"condition": "RetryAttemptsExhausted"'
expect_contains "dead letter batch info" "$out" '"KinesisBatchInfo"'
expect_contains "dead letter batch size (bisected to the poison order)" "$out" '"batchSize": 1'
echo "quickstart: all checks passed"
