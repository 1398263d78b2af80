#!/usr/bin/env bash
# Run by scripts/test.sh; the script itself is ../destinations-cli.sh.
exec bash "$(dirname "$0")/../destinations-cli.sh" "$@"
