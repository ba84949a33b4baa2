#!/usr/bin/env bash
# Builds the page's threaded CPU module into OUT (default: dist): the web crate without
# WebGPU and with WebAssembly threads (its `threads` feature: rayon's pool on Web Workers,
# wasm-bindgen-rayon), as inception-web-threads.js and inception-web-threads_bg.wasm plus
# the worker script wasm-bindgen-rayon brings (snippets/). The page's worker (web/worker.js)
# loads it instead of inception-web.js when the browser has no WebGPU and the page is
# cross-origin isolated (SharedArrayBuffer); everything else runs the main module.
#
# Threads need a std built with atomics and shared memory, which only a nightly toolchain
# with rust-src can build (-Z build-std). The target folder is a separate one, since every
# crate is built with other flags. The wasm-bindgen and wasm-opt steps are skipped when the
# module is the one already processed (trunk serve runs this after every rebuild: Trunk.toml).
#   usage: tools/build_threads.sh [OUT]     (trunk's post-build hook: OUT = $TRUNK_STAGING_DIR)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=$(realpath -m "${1:-${TRUNK_STAGING_DIR:-dist}}")
cache=${INCEPTION_CACHE:-$HOME/.cache/inception-rs}
target=${CARGO_TARGET_DIR_WASM_THREADS:-$cache/target-wasm-threads}
bash tests/setup.sh --demo
export PATH=$cache/tools/bin:$PATH

# atomics and bulk-memory for shared memory, which the linker is asked for: imported (each
# Web Worker instantiates the module on the same memory), with the exports wasm-bindgen
# needs to give each thread its own thread-local storage. 4 GiB is wasm32's limit.
# simd128 for the whole build (the README's figures): it costs no browser, since gemm's
# SIMD128 kernels already make both modules need SIMD.
link="--shared-memory --import-memory --max-memory=4294967296 --export=__wasm_init_tls --export=__tls_size --export=__tls_align --export=__tls_base"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128${link//--/ -C link-arg=--}"
cargo +nightly build --release --locked --target wasm32-unknown-unknown -p inception-web \
  --no-default-features --features threads -Z build-std=panic_abort,std --target-dir "$target"
wasm=$target/wasm32-unknown-unknown/release/inception_web.wasm

# wasm-bindgen, then wasm-opt -O1 as the main module gets it (web/index.html), into a folder
# named after the module's hash.
sum=$(sha256sum "$wasm" | cut -c1-16)
done_dir=$target/site-$sum
if [ ! -e "$done_dir/.complete" ]; then
  rm -rf "$target"/site-* && mkdir -p "$done_dir"
  wasm-bindgen --target web --out-dir "$done_dir" --out-name inception-web-threads --no-typescript "$wasm"
  wasm-opt -O1 --enable-threads --enable-bulk-memory --enable-mutable-globals --enable-simd \
    --enable-nontrapping-float-to-int --enable-sign-ext --enable-reference-types \
    "$done_dir/inception-web-threads_bg.wasm" -o "$done_dir/opt.wasm"
  mv "$done_dir/opt.wasm" "$done_dir/inception-web-threads_bg.wasm"
  touch "$done_dir/.complete"
fi
mkdir -p "$out"
cp -r "$done_dir/inception-web-threads.js" "$done_dir/inception-web-threads_bg.wasm" "$done_dir/snippets" "$out/"
echo "build_threads.sh: the threaded CPU module is in $out ($(du -h "$out/inception-web-threads_bg.wasm" | cut -f1))" >&2
