#!/usr/bin/env bash
# Builds the npm package `inception-web` into OUT (default: crates/web/pkg): wasm-pack's
# `--target web` build of the web crate (the raw wasm-bindgen module, inception_web.js and
# its .d.ts), plus the package's API (crates/web/js: index.js, its types and the worker it
# starts), which package.json names as the entry point. Nothing is downloaded: wasm-pack
# uses the wasm-bindgen and wasm-opt that tests/setup.sh installs.
#   usage: tools/build_package.sh [OUT]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=$(realpath -m "${1:-crates/web/pkg}")
cache=${INCEPTION_CACHE:-$HOME/.cache/inception-rs}
bash tests/setup.sh --package
PATH=$cache/tools/bin:$PATH CARGO_TARGET_DIR=${CARGO_TARGET_DIR_WASM:-$cache/target-wasm} \
  wasm-pack --quiet build crates/web --target web --release --mode no-install --out-dir "$out"
api=(index.js index.d.ts worker.js fetch-weights.js)
cp "${api[@]/#/crates/web/js/}" "$out/"
node - "$out/package.json" "${api[@]}" <<'JS'
const fs = require("node:fs");
const [path, ...api] = process.argv.slice(2);
const pkg = JSON.parse(fs.readFileSync(path, "utf8"));
pkg.description = "Inception-ResNet-v2 and Inception-v4 image classification in a Web Worker, on WebGPU or the CPU (WebAssembly)";
pkg.files = [...new Set([...pkg.files, ...api, "inception_web_bg.wasm.d.ts"])];
pkg.main = "index.js";
pkg.types = "index.d.ts";
pkg.exports = {
  ".": { types: "./index.d.ts", default: "./index.js" },
  "./raw": { types: "./inception_web.d.ts", default: "./inception_web.js" },
};
pkg.sideEffects = false;
fs.writeFileSync(path, JSON.stringify(pkg, null, 2) + "\n");
JS
echo "build_package.sh: the npm package is in $out ($(du -sh "$out" | cut -f1))"
