#!/usr/bin/env bash
# The whole test suite: sets up the machine, makes the timm fixtures, checks formatting and
# runs every test in the release profile (the one the binaries use, so burn builds once).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
cache=${INCEPTION_CACHE:-$HOME/.cache/inception-rs}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$cache/target}

bash tests/setup.sh
INCEPTION_FIXTURES=$(bash tests/fixtures.sh)
export INCEPTION_FIXTURES
echo "fixtures: $INCEPTION_FIXTURES" >&2

cargo fmt --all --check
cargo test --release --workspace --locked -- --nocapture 2>&1 | tee "$cache/last-test.log"
