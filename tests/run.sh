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

mkdir -p "$cache"
# Elapsed time at each milestone, so that a slow run shows where its time went.
started=$SECONDS
milestone() { printf '[run.sh +%dm%02ds] %s\n' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)) "$*" >&2; }
# Stops background jobs and all they started: killing a job's subshell alone left its trunk
# (or cargo, or Chromium) running into the next run, where two trunks shared one staging folder.
stop() {
  local pid kids
  for pid in "$@"; do
    kids=$(pgrep -P "$pid" || true)
    kill "$pid" 2>/dev/null || true
    # shellcheck disable=SC2086 # one pid per word
    [ -z "$kids" ] || stop $kids
  done
}
cargo fmt --all --check
(cd fuzz && cargo fmt --check)  # a workspace of its own
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown >&2

# On a cold machine everything below is CPU-bound on 2 cores for most of an hour: the native
# build of burn (~20 min alone), its wasm32 build (~11 min alone), the site's tools built from
# source (wasm-bindgen-cli, trunk) and the oracle's 5 GB venv. They run together, longest chain
# first: the native build at normal priority, the wasm32 side (build, then site and page
# benchmark) and the tools it needs niced to 5. The wasm32 build has a target folder of its
# own (trunk uses it too) so that cargo's folder lock does not serialise the two builds.
wasm_target=$cache/target-wasm
tools_rc=$(mktemp -u)
wasm_built=$(mktemp -u)
# --timings: each build leaves cargo's per-crate timeline in $CARGO_TARGET_DIR/cargo-timings.
cargo test --release --workspace --locked --no-run --timings >"$cache/native-build.log" 2>&1 &
native_build=$!
(
  renice -n 5 -p $BASHPID >/dev/null
  rc=0
  bash tests/setup.sh --demo >"$cache/tools-setup.log" 2>&1 || rc=$?
  echo $rc >"$tools_rc"
) &
tools_setup=$!
(
  renice -n 5 -p $BASHPID >/dev/null
  # The web crate's library (the browser test embeds the native build's logits, made below).
  CARGO_TARGET_DIR=$wasm_target cargo build --release --locked --timings --target wasm32-unknown-unknown \
    -p inception-web >"$cache/wasm-build.log" 2>&1 || exit 1
  touch "$wasm_built"
  milestone "wasm build done"
  while [ ! -e "$tools_rc" ]; do sleep 2; done
  [ "$(cat "$tools_rc")" = 0 ] || exit 4
  milestone "site tools ready"
  # The demo site, built by trunk (wasm-bindgen, then wasm-opt), which the end-to-end test serves.
  PATH=$cache/tools/bin:$PATH CARGO_TARGET_DIR=$wasm_target trunk build --release >"$cache/trunk-build.log" 2>&1 || exit 2
  milestone "trunk build done"
  # The page's benchmark mode on the shipped weights, on WebGPU and on the CPU: it must
  # finish with complete figures on the backend asked for (the figures are not judged here).
  node tests/e2e/bench.mjs dist webgpu,cpu 2 1 >"$cache/bench-smoke.jsonl" 2>"$cache/bench-smoke.log" || exit 3
  milestone "page benchmark smoke done"
) &
wasm_side=$!
trap 'stop $native_build $tools_setup $wasm_side' EXIT
# Says which step of the wasm32 side failed, from its exit status.
wasm_side_failed() {
  case $1 in
    2) tail -n 60 "$cache/trunk-build.log" >&2
       echo "run.sh: trunk build failed (log: $cache/trunk-build.log)" >&2 ;;
    4) tail -n 60 "$cache/tools-setup.log" >&2
       echo "run.sh: building the site's tools failed (log: $cache/tools-setup.log)" >&2 ;;
    3) tail -n 60 "$cache/bench-smoke.log" >&2
       echo "run.sh: the page's benchmark mode failed (log: $cache/bench-smoke.log)" >&2 ;;
    *) tail -n 60 "$cache/wasm-build.log" >&2
       echo "run.sh: the wasm32 build failed (log: $cache/wasm-build.log)" >&2 ;;
  esac
  exit 1
}
bash tests/setup.sh --test-deps
milestone "test dependencies ready"
INCEPTION_FIXTURES=$(bash tests/fixtures.sh)
export INCEPTION_FIXTURES
# The Hub tests (crates/cli/tests/hub.rs) run the Hub stand-in and huggingface_hub with it.
export INCEPTION_ORACLE_PYTHON=$cache/oracle-venv/bin/python
milestone "fixtures: $INCEPTION_FIXTURES"
# The bad-input corpus (about 250 images and weights files, 1.5 GB, half a minute), which the
# CLI's corpus test and the page's (tests/e2e/corpus.mjs) run.
INCEPTION_CORPUS=$(mktemp -d)
export INCEPTION_CORPUS
"$cache/oracle-venv/bin/python" tests/corpus/make_corpus.py "$INCEPTION_CORPUS" \
  --safetensors "$INCEPTION_FIXTURES/inception_resnet_v2_s0/weights.safetensors" \
  --v4 "$INCEPTION_FIXTURES/inception_v4_s0/weights.safetensors" \
  --pth "$INCEPTION_FIXTURES/inception_resnet_v2_s0/weights.pth" \
  --bpk weights/inception-resnet-v2-shapes-int8.bpk --marker "$INCEPTION_CORPUS/pwned"
