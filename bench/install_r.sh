#!/usr/bin/env bash
# Bench-only: R and metafor, the reference peer of bench/run.py (not needed by the tests or at
# run time). Debian packages; needs root.
set -euo pipefail
if command -v Rscript >/dev/null && Rscript -e 'library(metafor)' >/dev/null 2>&1; then
  echo "R metafor already installed"; exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends r-base-core r-cran-metafor
