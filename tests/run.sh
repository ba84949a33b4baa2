#!/usr/bin/env bash
# The whole test suite: sets up the machine, makes the timm fixtures, checks formatting and
# runs every test in the release profile (the one the binaries use, so burn builds once).
#
# The plan (main, at the bottom, calls these steps in this order):
#   check_formatting         rustfmt, before anything is built
#   start_native_build       in the background: cargo test --no-run (burn, ~20 min cold)
#   start_wasm_side          in the background, niced: the site's tools, the wasm32 build,
#                            trunk's site, the npm package, the page's benchmark smoke
#   prepare_test_data        the test packages and venv, the timm fixtures, the bad-input corpus
#   wait_native_build
#   start_overfit_on_wgpu    the longest test (autotuning training kernels), in the background
#   native_tests             every other cargo test, once the wasm32 build is out of the way
#   gpu_check_smoke          tools/gpu_check.sh --smoke: the GPU check's steps, small, on the CPU
#   start_fuzzing            in the background: tools/fuzz.sh smoke runs
#   wait_wasm_side
#   browser_tests            wasm-bindgen-test in Chromium, then the page end to end
#                            (tests/e2e: page, Hub control, bad-input corpus, the page
#                            as an app: samples, offline, install, phone width, camera;
#                            the npm package and its example page)
#   wait_fuzzing
#   check_page_benchmark     the benchmark smoke's results
#   summary                  one line: what ran and passed, what failed
#
# Every result goes to $cache/last-test.log: cargo's "test result:" lines, the browser tests'
# "N passed, M failed" lines, the fuzz targets' lines and this script's own checks
# ("check NAME: passed"). The summary counts those lines, and nothing that did not run.
# One test on its own: see the README's "Running one test".
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
cache=${INCEPTION_CACHE:-$HOME/.cache/inception-rs}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$cache/target}
# Mesa's Vulkan loader probes the window system through it; headless runs have none.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
# The wasm32 build has a target folder of its own (trunk uses it too), so that cargo's folder
# lock does not serialise the two builds.
wasm_target=$cache/target-wasm
log=$cache/last-test.log
# Background jobs, stopped with all they started when the script exits.
jobs_to_stop=()
tools_rc=$(mktemp -u)
wasm_built=$(mktemp -u)

started=$SECONDS
# Elapsed time at each milestone, so that a slow run shows where its time went.
milestone() { printf '[run.sh +%dm%02ds] %s\n' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)) "$*" >&2; }
fail() { echo "run.sh: $*" >&2; exit 1; }
# A check of this script's own, recorded for the summary.
check_passed() { echo "check $1: passed" | tee -a "$log"; }

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
# A job that has been waited for is not stopped again (its pid may be another process's by then).
forget() {
  local keep=() pid
  for pid in "${jobs_to_stop[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
  jobs_to_stop=("${keep[@]}")
}
stop_background() { [ ${#jobs_to_stop[@]} = 0 ] || stop "${jobs_to_stop[@]}"; }
trap stop_background EXIT

check_formatting() {
  cargo fmt --all --check
  (cd fuzz && cargo fmt --check)  # a workspace of its own
  rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown >&2
}

# On a cold machine everything below is CPU-bound on 2 cores for most of an hour: the native
# build of burn (~20 min alone), its wasm32 build (~11 min alone), the site's tools built from
# source (wasm-bindgen-cli, trunk) and the oracle's 5 GB venv. They run together, longest chain
# first: the native build at normal priority, the wasm32 side and the tools it needs niced to 5.
start_native_build() {
  # --timings: each build leaves cargo's per-crate timeline in $CARGO_TARGET_DIR/cargo-timings.
  cargo test --release --workspace --locked --no-run --timings >"$cache/native-build.log" 2>&1 &
  native_build=$!
  jobs_to_stop+=("$native_build")
}

start_wasm_side() {
  (
    renice -n 5 -p $BASHPID >/dev/null
    rc=0
    bash tests/setup.sh --demo >"$cache/tools-setup.log" 2>&1 || rc=$?
    echo $rc >"$tools_rc"
  ) &
  jobs_to_stop+=($!)
  (
    renice -n 5 -p $BASHPID >/dev/null
    # The web crate's library (the browser test embeds the native build's logits, made later).
    CARGO_TARGET_DIR=$wasm_target cargo build --release --locked --timings --target wasm32-unknown-unknown \
      -p inception-web >"$cache/wasm-build.log" 2>&1 || exit 1
    touch "$wasm_built"
    milestone "wasm build done"
    while [ ! -e "$tools_rc" ]; do sleep 2; done
    [ "$(cat "$tools_rc")" = 0 ] || exit 4
    milestone "site tools ready"
    # The demo site as it is published (tools/build_site.sh: trunk's build, wasm-bindgen then
    # wasm-opt, and the static hosts' files), which the end-to-end tests serve.
    CARGO_TARGET_DIR_WASM=$wasm_target bash tools/build_site.sh dist >"$cache/trunk-build.log" 2>&1 || exit 2
    milestone "trunk build done"
    # The npm package (tools/build_package.sh: wasm-pack, then the package's own JS), which
    # browser_tests uses as another web app would.
    CARGO_TARGET_DIR_WASM=$wasm_target bash tools/build_package.sh >"$cache/package-build.log" 2>&1 || exit 5
    milestone "npm package build done"
    # The page's benchmark mode on the shipped weights, on WebGPU and on the CPU (the threaded
    # module, then the single-threaded one): each must finish with complete figures on the
    # backend and thread count asked for, and the two CPU paths with the same logits (the
    # figures are not judged here).
    node tests/e2e/bench.mjs dist webgpu,cpu,cpu-1thread 2 1 >"$cache/bench-smoke.jsonl" 2>"$cache/bench-smoke.log" || exit 3
    milestone "page benchmark smoke done"
  ) &
  wasm_side=$!
  jobs_to_stop+=("$wasm_side")
}

# Says which step of the wasm32 side failed, from its exit status, and stops.
wasm_side_failed() {
  local step log_file
  case $1 in
    2) step="trunk build"; log_file=trunk-build.log ;;
    3) step="the page's benchmark mode"; log_file=bench-smoke.log ;;
    4) step="building the site's tools"; log_file=tools-setup.log ;;
    5) step="the npm package's build"; log_file=package-build.log ;;
    *) step="the wasm32 build"; log_file=wasm-build.log ;;
  esac
  tail -n 60 "$cache/$log_file" >&2
  fail "$step failed (log: $cache/$log_file)"
}

