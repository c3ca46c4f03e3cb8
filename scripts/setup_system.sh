#!/usr/bin/env bash
# Debian packages the run needs: an optimised BLAS for MLX on Linux (see src/testbeds/blas.py).
set -euo pipefail
[ "$(uname -s)" = Linux ] || exit 0
lib="/usr/lib/$(uname -m)-linux-gnu/openblas-pthread/libopenblas.so.0"
[ -e "$lib" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas0-pthread >/dev/null
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas0-pthread >/dev/null
else
  echo "warning: cannot install libopenblas0-pthread without root; MLX will use its slow reference BLAS." >&2
  echo "         Either install it, or '.venv/bin/pip install mkl' (testbeds.blas finds libmkl_rt)." >&2
fi
