#!/usr/bin/env bash
# Installs what building and testing need on a fresh Debian machine (idempotent; fast when
# everything is already there), tools kept in a cache outside the clone:
#   wasm32 target, wasm-bindgen-cli, trunk, wasm-opt (the site; all that `--demo` installs)
#   nightly with rust-src                            (the site's threaded CPU module)
#   wasm-pack                                        (the npm package: `--package` adds it)
#   Mesa's Vulkan drivers, Chromium + chromedriver,  (the tests: lavapipe runs wgpu on the CPU
#   playwright-core, typescript, the timm oracle's    when there is no GPU)
#   Python venv
#   usage: tests/setup.sh [--demo | --package | --test-deps]
#     --demo       only the site's tools (the first line above)
#     --package    the site's tools and wasm-pack
#     --test-deps  only what the tests need besides the tools (the packages, playwright, the venv)
set -euo pipefail
tools_part=true; package_part=true; deps_part=true
case "${1:-}" in
  --demo) deps_part=false; package_part=false ;;
  --package) deps_part=false ;;
  --test-deps) tools_part=false; package_part=false ;;
  "") ;;
  *) echo "usage: tests/setup.sh [--demo | --package | --test-deps]" >&2; exit 2 ;;
esac
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${INCEPTION_CACHE:-$HOME/.cache/inception-rs}
mkdir -p "$cache"

# The timm oracle's venv (torch + timm, ~5 GB from PyPI) is mostly download and unpacking:
# it is made in the background while the tools below compile.
venv_job=""
oracle=${ORACLE_DIR:-$repo/../shared/oracle}
if $deps_part && [ ! -x "$cache/oracle-venv/bin/python" ]; then
  echo "setup: creating the timm oracle venv in $cache/oracle-venv (torch + timm, ~5 GB)" >&2
  rm -rf "$cache/oracle-venv.tmp"
  bash "$oracle/setup_venv.sh" "$cache/oracle-venv.tmp" >&2 &
  venv_job=$!
  trap '[ -n "$venv_job" ] && kill "$venv_job" 2>/dev/null || true' EXIT
fi

need_apt=()
$deps_part && {
dpkg -s mesa-vulkan-drivers >/dev/null 2>&1 || need_apt+=(mesa-vulkan-drivers libvulkan1)
# Headless Chrome with WebGPU (SwiftShader) for the browser tests.
dpkg -s chromium >/dev/null 2>&1 || need_apt+=(chromium)
dpkg -s chromium-driver >/dev/null 2>&1 || need_apt+=(chromium-driver)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need_apt[@]}" >&2
fi
}

if $tools_part; then
  rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown >&2
  # The threaded CPU module (tools/build_threads.sh) builds std with atomics: nightly's
  # -Z build-std, from its rust-src.
  rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal >&2
  rustup +nightly component list --installed | grep -q '^rust-src' || rustup component add rust-src --toolchain nightly >&2

  # wasm-bindgen's CLI (and its test runner) must be the version in Cargo.lock. Built from
  # crates.io source (prebuilt downloads are not an option everywhere), kept in the cache.
  tools=$cache/tools
  # The tools run for seconds; optimising them less makes their cold build much shorter.
  export CARGO_PROFILE_RELEASE_OPT_LEVEL=1
  # cargo install builds in CARGO_TARGET_DIR when it is set, and would wait there for the lock
  # that run.sh's native build holds: the tools build in cargo's own temporary folder instead.
  unset CARGO_TARGET_DIR
  wb_version=$(grep -A1 '^name = "wasm-bindgen"$' "$repo/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p')
  if [ "$("$tools/bin/wasm-bindgen" --version 2>/dev/null | cut -d' ' -f2)" != "$wb_version" ]; then
    echo "setup: cargo install wasm-bindgen-cli $wb_version (a few minutes)" >&2
    t0=$SECONDS
    # Without its default TLS stack (rustls and ring): the test runner only talks to
    # chromedriver on loopback, over plain HTTP.
    cargo install -q wasm-bindgen-cli --version "=$wb_version" --no-default-features --root "$tools" >&2
    echo "setup: wasm-bindgen-cli built in $((SECONDS - t0))s" >&2
  fi

  if [ "$("$tools/bin/trunk" --version 2>/dev/null)" != "trunk 0.21.14" ]; then
    # 0.21.14: the newest trunk that builds with this Rust. trunk itself only starts cargo,
    # wasm-bindgen and wasm-opt and copies files, so it is built unoptimised (as fast as an
    # optimised one for our site, for half the compile time) and without TLS: with
    # `offline = true` it downloads nothing. About 3 minutes, once.
    echo "setup: cargo install trunk 0.21.14 (about 3 minutes)" >&2
    t0=$SECONDS
    CARGO_PROFILE_RELEASE_OPT_LEVEL=0 cargo install -q trunk --version =0.21.14 --locked --no-default-features \
      --root "$tools" >&2
    echo "setup: trunk built in $((SECONDS - t0))s" >&2
  fi
  # wasm-opt for trunk's release build: binaryen 132 from npm (Debian's is older), pinned in
  # Trunk.toml so that trunk uses it instead of downloading one.
  if [ "$("$tools/bin/wasm-opt" --version 2>/dev/null)" != "wasm-opt version 132 (version_132)" ]; then
    echo "setup: npm install binaryen 132 (wasm-opt)" >&2
    npm install --no-audit --no-fund --silent --prefix "$tools/binaryen" binaryen@132.0.0 >&2
    mkdir -p "$tools/bin"
    ln -sf "$tools/binaryen/node_modules/.bin/wasm-opt" "$tools/bin/wasm-opt"
  fi
  # wasm-pack for the npm package (tools/build_package.sh), run with `--mode no-install`:
  # it finds the wasm-bindgen and wasm-opt above instead of downloading its own. Unoptimised,
  # as trunk: it only starts cargo and those tools. About a minute, once.
  if $package_part && [ "$("$tools/bin/wasm-pack" --version 2>/dev/null)" != "wasm-pack 0.13.1" ]; then
    echo "setup: cargo install wasm-pack 0.13.1 (about a minute)" >&2
    t0=$SECONDS
    CARGO_PROFILE_RELEASE_OPT_LEVEL=0 cargo install -q wasm-pack --version =0.13.1 --locked --root "$tools" >&2
    echo "setup: wasm-pack built in $((SECONDS - t0))s" >&2
  fi
fi
$deps_part || exit 0

# playwright-core drives Chromium; typescript checks the npm package's types.
[ -d "$repo/tests/e2e/node_modules/playwright-core" ] && [ -d "$repo/tests/e2e/node_modules/typescript" ] ||
  (cd "$repo/tests/e2e" && npm ci --no-audit --no-fund >&2)

if [ -n "$venv_job" ]; then
  wait "$venv_job" || { echo "setup: making the oracle venv failed" >&2; exit 1; }
  venv_job=""
  mv "$cache/oracle-venv.tmp" "$cache/oracle-venv"
  echo "setup: oracle venv ready" >&2
fi
# TensorBoard reads the training's event files back in a test (its own reader is the oracle).
"$cache/oracle-venv/bin/python" -c 'import tensorboard' 2>/dev/null ||
  "$cache/oracle-venv/bin/python" -m pip install -q tensorboard==2.21.0 >&2
