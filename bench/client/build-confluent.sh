#!/usr/bin/env bash
# Builds @confluentinc/kafka-javascript's native addon for another Node major (22, 24), so that
# bench:client can run it beside the other clients on that Node. The conformance suite's install
# (conformance/run.sh) builds it for the Node that ran npm; the addon is tied to that Node's ABI.
# Reuses the librdkafka already built there: only the addon is compiled (about a minute).
#   bash bench/client/build-confluent.sh 22
set -euo pipefail
major="$1"
root="$(cd "$(dirname "$0")/../.." && pwd)"
source_modules="$root/conformance/node_modules"
[ -d "$source_modules/@confluentinc/kafka-javascript/build/deps" ] || { echo "run npm run test:conformance once first: it builds librdkafka" >&2; exit 1; }
node_bin="$(bash "$root/.ci/node-binary.sh" "$major")"
node_dir="$(dirname "$(dirname "$node_bin")")"
target="${BATON_NODE_CACHE:-$HOME/.cache/baton-node}/$major/confluent/node_modules"
rm -rf "$target" && mkdir -p "$target/@confluentinc"
cp -a "$source_modules/@confluentinc/kafka-javascript" "$target/@confluentinc/"
for dep in bindings nan file-uri-to-path; do [ -d "$source_modules/$dep" ] && cp -a "$source_modules/$dep" "$target/"; done
gyp="$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
cd "$target/@confluentinc/kafka-javascript"
CKJS_LINKING=dynamic PATH="$(dirname "$node_bin"):$PATH" node "$gyp" configure --nodedir="$node_dir" >/dev/null
CKJS_LINKING=dynamic PATH="$(dirname "$node_bin"):$PATH" make -C build confluent-kafka-javascript >/dev/null
"$node_bin" -e "require('$target/@confluentinc/kafka-javascript')" && echo "built for Node $("$node_bin" --version) in $target"
