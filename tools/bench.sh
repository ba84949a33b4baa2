#!/usr/bin/env bash
# Inference speed side by side: this project's `bench` on each backend and ONNX Runtime (CPU,
# ../shared/oracle/bench_cpu.py mode ort) on the same timm fixture weights, in one run.
#   usage: tools/bench.sh [ARCH=inception_resnet_v2] [BACKENDS=wgpu,flex,ndarray] [RUNS=5]
# Prints a table of ms/image with the ratio to ONNX Runtime; raw JSON lines go to
# $CACHE/bench/<date>.jsonl. Run it on an otherwise idle machine.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
arch=${1:-inception_resnet_v2}; backends=${2:-wgpu,flex,ndarray}; runs=${3:-5}
cache=${INCEPTION_CACHE:-$HOME/.cache/inception-rs}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$cache/target}
oracle=${ORACLE_DIR:-$repo/../shared/oracle}
py=$cache/oracle-venv/bin/python
fixtures=$(bash tests/fixtures.sh)
dir=$fixtures/${arch}_s0
mkdir -p "$cache/bench"
out=$cache/bench/$(date +%Y%m%d-%H%M%S)-$arch.jsonl
onnx=$cache/bench/${arch}_s0.onnx
[ -f "$onnx" ] || "$py" "$oracle/export_onnx.py" --model "$arch" --weights "$dir/weights.safetensors" \
  --fixture "$dir" --out "$onnx" >&2

cargo build --release --locked -q
"$CARGO_TARGET_DIR/release/inception" bench --arch "${arch//_/-}" --weights "$dir/weights.safetensors" \
  --backends "$backends" --batch-sizes 1,8 --runs "$runs" --warmup 2 | tee -a "$out"
for b in 1 8; do
  OMP_NUM_THREADS=2 "$py" "$oracle/bench_cpu.py" --mode ort --model "$arch" --onnx "$onnx" --batch "$b" \
    --threads 2 --runs "$runs" --warmup 2 --tag ort | tee -a "$out"
done
"$py" - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
ort = {r["batch"]: r["ms_per_image"] for r in rows if r.get("mode") == "ort" and "ms_per_image" in r}
print(f"\n{'backend':<22}{'batch':>6}{'ms/image':>12}{'x ORT':>9}")
for r in rows:
    if r.get("mode") == "ort":
        name, ms = "onnxruntime (2 thr)", r.get("ms_per_image")
    else:
        name, ms = r["backend"], r["ms_per_image"]
    b = r["batch"]
    ratio = f"{ms / ort[b]:.2f}" if b in ort and ms else "-"
    print(f"{name:<22}{b:>6}{ms:>12.1f}{ratio:>9}")
PY
