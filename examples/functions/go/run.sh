#!/usr/bin/env bash
# Build the Go example as bootstrap (provided.al2023), create it, invoke it.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../common.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$here" && CGO_ENABLED=0 GOOS=linux go build -o "$work/bootstrap" .)
(cd "$work" && zip -q function.zip bootstrap)
deploy hello-go provided.al2023 bootstrap "$work/function.zip"
invoke hello-go '{"name":"penstock"}'
