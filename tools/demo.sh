#!/usr/bin/env bash
# Builds the demo site and serves it on http://127.0.0.1:8080 (trunk serve: rebuilds on
# change). The page loads the weights named in weights/manifest.json; without one it says
# so and takes a weights file dropped onto it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
cache=${INCEPTION_CACHE:-$HOME/.cache/inception-rs}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$cache/target}
bash tests/setup.sh --demo
PATH=$cache/tools/bin:$PATH CARGO_TARGET_DIR=$cache/target-wasm exec trunk serve --release --address 127.0.0.1 --port "${PORT:-8080}"
