#!/usr/bin/env bash
# Builds the static demo site for a static host into OUT (default: dist): trunk's release
# build (wasm-opt'd wasm, the page, the service worker, the shipped weights), plus
#   .nojekyll  GitHub Pages serves the files as they are;
#   _headers   Netlify and Cloudflare Pages send the page's Content-Security-Policy as a
#              header, so that it covers the worker too (a meta tag does not), and the
#              cross-origin isolation headers (COOP, COEP).
# The site needs no header: it runs under any static file server, keeps itself for offline
# visits through its service worker (web/sw.js), which also makes the pages it serves
# cross-origin isolated on hosts that send no headers (GitHub Pages).
#   usage: tools/build_site.sh [OUT]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=$(realpath -m "${1:-dist}")
cache=${INCEPTION_CACHE:-$HOME/.cache/inception-rs}
bash tests/setup.sh --demo
PATH=$cache/tools/bin:$PATH CARGO_TARGET_DIR=${CARGO_TARGET_DIR_WASM:-$cache/target-wasm} \
  trunk build --release --dist "$out"
touch "$out/.nojekyll"
policy=$(sed -n 's/.*<meta http-equiv="Content-Security-Policy" content="\([^"]*\)".*/\1/p' web/index.html)
[ -n "$policy" ] || { echo "build_site.sh: web/index.html has no Content-Security-Policy" >&2; exit 1; }
# Cross-origin isolation (for wasm threads) as headers too; web/sw.js adds them where the
# host sends none.
printf '/*\n  Content-Security-Policy: %s\n  Cross-Origin-Opener-Policy: same-origin\n  Cross-Origin-Embedder-Policy: require-corp\n' \
  "$policy" >"$out/_headers"
echo "build_site.sh: the site is in $out ($(du -sh "$out" | cut -f1)); serve it with any static file server"
