#!/usr/bin/env bash
# Debian packages: an optimised BLAS for MLX on Linux (see src/testbeds/speedups/blas.py); with --test also
# Chromium, which the report test drives headless, and SLURM + munge for the one-node cluster test.
set -euo pipefail
[ "$(uname -s)" = Linux ] || exit 0
needed=()
[ -e "/usr/lib/$(uname -m)-linux-gnu/openblas-pthread/libopenblas.so.0" ] || needed+=(libopenblas0-pthread)
if [ "${1:-}" = --test ]; then
  command -v chromium >/dev/null || needed+=(chromium)
  [ -x /usr/sbin/slurmctld ] || needed+=(slurmctld slurmd slurm-client munge)
fi
[ ${#needed[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"
else
  echo "warning: cannot install ${needed[*]} without root. Without libopenblas0-pthread MLX uses its slow" >&2
  echo "         reference BLAS ('.venv/bin/pip install mkl' is a rootless alternative); without chromium" >&2
  echo "         the report browser test is skipped, and without SLURM the cluster test." >&2
  exit 0
fi
echo "installing Debian packages: ${needed[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
