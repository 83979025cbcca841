#!/usr/bin/env bash
# Build (seed 9.1): type-check the sources; with --images also build the container images
# (scripts/build-images.sh: local rootfs bases, runner image from ./Dockerfile).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci
npx tsc -p tsconfig.json --noEmit
[ -f scripts/build-web.mjs ] && node scripts/build-web.mjs || true
if [ "${1:-}" = "--images" ]; then scripts/build-images.sh; fi
