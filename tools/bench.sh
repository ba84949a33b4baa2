#!/usr/bin/env bash
# Inference speed side by side: this project's `bench` on each backend and ONNX Runtime (CPU,
# ../shared/oracle/bench_cpu.py mode ort) on the same timm fixture weights, in one run.
#   usage: tools/bench.sh [ARCH=inception_resnet_v2] [BACKENDS=wgpu,flex,ndarray] [RUNS=5]
# Each backend runs the folded network (BatchNorm folded into the convolutions, what
# `classify` runs) and the network as loaded. Prints a table of ms/image with the ratio to
# ONNX Runtime and to this CPU's FLOP limit (the network's FLOPs at the measured fp32 FMA peak,
# ../shared/oracle/peak_fma.c), then the peak memory of flex's folded network beside ONNX
# Runtime's (each a process of its own, loading included); raw JSON lines go to
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
# The FLOP limit: the measured fp32 FMA peak of this machine on 2 threads.
gcc -O3 -march=native -fopenmp "$oracle/peak_fma.c" -o "$cache/bench/peak_fma"
peak=$(OMP_NUM_THREADS=2 "$cache/bench/peak_fma" 1 | awk '{for (i = 1; i < NF; i++) if ($(i + 1) == "GFLOP/s" && $i + 0 > best) best = $i + 0} END {print best}')
echo "{\"mode\": \"peak\", \"gflops\": $peak}" | tee -a "$out"
"$CARGO_TARGET_DIR/release/inception" bench --arch "${arch//_/-}" --weights "$dir/weights.safetensors" \
  --backends "$backends" --batch-sizes 1,8 --forms folded,unfused,loaded --runs "$runs" --warmup 2 | tee -a "$out"
for b in 1 8; do
  OMP_NUM_THREADS=2 "$py" "$oracle/bench_cpu.py" --mode ort --model "$arch" --onnx "$onnx" --batch "$b" \
    --threads 2 --runs "$runs" --warmup 2 --tag ort | tee -a "$out"
done
# Peak memory: flex's folded network, one process per batch size as ONNX Runtime's side runs
# (its peak includes loading the weights, as ORT's does).
for b in 1 8; do
  "$CARGO_TARGET_DIR/release/inception" bench --arch "${arch//_/-}" --weights "$dir/weights.safetensors" \
    --backends flex --batch-sizes "$b" --forms folded --runs 2 --warmup 1 |
    sed 's/^{/{"memory_run": true, /' | tee -a "$out"
done
"$py" - "$out" "$oracle/$arch.info.json" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
gflops = json.load(open(sys.argv[2]))["gflops_per_image"]
peak = next(r["gflops"] for r in rows if r.get("mode") == "peak")
limit = gflops / peak * 1e3
ort = {r["batch"]: r["ms_per_image"] for r in rows if r.get("mode") == "ort" and "ms_per_image" in r}
print(f"\nFLOP limit: {gflops:.1f} GFLOP per image at {peak:.0f} GFLOP/s = {limit:.1f} ms/image")
print(f"{'path':<24}{'batch':>6}{'ms/image':>12}{'x ORT':>9}{'x limit':>9}")
for r in rows:
    if r.get("mode") == "peak" or r.get("memory_run"):
        continue
    if r.get("mode") == "ort":
        name, ms = "onnxruntime (2 thr)", r.get("ms_per_image")
    else:
        name, ms = f"{r['backend']} ({r['form']})", r["ms_per_image"]
    b = r["batch"]
    ratio = f"{ms / ort[b]:.2f}" if b in ort and ms else "-"
    print(f"{name:<24}{b:>6}{ms:>12.1f}{ratio:>9}{ms / limit:>9.2f}")
ort_mb = {r["batch"]: r["peak_rss_mb"] for r in rows if r.get("mode") == "ort" and r.get("peak_rss_mb")}
print(f"\n{'peak memory (process)':<24}{'batch':>6}{'MB':>12}{'x ORT':>9}")
for r in rows:
    if r.get("memory_run") and r.get("peak_rss_mb"):
        b, mb = r["batch"], r["peak_rss_mb"]
        ratio = f"{mb / ort_mb[b]:.2f}" if b in ort_mb else "-"
        print(f"{'flex (folded)':<24}{b:>6}{mb:>12.0f}{ratio:>9}")
for b, mb in sorted(ort_mb.items()):
    print(f"{'onnxruntime (2 thr)':<24}{b:>6}{mb:>12.0f}{1:>9.2f}")
PY
