#!/usr/bin/env bash
# Run by scripts/test.sh: every function example (Go, Node.js, Python) built,
# created and invoked with the AWS CLI against a penstock the script starts.
exec bash "$(dirname "$0")/../../examples/functions/test.sh" "$@"
