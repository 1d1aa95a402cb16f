#!/usr/bin/env bash
# Installs what the `highs` feature needs to build HiGHS from source (highs-sys): cmake and
# libclang for bindgen. Idempotent; needs root or passwordless sudo, and no standard input.
set -euo pipefail
if command -v cmake >/dev/null 2>&1 && ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends cmake libclang-dev >/dev/null
command -v cmake
