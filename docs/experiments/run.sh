#!/usr/bin/env bash
# The experiments of docs/: every run is `inception train` on the shapes dataset that
# `inception make-dataset` draws, three seeds each, then docs/experiments/summarize.py.
# Usage: bash docs/experiments/run.sh [OUT_DIR] [BIN]     (about 45 minutes on 2 cores)
set -euo pipefail
out=${1:-runs/experiments}
bin=${2:-target/release/inception}
seeds=${SEEDS:-1 2 3}
mkdir -p "$out"
data=$out/shapes
[ -d "$data" ] || "$bin" make-dataset "$data" --classes 10 --per-class 160 --size 64

# No colour jitter and mild crops: the figures are small and their colour is arbitrary.
cat > "$out/small.json" <<'JSON'
{ "crop_area": [0.6, 1.0], "color_jitter": 0.0, "dropout": 0.0 }
JSON
# The default optimizer: TensorFlow's RMSProp, as the paper trained.
common=(--data "$data" --config "$out/small.json" --backend flex --image-size 75 --batch-size 16
        --workers 1 --quiet --optimizer rmsprop-tf)

# 1. Stability (paper Section 3.3): the paper's Inception-ResNet-v2 at half width
#    (its C blocks are 1072 channels wide), a learning rate 10x the working one,
#    with and without residual scaling. Same data and budget; three seeds.
for seed in $seeds; do
  for scale in none 0.1; do
    "$bin" train "${common[@]}" --arch inception-resnet-v2-paper --width 0.5 --residual-scale "$scale" \
      --lr 0.1 --epochs 6 --max-steps-per-epoch 25 --seed "$seed" --out "$out/stability-scale-$scale-seed-$seed" || true
  done
done

# 2. Inception-v4's learning rate (seed 1, 10 epochs of 40 steps): the rate at which it
#    starts learning. At 0.01 (the residual network's working rate) it stayed at chance.
for lr in 0.003 0.001 0.0003; do
  "$bin" train "${common[@]}" --arch inception-v4 --width 0.25 --lr "$lr" --epochs 10 --max-steps-per-epoch 40 \
    --seed 1 --out "$out/lr-inception-v4-$lr" || true
done

# 3. Inception-v4 against Inception-ResNet-v2 (the released layouts), same width, the rate
#    that suits Inception-v4 (0.001, from 2.), 30 epochs of 40 steps; three seeds.
for seed in $seeds; do
  for arch in inception-v4 inception-resnet-v2; do
    "$bin" train "${common[@]}" --arch "$arch" --width 0.25 --lr 0.001 --epochs 30 --max-steps-per-epoch 40 \
      --seed "$seed" --out "$out/compare-$arch-seed-$seed" || true
  done
done

python3 "$(dirname "$0")/summarize.py" "$out"
