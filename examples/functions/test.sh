#!/usr/bin/env bash
# Start penstock on a free port, run every example's run.sh against it and
# check each answer. Needs go, zip, node, python3 and the AWS CLI v2.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$root" && go build -o "$work/penstock" ./cmd/penstock)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
"$work/penstock" server --listen "127.0.0.1:$port" --data-dir "$work/data" --log-level warn 2>"$work/server.log" &
pid=$!
export PENSTOCK_ENDPOINT="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
  curl -fsS "$PENSTOCK_ENDPOINT/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.log"; echo "penstock exited" >&2; exit 1; }
  sleep 0.1
done

fail=0
for rt in go node python; do
  got=$("$here/$rt/run.sh")
  want="{\"message\":\"hello, penstock!\",\"runtime\":\"$rt\"}"
  norm=$(printf '%s' "$got" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin),separators=(",",":")))')
  if [ "$norm" = "$want" ]; then
    echo "ok   $rt: $norm"
  else
    echo "FAIL $rt: got $got, want $want" >&2
    fail=1
  fi
done
# The logs command sees the functions' output. (Not "penstock logs | grep -q":
# under pipefail, grep -q exiting at the first match can kill the writer with
# SIGPIPE and fail the pipeline.)
logs=$("$work/penstock" logs hello-python --since 5m --endpoint "$PENSTOCK_ENDPOINT")
if grep -q "greeting penstock" <<<"$logs"; then
  echo "ok   logs: penstock logs hello-python shows the handler's output"
else
  echo "FAIL logs: no 'greeting penstock' in penstock logs hello-python:" >&2
  printf '%s\n' "$logs" >&2
  fail=1
fi
exit $fail
