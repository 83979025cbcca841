#!/usr/bin/env bash
# Build every image the test suite uses, before the tests run (no test builds anything inside
# a hook or a timeout):
#   devteam-sandbox-test:latest   the small sandbox image of the Docker sandbox/pipeline tests
#   the compose images            devteam-postgres:15, devteam-redis:7, devteam-node:20,
#                                 devteam-runner:local, devteam-proxy:local (scripts/build-images.sh)
# Idempotent: images that exist are kept; rootfs tarballs are cached under /var/cache/devteam.
# Needs root and a Docker engine (scripts/install-docker.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[build-test-images] %s\n' "$*" >&2; }
# Keep in sync with test/support/dockerImage.ts (TEST_IMAGE, TEST_IMAGE_PACKAGES).
TEST_IMAGE=devteam-sandbox-test:latest
TEST_IMAGE_PACKAGES=git,procps
started=$SECONDS
log "sandbox test image $TEST_IMAGE"
bash scripts/build-sandbox-image.sh "$TEST_IMAGE" --packages "$TEST_IMAGE_PACKAGES"
log "compose images"
bash scripts/build-images.sh
log "done in $((SECONDS - started))s"
