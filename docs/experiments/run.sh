#!/usr/bin/env bash
# The experiments of docs/: every run is `inception train` on the shapes dataset that
# `inception make-dataset` draws. Usage: bash docs/experiments/run.sh [OUT_DIR] [BIN]
set -euo pipefail
out=${1:-runs/experiments}
bin=${2:-target/release/inception}
mkdir -p "$out"
data=$out/shapes
[ -d "$data" ] || "$bin" make-dataset "$data" --classes 10 --per-class 160 --size 64

# No colour jitter and mild crops: the figures are small and their colour is arbitrary.
cat > "$out/small.json" <<'JSON'
{ "crop_area": [0.6, 1.0], "color_jitter": 0.0, "dropout": 0.0 }
JSON
common=(--data "$data" --config "$out/small.json" --backend flex --image-size 75 --batch-size 16
        --workers 1 --quiet)

# 1. Stability (paper Section 3.3): the paper's Inception-ResNet-v2 at half width
#    (its C blocks are 1072 channels wide), a learning rate 10x the working one,
#    with and without residual scaling. Same seed, same data, same budget.
for scale in none 0.1; do
  "$bin" train "${common[@]}" --arch inception-resnet-v2-paper --width 0.5 --residual-scale "$scale" \
    --lr 0.1 --epochs 6 --max-steps-per-epoch 25 --seed 1 --out "$out/stability-scale-$scale" || true
done

# 2. Inception-v4 against Inception-ResNet-v2 (the released layout), same width and budget.
for arch in inception-v4 inception-resnet-v2; do
  "$bin" train "${common[@]}" --arch "$arch" --width 0.25 --lr 0.01 --epochs 10 --max-steps-per-epoch 40 \
    --seed 1 --out "$out/compare-$arch" || true
done
