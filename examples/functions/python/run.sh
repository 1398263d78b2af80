#!/usr/bin/env bash
# Zip the Python example, create it (python3.12), invoke it.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../common.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$here" && zip -q "$work/function.zip" app.py)
deploy hello-python python3.12 app.handler "$work/function.zip"
invoke hello-python '{"name":"penstock"}'