milestone "bad-input corpus: $INCEPTION_CORPUS"
if ! wait $native_build; then
  tail -n 60 "$cache/native-build.log" >&2
  echo "run.sh: the native build failed (log: $cache/native-build.log)" >&2
  exit 1
fi
milestone "native build done"

# The training test on wgpu autotunes about 150 training kernels on a cold machine (some 6
# minutes on lavapipe, mostly LLVM compiling candidate kernels on one thread): the longest
# test, so it starts as soon as the native build is done and runs beside everything else.
overfit=$(cargo test --release --workspace --locked --test overfit --no-run --message-format=json 2>/dev/null |
  grep -F '"kind":["test"]' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p')
[ -x "$overfit" ] || { echo "run.sh: no overfit test binary found" >&2; exit 1; }
(cd crates/train && exec "$overfit" loss_falls_on_wgpu --exact --nocapture) >"$cache/overfit-wgpu.log" 2>&1 &
overfit_wgpu=$!
trap 'stop $overfit_wgpu $tools_setup $wasm_side' EXIT

# The other native tests start once the wasm32 build of burn is done too: beside a compile on
# both cores, lavapipe (which splits each draw among threads that wait for one another) ran
# them slower (parity: 227 s instead of 178, both cold). The rest of the wasm32 side (trunk's wasm-opt, then the page
# benchmark in Chromium) finishes beside them.
while [ ! -e "$wasm_built" ] && kill -0 $wasm_side 2>/dev/null; do sleep 2; done
if [ ! -e "$wasm_built" ]; then
  wasm_rc=0
  wait $wasm_side || wasm_rc=$?
  wasm_side_failed $wasm_rc
fi
rm -f "$wasm_built"
cargo test --release --workspace --locked -- --nocapture --skip loss_falls_on_wgpu 2>&1 | tee "$cache/last-test.log"
overfit_rc=0
wait $overfit_wgpu || overfit_rc=$?
tee -a "$cache/last-test.log" <"$cache/overfit-wgpu.log"
[ $overfit_rc = 0 ] || { echo "run.sh: the training test on wgpu failed" >&2; exit 1; }
milestone "native tests done"
# The fuzz targets (tools/fuzz.sh): an instrumented nightly build of the model crate, then a
# smoke run of each target seeded with the corpus. Niced beside the browser tests below, which
# leave a core idle when the page's wasm runs on the CPU.
nice -n 10 bash tools/fuzz.sh all 20 >"$cache/fuzz.log" 2>&1 &
fuzz=$!
trap 'stop $fuzz $wasm_side' EXIT
wasm_rc=0
wait $wasm_side || wasm_rc=$?
rm -f "$tools_rc"
[ $wasm_rc = 0 ] || wasm_side_failed $wasm_rc

# In the browser: the web crate (and the model crate under it) built for wasm32 and run by
# wasm-bindgen-test in headless Chromium on WebGPU (SwiftShader), against the native
# build's logits for the same synthetic weights and input.
expected=$cache/web-expected-irv2-75.f32
"$CARGO_TARGET_DIR/release/inception" synthetic --arch inception-resnet-v2 --image-size 75 --seed 0 --out "$expected"
(
  cd crates/web  # wasm-bindgen-test-runner reads webdriver.json (Chromium's flags) here
  INCEPTION_WEB_EXPECTED=$expected CHROMEDRIVER=$(command -v chromedriver) WASM_BINDGEN_TEST_TIMEOUT=900 \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=$cache/tools/bin/wasm-bindgen-test-runner \
    CARGO_TARGET_DIR=$wasm_target cargo test --release --locked --target wasm32-unknown-unknown -p inception-web -- --nocapture
) 2>&1 | tee -a "$cache/last-test.log"
milestone "browser tests (wasm-bindgen-test) done"

# The demo site end to end: trunk built it above, Playwright drives Debian's Chromium on
# WebGPU, drops two images, and the top-5 shown must equal the native CLI's for the same weights.
site=$(mktemp -d)
cp -r dist/. "$site/"
fixture=$INCEPTION_FIXTURES/inception_resnet_v2_s0
"$CARGO_TARGET_DIR/release/inception" import --arch inception-resnet-v2 "$fixture/weights.safetensors" \
  --out "$site/weights/fixture.bpk" --manifest "$site/weights/manifest.json" --description "timm fixture (random weights)"
cp "$fixture/input.png" "$site/photo-a.png"
"$cache/oracle-venv/bin/python" -c 'import sys; from PIL import Image
Image.open(sys.argv[1]).transpose(Image.FLIP_LEFT_RIGHT).rotate(90).save(sys.argv[2])' "$site/photo-a.png" "$site/photo-b.png"
"$CARGO_TARGET_DIR/release/inception" classify --backend flex --weights "$site/weights/fixture.bpk" --json \
  "$site/photo-a.png" "$site/photo-b.png" > "$site/expected.jsonl"
node tests/e2e/page.mjs "$site" "$site/expected.jsonl" "$site/photo-a.png" "$site/photo-b.png" \
  "$cache/e2e-screenshot.png" 2>&1 | tee -a "$cache/last-test.log"
milestone "end-to-end page test done"
# The page's "Load ImageNet weights" control against the loopback Hub stand-in on another
# origin, with the same weights as a timm checkpoint: the same top-5, then the Cache API.
node tests/e2e/hub.mjs "$site" "$site/expected.jsonl" "$site/photo-a.png" "$site/photo-b.png" \
  "$INCEPTION_ORACLE_PYTHON" "$fixture/weights.safetensors" 2>&1 | tee -a "$cache/last-test.log"
milestone "page Hub test done"
# The bad-input corpus through the page, with the same 299x299 weights.
node tests/e2e/corpus.mjs "$site" "$INCEPTION_CORPUS" 2>&1 | tee -a "$cache/last-test.log"
rm -rf "$site"
milestone "page corpus test done"
fuzz_rc=0
wait $fuzz || fuzz_rc=$?
trap - EXIT
rm -rf "$INCEPTION_CORPUS"
grep '^fuzz [a-z_]*: ' "$cache/fuzz.log" | tee -a "$cache/last-test.log" || true
[ $fuzz_rc = 0 ] || { tail -n 40 "$cache/fuzz.log" >&2; echo "run.sh: fuzzing failed (log: $cache/fuzz.log)" >&2; exit 1; }
milestone "fuzz smoke done"

# The page's benchmark mode: one complete result per backend asked for (webgpu, cpu).
smoke=$(wc -l <"$cache/bench-smoke.jsonl")
[ "$smoke" = 2 ] || { echo "run.sh: the page's benchmark mode gave $smoke results, not 2" >&2; exit 1; }
echo "page benchmark mode: $smoke complete results (webgpu, cpu)" | tee -a "$cache/last-test.log"
echo "1 passed, 0 failed" | tee -a "$cache/last-test.log"

# One closing line for the whole suite (cargo's native and wasm runs, and the page).
passed=$(grep -Eo '^test result: ok\. [0-9]+ passed' "$cache/last-test.log" | awk '{s += $4} END {print s + 0}')
passed=$((passed + $(grep -c '^1 passed, 0 failed$' "$cache/last-test.log")))
passed=$((passed + $(grep -Ec '^fuzz [a-z_]+: [0-9]+ runs in [0-9]+ s, no finding$' "$cache/last-test.log")))
failed=$(grep -Eo '^test result: [A-Za-z]+\. [0-9]+ passed; [0-9]+ failed' "$cache/last-test.log" | awk '{s += $6} END {print s + 0}')
failed=$((failed + $(grep -c '^0 passed, 1 failed$' "$cache/last-test.log" || true)))
echo "suite: $passed passed, $failed failed"