prepare_test_data() {
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
  "$INCEPTION_ORACLE_PYTHON" tests/corpus/make_corpus.py "$INCEPTION_CORPUS" \
    --safetensors "$INCEPTION_FIXTURES/inception_resnet_v2_s0/weights.safetensors" \
    --v4 "$INCEPTION_FIXTURES/inception_v4_s0/weights.safetensors" \
    --pth "$INCEPTION_FIXTURES/inception_resnet_v2_s0/weights.pth" \
    --bpk weights/inception-resnet-v2-shapes-int8.bpk --marker "$INCEPTION_CORPUS/pwned"
  milestone "bad-input corpus: $INCEPTION_CORPUS"
}

wait_native_build() {
  forget "$native_build"
  if ! wait "$native_build"; then
    tail -n 60 "$cache/native-build.log" >&2
    fail "the native build failed (log: $cache/native-build.log)"
  fi
  milestone "native build done"
}

# The training test on wgpu autotunes about 150 training kernels on a cold machine (some 6
# minutes on lavapipe, mostly LLVM compiling candidate kernels on one thread): the longest
# test, so it starts as soon as the native build is done and runs beside everything else.
start_overfit_on_wgpu() {
  local overfit
  overfit=$(cargo test --release --workspace --locked --test overfit --no-run --message-format=json 2>/dev/null |
    grep -F '"kind":["test"]' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p')
  [ -x "$overfit" ] || fail "no overfit test binary found"
  (cd crates/train && exec "$overfit" loss_falls_on_wgpu --exact --nocapture) >"$cache/overfit-wgpu.log" 2>&1 &
  overfit_wgpu=$!
  jobs_to_stop+=("$overfit_wgpu")
}

# The other native tests start once the wasm32 build of burn is done too: beside a compile on
# both cores, lavapipe (which splits each draw among threads that wait for one another) ran
# them slower (parity: 227 s instead of 178, both cold). The rest of the wasm32 side (trunk's
# wasm-opt, then the page benchmark in Chromium) finishes beside them.
native_tests() {
  while [ ! -e "$wasm_built" ] && kill -0 "$wasm_side" 2>/dev/null; do sleep 2; done
  if [ ! -e "$wasm_built" ]; then
    local rc=0
    wait "$wasm_side" || rc=$?
    wasm_side_failed $rc
  fi
  rm -f "$wasm_built"
  cargo test --release --workspace --locked -- --nocapture --skip loss_falls_on_wgpu 2>&1 | tee "$log"
  local overfit_rc=0
  forget "$overfit_wgpu"
  wait "$overfit_wgpu" || overfit_rc=$?
  tee -a "$log" <"$cache/overfit-wgpu.log"
  [ $overfit_rc = 0 ] || fail "the training test on wgpu failed"
  milestone "native tests done"
}

# The GPU check's own steps (tools/gpu_check.sh), small and on the CPU: weights made by timm,
# the carried-in binary unpacked, `bench` on flex, the cuda rows of a default build, PyTorch,
# the table. Every row must have its figure, or for cuda the reason it has none.
gpu_check_smoke() {
  local out table
  out=$(mktemp -d)
  gzip -1 -c "$CARGO_TARGET_DIR/release/inception" >"$out/inception.gz"
  table=$(PYTHON=$INCEPTION_ORACLE_PYTHON GPU_CHECK_OUT=$out/run bash tools/gpu_check.sh --smoke "$out/inception.gz" 2>"$out/log") ||
    { cat "$out/log" >&2; fail "tools/gpu_check.sh --smoke failed"; }
  echo "$table"
  local number='[0-9]+\.[0-9] +[0-9]+\.[0-9]{2} +[0-9]+\.[0-9]{2}$'
  [ "$(grep -cE "^pytorch (eager|channels_last\+bf16) .*$number" <<<"$table")" = 6 ] &&
    [ "$(grep -cE "^inception-rs flex .*$number" <<<"$table")" = 3 ] &&
    [ "$(grep -c "^inception-rs cuda .*built without the cuda backend" <<<"$table")" = 3 ] ||
    fail "tools/gpu_check.sh --smoke: the table lacks rows (above)"
  rm -rf "$out"
  check_passed "gpu_check.sh smoke (every row of its table on the CPU)"
}

# The fuzz targets (tools/fuzz.sh): an instrumented nightly build of the model crate, then a
# smoke run of each target seeded with the corpus. Niced beside the browser tests, which
# leave a core idle when the page's wasm runs on the CPU.
start_fuzzing() {
  nice -n 10 bash tools/fuzz.sh all 20 >"$cache/fuzz.log" 2>&1 &
  fuzz=$!
  jobs_to_stop+=("$fuzz")
}

wait_wasm_side() {
  local rc=0
  forget "$wasm_side"
  wait "$wasm_side" || rc=$?
  rm -f "$tools_rc"
  [ $rc = 0 ] || wasm_side_failed $rc
}

browser_tests() {
  # The web crate (and the model crate under it) built for wasm32 and run by wasm-bindgen-test
  # in headless Chromium on WebGPU (SwiftShader), against the native build's logits for the
  # same hash-derived weights and input.
  local expected=$cache/web-expected-irv2-75.f32
  "$CARGO_TARGET_DIR/release/inception" synthetic --arch inception-resnet-v2 --image-size 75 --seed 0 --out "$expected"
  # As wasm-bindgen users run them: wasm-pack test, with the wasm-bindgen-test-runner and the
  # chromedriver installed here (`--mode no-install`: nothing is downloaded).
  (
    cd crates/web  # wasm-bindgen-test-runner reads webdriver.json (Chromium's flags) here
    PATH=$cache/tools/bin:$PATH INCEPTION_WEB_EXPECTED=$expected WASM_BINDGEN_TEST_TIMEOUT=900 \
      CARGO_TARGET_DIR=$wasm_target wasm-pack test --headless --chrome --chromedriver "$(command -v chromedriver)" \
      --release --mode no-install .
  ) 2>&1 | tee -a "$log"
  milestone "browser tests (wasm-bindgen-test) done"

  # The demo site end to end: trunk built it, Playwright drives Debian's Chromium on WebGPU,
  # drops two images, and the top-5 shown must equal the native CLI's for the same weights.
  local site fixture
  site=$(mktemp -d)
  cp -r dist/. "$site/"
  fixture=$INCEPTION_FIXTURES/inception_resnet_v2_s0
  "$CARGO_TARGET_DIR/release/inception" import --arch inception-resnet-v2 "$fixture/weights.safetensors" \
    --out "$site/weights/fixture.bpk" --manifest "$site/weights/manifest.json" --description "timm fixture (random weights)"
  cp "$fixture/input.png" "$site/photo-a.png"
  "$INCEPTION_ORACLE_PYTHON" -c 'import sys; from PIL import Image
Image.open(sys.argv[1]).transpose(Image.FLIP_LEFT_RIGHT).rotate(90).save(sys.argv[2])' "$site/photo-a.png" "$site/photo-b.png"
  "$CARGO_TARGET_DIR/release/inception" classify --backend flex --weights "$site/weights/fixture.bpk" --json \
    "$site/photo-a.png" "$site/photo-b.png" >"$site/expected.jsonl"
  node tests/e2e/page.mjs "$site" "$site/expected.jsonl" "$site/photo-a.png" "$site/photo-b.png" \
    "$cache/e2e-screenshot.png" 2>&1 | tee -a "$log"
  milestone "end-to-end page test done"
  # The page's "Load ImageNet weights" control against the loopback Hub stand-in on another
  # origin, with the same weights as a timm checkpoint: the same top-5, then the Cache API.
  node tests/e2e/hub.mjs "$site" "$site/expected.jsonl" "$site/photo-a.png" "$site/photo-b.png" \
    "$INCEPTION_ORACLE_PYTHON" "$fixture/weights.safetensors" 2>&1 | tee -a "$log"
  milestone "page Hub test done"
  # The bad-input corpus through the page, with the same 299x299 weights.
  node tests/e2e/corpus.mjs "$site" "$INCEPTION_CORPUS" 2>&1 | tee -a "$log"
  rm -rf "$site"
  milestone "page corpus test done"

  # The page as a visitor finds it, on the shipped demo weights: the samples, the cold-start
  # line, installable, offline after one visit, phone width; then the camera (Chromium's
  # fake one), a refused permission and no camera.
  site=$(mktemp -d)
  cp -r dist/. "$site/"
  node tests/e2e/offline.mjs "$site" "$cache/e2e-phone.png" 2>&1 | tee -a "$log"
  node tests/e2e/camera.mjs "$site" 2>&1 | tee -a "$log"
  rm -rf "$site"
  milestone "page app and camera tests done"

  # The npm package alone: its example page, then its whole API (URL, bytes, Hub stand-in;
  # Blob, ImageBitmap, <img>, ImageData; the errors).
  node tests/e2e/package.mjs "$repo" "$INCEPTION_ORACLE_PYTHON" 2>&1 | tee -a "$log"
  # Its TypeScript types, used as an app would (and misused where they must refuse).
  tests/e2e/node_modules/.bin/tsc -p tests/e2e/tsconfig.package.json || fail "the npm package's types did not check (tsc, above)"
  check_passed "npm package types"
  milestone "npm package test done"
}

wait_fuzzing() {
  local rc=0
  forget "$fuzz"
  wait "$fuzz" || rc=$?
  rm -rf "$INCEPTION_CORPUS"
  grep '^fuzz [a-z_]*: ' "$cache/fuzz.log" | tee -a "$log" || true
  [ $rc = 0 ] || { tail -n 40 "$cache/fuzz.log" >&2; fail "fuzzing failed (log: $cache/fuzz.log)"; }
  milestone "fuzz smoke done"
}

# The page's benchmark mode: one complete result per backend asked for (webgpu, cpu).
check_page_benchmark() {
  local results
  results=$(wc -l <"$cache/bench-smoke.jsonl")
  [ "$results" = 3 ] || fail "the page's benchmark mode gave $results results, not 3 (webgpu, cpu, cpu-1thread)"
  check_passed "page benchmark mode (3 complete results: webgpu, cpu on every core, cpu on one thread; the CPU logits agree)"
}

# One closing line for the whole suite: cargo's native and wasm runs, the browser tests, the
# fuzz targets and this script's checks, each counted from its own line in the log.
summary() {
  local passed failed
  passed=$(grep -Eo '^test result: ok\. [0-9]+ passed' "$log" | awk '{s += $4} END {print s + 0}')
  passed=$((passed + $(grep -Ec '^1 passed, 0 failed$' "$log" || true)))
  passed=$((passed + $(grep -Ec '^fuzz [a-z_]+: [0-9]+ runs in [0-9]+ s, no finding$' "$log" || true)))
  passed=$((passed + $(grep -Ec '^check .*: passed$' "$log" || true)))
  failed=$(grep -Eo '^test result: [A-Za-z]+\. [0-9]+ passed; [0-9]+ failed' "$log" | awk '{s += $6} END {print s + 0}')
  failed=$((failed + $(grep -Ec '^0 passed, 1 failed$' "$log" || true)))
  echo "suite: $passed passed, $failed failed"
  [ "$failed" = 0 ]
}

main() {
  mkdir -p "$cache"
  check_formatting
  start_native_build
  start_wasm_side
  prepare_test_data
  wait_native_build
  start_overfit_on_wgpu
  native_tests
  gpu_check_smoke
  start_fuzzing
  wait_wasm_side
  browser_tests
  wait_fuzzing
  check_page_benchmark
  summary
}

main "$@"
