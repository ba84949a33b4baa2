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
cargo test --release --workspace --locked -- --nocapture 2>&1 | tee "$cache/last-test.log"

# In the browser: the web crate (and the model crate under it) built for wasm32 and run by
# wasm-bindgen-test in headless Chromium on WebGPU (SwiftShader), against the native
# build's logits for the same synthetic weights and input.
expected=$cache/web-expected-irv2-75.f32
"$CARGO_TARGET_DIR/release/inception" synthetic --arch inception-resnet-v2 --image-size 75 --seed 0 --out "$expected"
(
  cd crates/web  # wasm-bindgen-test-runner reads webdriver.json (Chromium's flags) here
  INCEPTION_WEB_EXPECTED=$expected CHROMEDRIVER=$(command -v chromedriver) WASM_BINDGEN_TEST_TIMEOUT=900 \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=$cache/tools/bin/wasm-bindgen-test-runner \
    cargo test --release --locked --target wasm32-unknown-unknown -p inception-web -- --nocapture
) 2>&1 | tee -a "$cache/last-test.log"
