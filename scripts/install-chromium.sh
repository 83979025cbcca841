#!/bin/sh
# Installs Debian's Chromium for the dashboard's browser tests and benchmark (playwright-core
# drives it; no browser download from anywhere else). Idempotent: does nothing when present.
set -eu
if command -v chromium >/dev/null 2>&1; then
  echo "chromium already installed: $(command -v chromium)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q chromium
echo "chromium installed: $(command -v chromium)"
