#!/usr/bin/env bash
# The whole test suite: sets up the machine, makes the timm fixtures, checks formatting and
# runs every test in the release profile (the one the binaries use, so burn builds once).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
cache=${INCEPTION_CACHE:-$HOME/.cache/inception-rs}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$cache/target}
# Mesa's Vulkan loader probes the window system through it; headless runs have none.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}

bash tests/setup.sh
INCEPTION_FIXTURES=$(bash tests/fixtures.sh)
export INCEPTION_FIXTURES
echo "fixtures: $INCEPTION_FIXTURES" >&2

cargo fmt --all --check
# The model crate must build for the browser too (the web crate builds on it).
cargo build --release --locked --target wasm32-unknown-unknown -p inception
cargo test --release --workspace --locked -- --nocapture 2>&1 | tee "$cache/last-test.log"
