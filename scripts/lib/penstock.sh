# Shared helpers for penstock's scripts: build the binary, start a server on
# a free port with its own data dir, stop it on exit, assert outputs.
# Source it from a script that has `set -euo pipefail`:
#   source "$(dirname "$0")/lib/penstock.sh"
#   ps_start            # sets PS_URL, PS_PORT, PS_BIN, PS_TMP
# Set PENSTOCK_URL to use a server (or any Kinesis endpoint) already running
# instead: nothing is built or started then.

PS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/penstock-script.XXXXXX")
PS_PIDS=()

export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
export AWS_PAGER=""
unset AWS_PROFILE AWS_SESSION_TOKEN

ps_cleanup() {
  local pid
  for pid in "${PS_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PS_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$PS_TMP"
}
trap ps_cleanup EXIT

ps_log() { echo "--- $*" >&2; }

ps_fail() {
  echo "FAIL: $*" >&2
  local f
  for f in "$PS_TMP"/*.log; do
    [ -e "$f" ] || continue
    echo "--- last lines of $(basename "$f"):" >&2
    tail -n 30 "$f" >&2
  done
  exit 1
}

# ps_free_port prints a TCP port nobody listens on right now.
ps_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# ps_wait_http URL SECONDS: poll until URL answers (any HTTP status if
# ANY_STATUS=1, else 2xx).
ps_wait_http() {
  local url=$1 secs=$2 i
  for ((i = 0; i < secs * 10; i++)); do
    if [ "${ANY_STATUS:-0}" = 1 ]; then
      curl -s -o /dev/null "$url" && return 0
    else
      curl -sf -o /dev/null "$url" && return 0
    fi
    sleep 0.1
  done
  return 1
}

# ps_build builds cmd/penstock into $PS_TMP/penstock (once).
ps_build() {
  PS_BIN=$PS_TMP/penstock
  [ -x "$PS_BIN" ] && return 0
  ps_log "go build ./cmd/penstock"
  (cd "$PS_ROOT" && go build -o "$PS_BIN" ./cmd/penstock) || ps_fail "go build"
}

# ps_start [server flags...]: start penstock on a free port and wait for
# /healthz. Sets PS_URL and PS_PORT.
ps_start() {
  if [ -n "${PENSTOCK_URL:-}" ]; then
    PS_URL=$PENSTOCK_URL
    ps_log "using the endpoint at $PS_URL"
    return 0
  fi
  ps_build
  PS_PORT=$(ps_free_port)
  PS_URL=http://127.0.0.1:$PS_PORT
  "$PS_BIN" server --listen "127.0.0.1:$PS_PORT" --data-dir "$PS_TMP/data" "$@" >"$PS_TMP/penstock.log" 2>&1 &
  PS_PIDS+=($!)
  ps_wait_http "$PS_URL/healthz" 60 || ps_fail "penstock did not answer /healthz on $PS_URL within 60s"
  ps_log "penstock up at $PS_URL (pid ${PS_PIDS[-1]}, log $PS_TMP/penstock.log)"
}

# ps_node_install installs tools/node's packages if node_modules is missing.
ps_node_install() {
  local dir=$PS_ROOT/tools/node
  if [ ! -d "$dir/node_modules/@aws-sdk/client-kinesis" ] || [ ! -d "$dir/node_modules/kinesalite" ]; then
    ps_log "npm ci (tools/node)"
    (cd "$dir" && npm ci --no-audit --no-fund >"$PS_TMP/npm.log" 2>&1) || ps_fail "npm ci in tools/node"
  fi
}

# expect_eq WHAT GOT WANT
expect_eq() {
  if [ "$2" != "$3" ]; then
    ps_fail "$1: got [$2], want [$3]"
  fi
  echo "ok: $1"
}

# expect_contains WHAT HAYSTACK NEEDLE
expect_contains() {
  case "$2" in
    *"$3"*) echo "ok: $1" ;;
    *) ps_fail "$1: [$2] does not contain [$3]" ;;
  esac
}
