#!/usr/bin/env bash
# Makes the timm reference fixtures (seeded random weights, input, logits, activations) with
# ../shared/oracle, in a cache outside the clone keyed by the oracle scripts' hash, and
# prints the fixture directory. Needs the oracle venv (tests/setup.sh makes it).
#   usage: tests/fixtures.sh            -> prints e.g. ~/.cache/inception-rs/fixtures/3f2a.../
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
oracle=${ORACLE_DIR:-$repo/../shared/oracle}
cache=${INCEPTION_CACHE:-$HOME/.cache/inception-rs}
venv=$cache/oracle-venv
[ -f "$oracle/make_fixture.py" ] || { echo "fixtures.sh: no oracle scripts at $oracle" >&2; exit 1; }
[ -x "$venv/bin/python" ] || { echo "fixtures.sh: no oracle venv at $venv (run tests/setup.sh)" >&2; exit 1; }

key=$(cat "$oracle/make_fixture.py" "$oracle/setup_venv.sh" "$0" | sha256sum | cut -c1-16)
out=$cache/fixtures/$key
for spec in "inception_resnet_v2 299" "inception_v4 299"; do
  set -- $spec
  dir=$out/${1}_s0
  if [ ! -f "$dir/fixture.json" ]; then
    echo "fixtures.sh: making $dir" >&2
    rm -rf "$dir.tmp"
    "$venv/bin/python" "$oracle/make_fixture.py" --model "$1" --seed 0 --size "$2" --out "$dir.tmp" >&2
    # The same state dict as PyTorch's own format, for the .pth loading test.
    "$venv/bin/python" -c 'import sys, torch; from safetensors.torch import load_file
torch.save(load_file(sys.argv[1]), sys.argv[2])' "$dir.tmp/weights.safetensors" "$dir.tmp/weights.pth"
    mv "$dir.tmp" "$dir"
  fi
done

# One PyTorch training step from the IRv2 fixture (the gradient check's reference), redone
# when its script changes.
step_script=$repo/tests/data/train_step.py
step=$out/inception_resnet_v2_s0/train_step
step_key=$(sha256sum "$step_script" | cut -c1-16)
if [ "$(cat "$step/key" 2>/dev/null)" != "$step_key" ]; then
  echo "fixtures.sh: making $step" >&2
  rm -rf "$step" "$step.tmp"
  "$venv/bin/python" "$step_script" "$out/inception_resnet_v2_s0" "$step.tmp" >&2
  echo "$step_key" > "$step.tmp/key"
  mv "$step.tmp" "$step"
fi
echo "$out"
