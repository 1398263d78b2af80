#!/usr/bin/env bash
# Run by scripts/test.sh; the script itself is ../cli-session.sh.
exec bash "$(dirname "$0")/../cli-session.sh" "$@"
