#!/usr/bin/env bash
# The browser benchmark, side by side in the same headless Chromium on the same weights and
# input (timm's IRv2 with the oracle's seeded weights, 299x299, batch 1):
#   - this project's page in its benchmark mode (web/bench.js): burn on WebGPU and on the CPU
#     (burn-flex in wasm, the page's fallback: threaded, one thread per core, and on one
#     thread), each from a cold start;
#   - ONNX Runtime Web on WebGPU and on wasm (../shared/oracle/web).
#   usage: tools/bench_web.sh [BACKENDS=webgpu,cpu,cpu-1thread] [ORT_EPS=wasm,webgpu] [RUNS=3] [WARMUP=1]
# (BACKENDS: see tests/e2e/bench.mjs; cpu-unfused is the CPU path without the fused convolution,
# webgpu-unfolded and cpu-unfolded the network with its BatchNorms unfolded.)
# Here WebGPU is Chromium's SwiftShader, on the CPU: minutes per IRv2 pass, so keep RUNS small.
# Prints a table; the JSON lines go to $CACHE/bench/web-<date>.jsonl. Run it on an idle machine.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
backends=${1:-webgpu,cpu,cpu-1thread}; eps=${2:-wasm,webgpu}; runs=${3:-3}; warmup=${4:-1}
cache=${INCEPTION_CACHE:-$HOME/.cache/inception-rs}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$cache/target}
oracle=${ORACLE_DIR:-$repo/../shared/oracle}
py=$cache/oracle-venv/bin/python
fixture=$(bash tests/fixtures.sh)/inception_resnet_v2_s0
mkdir -p "$cache/bench"
out=$cache/bench/web-$(date +%Y%m%d-%H%M%S).jsonl

# The site, with the fixture's weights as its shipped weights and its input and logits beside.
cargo build --release --locked -q -p inception-cli
PATH=$cache/tools/bin:$PATH CARGO_TARGET_DIR=$cache/target-wasm trunk build --release >&2
site=$(mktemp -d)
trap 'rm -rf "$site"' EXIT
cp -r dist/. "$site/"
rm -f "$site"/weights/*.bpk
"$CARGO_TARGET_DIR/release/inception" import --arch inception-resnet-v2 "$fixture/weights.safetensors" \
  --out "$site/weights/fixture.bpk" --manifest "$site/weights/manifest.json" --description "timm fixture (random weights)" >&2
mkdir -p "$site/bench"
cp "$fixture/input.f32" "$fixture/logits.f32" "$site/bench/"
node tests/e2e/bench.mjs "$site" "$backends" "$runs" "$warmup" bench/input.f32 bench/logits.f32 | tee -a "$out"

# ONNX Runtime Web, in the same Chromium with the same WebGPU flags.
webdeps=$cache/ort-web
[ -d "$webdeps/node_modules/onnxruntime-web" ] || bash "$oracle/web/setup_web.sh" "$webdeps" >&2
onnx=$cache/bench/inception_resnet_v2_s0.onnx
[ -f "$onnx" ] || "$py" "$oracle/export_onnx.py" --model inception_resnet_v2 --weights "$fixture/weights.safetensors" \
  --fixture "$fixture" --out "$onnx" >&2
EXTRA_CHROMIUM_FLAGS="--enable-features=Vulkan --use-angle=swiftshader" \
  bash "$oracle/web/run_web.sh" "$webdeps" "$onnx" "$fixture" "$eps" "$runs" | tee -a "$out"

python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
ort_wasm = next((r["median_ms"] for r in rows if r.get("ep") == "wasm" and "median_ms" in r), None)
print(f"\n{'engine':<42}{'first result ms':>16}{'ms/image':>11}{'images/s':>10}{'x ORT wasm':>12}{'max |diff|':>12}{'dispatches':>12}")
for r in rows:
    if "error" in r:
        print(f"{r.get('engine', 'onnxruntime-web') + ' ' + r.get('backend', r.get('ep', '')):<42}  error: {r['error'][:80]}")
        continue
    if "ep" in r:
        name, first, diff, dispatches = f"onnxruntime-web {r['ep']}", r["first_run_ms"], r.get("max_abs_diff_vs_fixture"), None
    else:
        unfused = "" if r.get("fused", True) else " unfused"
        unfolded = "" if r.get("folded", True) else " unfolded"
        threads = f" {r['threads']}t" if r["backend"] == "cpu" else ""
        name, first, diff = f"burn (this page) {r['backend']}{threads}{unfused}{unfolded}", r["cold"]["first_result_ms"], r.get("max_abs_diff")
        # Compute dispatches of a warm pass (WebGPU only).
        dispatches = (r.get("dispatches") or {}).get("per_pass")
    ms = r["median_ms"]
    ratio = f"{ms / ort_wasm:.2f}" if ort_wasm else "-"
    print(f"{name:<42}{first:>16.0f}{ms:>11.1f}{1000 / ms:>10.3f}{ratio:>12}{diff if diff is not None else float('nan'):>12.2e}{dispatches if dispatches is not None else '-':>12}")
print(f"\nraw: {sys.argv[1]}")
PY
