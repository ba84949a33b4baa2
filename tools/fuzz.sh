#!/usr/bin/env bash
# Fuzzes the readers of outside input with cargo-fuzz (libFuzzer, AddressSanitizer):
#   tools/fuzz.sh TARGET SECONDS     TARGET: decode_preprocess, weights, weights_pth,
#                                    weights_meta, manifest, or all (SECONDS each)
# Seeds are the bad-input corpus (tests/corpus/make_corpus.py; $INCEPTION_CORPUS when set,
# else made here from the timm fixtures, which needs what tests/setup.sh installs), the
# shipped manifest and fuzz/seeds/. What libFuzzer learns is kept in $cache/fuzz/TARGET.
# A panic, a crash, a run past 120 s or an allocation past 4 GB is a finding: the input is
# written to tests/corpus/found/TARGET/, which make_corpus.py adds to the corpus (commit it
# with the fix), and the script fails. Each target that finds nothing prints one line:
#   fuzz TARGET: RUNS runs in SECONDS s, no finding
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${INCEPTION_CACHE:-$HOME/.cache/inception-rs}
targets=(decode_preprocess weights weights_pth weights_meta manifest)
[ $# = 2 ] && [[ $2 =~ ^[0-9]+$ ]] || { echo "usage: tools/fuzz.sh {${targets[*]}|all} SECONDS" >&2; exit 2; }
if [ "$1" = all ]; then run=("${targets[@]}"); else run=("$1"); fi
for t in "${run[@]}"; do
  [[ " ${targets[*]} " == *" $t "* ]] || { echo "fuzz.sh: no target $t (${targets[*]})" >&2; exit 2; }
done
seconds=$2

# nightly (cargo-fuzz needs -Z flags) and cargo-fuzz, built from crates.io source once.
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal >&2
if [ "$("$cache/tools/bin/cargo-fuzz" --version 2>/dev/null)" != "cargo-fuzz 0.13.2" ]; then
  echo "fuzz.sh: cargo install cargo-fuzz 0.13.2 (about a minute)" >&2
  (unset CARGO_TARGET_DIR; CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
    cargo install -q cargo-fuzz --version =0.13.2 --locked --root "$cache/tools" >&2)
fi
export PATH=$cache/tools/bin:$PATH
# A target folder of its own: the instrumented build shares nothing with the others.
export CARGO_TARGET_DIR=$cache/target-fuzz

cd "$repo/fuzz"
cargo +nightly fuzz build >&2

corpus=${INCEPTION_CORPUS:-}
if [ -z "$corpus" ]; then
  corpus=$cache/fuzz/bad-input-corpus
  if [ ! -e "$corpus/corpus.json" ]; then
    fixtures=$(bash "$repo/tests/fixtures.sh")
    rm -rf "$corpus"
    "$cache/oracle-venv/bin/python" "$repo/tests/corpus/make_corpus.py" "$corpus" \
      --safetensors "$fixtures/inception_resnet_v2_s0/weights.safetensors" \
      --v4 "$fixtures/inception_v4_s0/weights.safetensors" \
      --pth "$fixtures/inception_resnet_v2_s0/weights.pth" \
      --bpk "$repo/weights/inception-resnet-v2-shapes-int8.bpk" --marker "$corpus/pwned" >&2
  fi
fi

# Seeds for TARGET, into the folder $2: corpus files under 8 MB (libFuzzer reads at most
# -max_len bytes of each).
seed() {
  local pattern
  case $1 in
    decode_preprocess) pattern='images/*' ;;
    weights) pattern='weights/*.bpk weights/*.safetensors' ;;
    weights_pth) pattern='weights/*.pth' ;;
    weights_meta) cp "$repo/fuzz/seeds/weights_meta/"* "$2/"; return ;;
    manifest) cp "$repo/weights/manifest.json" "$2/"; return ;;
  esac
  (cd "$corpus" && for f in $pattern; do [ "$(stat -c %s "$f")" -le $((8 << 20)) ] && cp "$f" "$2/"; done; true)
}

for t in "${run[@]}"; do
  learned=$cache/fuzz/$t
  seeds=$(mktemp -d)
  found=$repo/tests/corpus/found/$t
  mkdir -p "$learned" "$found"
  seed "$t" "$seeds"
  cp "$found"/* "$seeds/" 2>/dev/null || true
  log=$(mktemp)
  rc=0
  # -rss_limit_mb also bounds every single allocation (-malloc_limit_mb defaults to it).
  # Inputs slower than 10 s are only reported by default (an 8192x8192 PNG bomb of the
  # corpus is: 2 s in a release build, 10 to 30 s under AddressSanitizer on a busy machine):
  # here 120 s is the limit, and past it a finding.
  # Inputs up to the size of what a reader has to see: a timm checkpoint's safetensors header
  # alone is about 100 kB, a .pth's pickle and zip directory more.
  case $t in weights | weights_pth) max_len=$((1 << 20)) ;; decode_preprocess) max_len=$((256 << 10)) ;; *) max_len=65536 ;; esac
  cargo +nightly fuzz run "$t" "$learned" "$seeds" -- -max_total_time="$seconds" -max_len=$max_len \
    -rss_limit_mb=4096 -timeout=120 -report_slow_units=120 -artifact_prefix="$found/" -print_final_stats=1 >"$log" 2>&1 || rc=$?
  rm -rf "$seeds"
  if [ $rc != 0 ]; then
    tail -n 40 "$log" >&2
    echo "fuzz.sh: $t found an input that fails (rc $rc), written to ${found#"$repo/"}/ (log: $log)" >&2
    exit 1
  fi
  runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1/p' "$log")
  secs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\2/p' "$log")
  [ -n "$runs" ] || { tail -n 40 "$log" >&2; echo "fuzz.sh: $t ended without libFuzzer's summary (log: $log)" >&2; exit 1; }
  rmdir "$found" 2>/dev/null || true
  rm -f "$log"
  echo "fuzz $t: $runs runs in $secs s, no finding"
done
