#!/usr/bin/env bash
# The Node.js AWS SDK v3 Kinesis client on its default transport (HTTP/2;
# h2c with prior knowledge on an http:// endpoint) against a penstock this
# script builds and starts: CreateStream, PutRecord, GetShardIterator,
# GetRecords, ListStreams, DeleteStream (tools/node/h2c-kinesis.mjs).
#
#   scripts/node-h2c.sh
#   PENSTOCK_URL=http://127.0.0.1:4567 scripts/node-h2c.sh   # any running endpoint
set -euo pipefail
source "$(dirname "$0")/lib/penstock.sh"

command -v node >/dev/null || ps_fail "node is not installed"
ps_node_install
ps_start
NODE_NO_WARNINGS=1 node "$PS_ROOT/tools/node/h2c-kinesis.mjs" "$PS_URL" || ps_fail "h2c-kinesis.mjs against $PS_URL"
