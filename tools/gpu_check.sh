#!/usr/bin/env bash
# The GPU check: this project's inference and training step on an NVIDIA GPU, beside PyTorch
# on the same weights, as one table of images/s with the ratios.
#
#   tools/gpu_check.sh BINARY[.gz|.xz]           on the GPU machine (under 10 minutes)
#   tools/gpu_check.sh --smoke BINARY[.gz|.xz]   the same steps, small, on this machine's CPU
#
# It is written for a machine with a GPU, PyTorch and timm, but no Rust toolchain and no
# network. So the `inception` binary is built elsewhere and carried in, compressed:
#   cargo build --release [--features cuda] && gzip -9 -c target/release/inception > inception.gz
# The weights are made on the spot: timm's inception_resnet_v2 with seeded random weights
# (tools/gpu_check.py weights). Speed does not depend on the values.
#
# For each of the binary's GPU backends (wgpu, on Vulkan; cuda, if the binary was built with
# `--features cuda`): inference of IRv2 at 299 at batch 1 and 64 (`bench`, the folded network
# as `classify` runs it), and a training step at batch 64 (`bench --train`). Then PyTorch on
# CUDA: eager float32, and channels_last under bf16 autocast. A backend the binary lacks, or
# that fails (no Vulkan driver, say), is a row that says why, and the rest still runs.
#
# --smoke runs every step at 75x75, batches 1 and 2, on the CPU: this project on flex (wgpu on
# lavapipe takes minutes to autotune a training step), cuda (which a default build lacks: its
# rows say so), PyTorch on the CPU. It checks the script itself (tests/run.sh runs it), not a GPU.
#
# PYTHON: the Python with torch and timm (default: python3). Output: the table on stdout; the
# raw JSON lines stay in $GPU_CHECK_OUT (default: a temporary folder, printed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
smoke=0
if [ "${1:-}" = --smoke ]; then smoke=1; shift; fi
[ $# = 1 ] || { echo "usage: tools/gpu_check.sh [--smoke] BINARY[.gz|.xz]" >&2; exit 2; }
python=${PYTHON:-python3}
out=${GPU_CHECK_OUT:-$(mktemp -d)}
mkdir -p "$out"

bin=$out/inception
case $1 in
  *.gz) gzip -dc "$1" >"$bin" ;;
  *.xz) xz -dc "$1" >"$bin" ;;
  *) cp "$1" "$bin" ;;
esac
chmod +x "$bin"

if [ $smoke = 1 ]; then
  size=75 batches=1,2 train_batch=2 warmup=1 runs=2 torch_device=cpu backends="flex cuda"
else
  size=299 batches=1,64 train_batch=64 warmup=3 runs=10 torch_device=cuda backends="wgpu cuda"
fi
# Each timed call is bounded, so that a hung driver cannot hold the machine past 10 minutes.
limit=${GPU_CHECK_LIMIT:-150}

echo "gpu_check: weights, binary and raw results in $out" >&2
"$python" "$here/gpu_check.py" weights "$out/irv2.safetensors"

ours=$out/inception-rs.jsonl
: >"$ours"
# A row that says why a configuration has no figure.
no_figure() {
  local b
  for b in ${3//,/ }; do
    "$python" -c 'import json, sys; print(json.dumps({"backend": sys.argv[1], "mode": sys.argv[2], "batch": int(sys.argv[3]), "error": sys.argv[4]}))' \
      "$1" "$2" "$b" "$4" >>"$ours"
  done
}
# One `bench` call; a failure becomes a row that says why.
bench() {
  local backend=$1 mode=$2 batch=$3 log=$out/bench-$1-$2.log why
  shift 3
  if ! timeout "$limit" "$bin" bench --arch inception-resnet-v2 --weights "$out/irv2.safetensors" \
      --backends "$backend" --image-size "$size" --warmup "$warmup" --runs "$runs" "$@" \
      >>"$ours" 2>"$log"; then
    if grep -q "^error: invalid value '$backend' for '--backends" "$log"; then
      why="this binary was built without the $backend backend (cargo build --release --features $backend)"
    else
      why=$( (grep -m1 '^error' "$log" || grep -v '^\s*$' "$log" | tail -1 || true) | cut -c1-150)
    fi
    no_figure "$backend" "$mode" "$batch" "${why:-stopped after $limit s}"
  fi
}
for backend in $backends; do
  echo "gpu_check: inception-rs on $backend" >&2
  bench "$backend" inference "$batches" --batch-sizes "$batches"
  bench "$backend" train "$train_batch" --train --batch-sizes "$train_batch"
done

echo "gpu_check: PyTorch on $torch_device" >&2
"$python" "$here/gpu_check.py" torch --weights "$out/irv2.safetensors" --device "$torch_device" \
  --size "$size" --batches "$batches" --train-batch "$train_batch" --warmup "$warmup" --runs "$runs" \
  >"$out/pytorch.jsonl"

echo
echo "IRv2 at ${size}x${size}; x eager / x bf16: images/s against PyTorch's, same mode and batch"
"$python" "$here/gpu_check.py" table "$ours" "$out/pytorch.jsonl"
