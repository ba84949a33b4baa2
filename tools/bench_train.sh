#!/usr/bin/env bash
# Training-step speed side by side: this project's `bench --train` (train-mode forward,
# label-smoothed loss, backward, RMSProp update) on each backend and PyTorch's training step
# (../shared/oracle/bench_cpu.py --mode train: forward, cross-entropy, backward, SGD update)
# on the CPU, IRv2 at 299, batch 8 by default, in one run; and the data pipeline alone
# (`bench --data`: JPEG decode and the training augmentation, 1 and 2 workers) on a folder of
# 500x375 JPEGs, so that the table shows which of the two bounds a run.
#   usage: tools/bench_train.sh [BACKENDS=flex] [RUNS=3] [BATCH=8]
# wgpu and ndarray work too (`wgpu,flex,ndarray`), slowly here: on lavapipe and on ndarray one
# step of batch 8 takes minutes. Raw JSON lines go to
# $CACHE/bench/<date>-train.jsonl. Run it on an otherwise idle machine.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
backends=${1:-flex}; runs=${2:-3}; batch=${3:-8}
cache=${INCEPTION_CACHE:-$HOME/.cache/inception-rs}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$cache/target}
oracle=${ORACLE_DIR:-$repo/../shared/oracle}
py=$cache/oracle-venv/bin/python
mkdir -p "$cache/bench"
out=$cache/bench/$(date +%Y%m%d-%H%M%S)-train.jsonl

cargo build --release --locked -q
"$CARGO_TARGET_DIR/release/inception" bench --train --arch inception-resnet-v2 --backends "$backends" \
  --batch-sizes "$batch" --runs "$runs" --warmup 1 | tee -a "$out"
OMP_NUM_THREADS=2 "$py" "$oracle/bench_cpu.py" --mode train --model inception_resnet_v2 --batch "$batch" \
  --threads 2 --runs "$runs" --warmup 1 --tag torch-train | tee -a "$out"
# The data pipeline: 128 drawn images saved as JPEGs of a photo's size.
jpegs=$cache/bench/jpeg-folder
if [ ! -d "$jpegs" ]; then
  rm -rf "$jpegs.tmp"
  "$CARGO_TARGET_DIR/release/inception" make-dataset "$jpegs.tmp" --classes 4 --per-class 32 --size 375 >&2
  "$py" - "$jpegs.tmp" <<'PY'
import pathlib, sys
from PIL import Image
for png in pathlib.Path(sys.argv[1]).rglob("*.png"):
    Image.open(png).convert("RGB").resize((500, 375)).save(png.with_suffix(".jpg"), quality=90)
    png.unlink()
PY
  mv "$jpegs.tmp" "$jpegs"
fi
"$CARGO_TARGET_DIR/release/inception" bench --data "$jpegs" --workers 1,2 --batch-sizes "$batch" \
  --runs "$runs" | tee -a "$out"
"$py" - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
torch = next((r for r in rows if r.get("mode") == "train" and "tag" in r), None)
ref = torch["ms_per_image"] if torch else None
print(f"\n{'path':<26}{'batch':>6}{'images/s':>10}{'ms/image':>11}{'x PyTorch':>11}")
for r in rows:
    if r.get("mode") == "data":
        name = f"data, {r['workers']} worker(s)"
        ms = 1e3 / r["images_per_s"]
    else:
        name = "PyTorch (2 threads)" if "tag" in r else r["backend"]
        ms = r["ms_per_image"]
    ratio = f"{ms / ref:.2f}" if ref and r.get("mode") != "data" else "-"
    print(f"{name:<26}{r['batch']:>6}{1e3 / ms:>10.2f}{ms:>11.1f}{ratio:>11}")
PY
