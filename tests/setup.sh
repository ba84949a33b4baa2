#!/usr/bin/env bash
# Installs what building and testing need on a fresh Debian machine (idempotent; fast when
# everything is already there): Mesa's Vulkan drivers (lavapipe runs wgpu on the CPU when
# there is no GPU) and the timm oracle's Python venv, kept in a cache outside the clone.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${INCEPTION_CACHE:-$HOME/.cache/inception-rs}
mkdir -p "$cache"

need_apt=()
dpkg -s mesa-vulkan-drivers >/dev/null 2>&1 || need_apt+=(mesa-vulkan-drivers libvulkan1)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need_apt[@]}" >&2
fi

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown >&2

oracle=${ORACLE_DIR:-$repo/../shared/oracle}
if [ ! -x "$cache/oracle-venv/bin/python" ]; then
  echo "setup: creating the timm oracle venv in $cache/oracle-venv (torch + timm, ~5 GB)" >&2
  rm -rf "$cache/oracle-venv.tmp"
  bash "$oracle/setup_venv.sh" "$cache/oracle-venv.tmp" >&2
  mv "$cache/oracle-venv.tmp" "$cache/oracle-venv"
fi
