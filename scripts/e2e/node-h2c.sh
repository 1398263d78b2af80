#!/usr/bin/env bash
# Run by scripts/test.sh; the script itself is ../node-h2c.sh.
exec bash "$(dirname "$0")/../node-h2c.sh" "$@"
