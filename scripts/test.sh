#!/usr/bin/env bash
# The test suite: Go tests (unit, API tests through the real AWS SDK clients,
# fuzz seed corpora) and the end-to-end scripts that drive a real penstock
# binary with the AWS CLI and the Node.js SDK.
#
#   scripts/test.sh            everything
#   scripts/test.sh go         Go tests only
#   scripts/test.sh scripts    end-to-end scripts only
#
# RACE=1 runs the Go tests with the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
race=()
[ "${RACE:-0}" = 1 ] && race=(-race)

if [ "$what" = all ] || [ "$what" = go ]; then
  echo "== go vet"
  go vet ./...
  echo "== go test"
  go test "${race[@]}" -timeout 15m ./...
fi

if [ "$what" = all ] || [ "$what" = scripts ]; then
  for s in scripts/e2e/*.sh; do
    [ -e "$s" ] || continue
    echo "== $s"
    bash "$s"
  done
fi
echo "== all tests passed"
