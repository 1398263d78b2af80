#!/usr/bin/env bash
# Zip the Node.js example, create it (nodejs20.x), invoke it.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../common.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$here" && zip -q "$work/function.zip" index.js)
deploy hello-node nodejs20.x index.handler "$work/function.zip"
invoke hello-node '{"name":"penstock"}'
