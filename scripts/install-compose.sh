#!/usr/bin/env bash
# Install the compose tool the compose test and `npm run compose:up` use: Debian's
# `docker-compose` (v1). Idempotent: does nothing when `docker-compose version` answers.
# Needs root (apt-get); fails at once with a message naming the package otherwise.
set -euo pipefail
log() { printf '[install-compose] %s\n' "$*" >&2; }
die() { printf '[install-compose] ERROR: %s\n' "$*" >&2; exit 1; }
if docker-compose version >/dev/null 2>&1; then
  log "already installed: $(docker-compose version --short 2>/dev/null || echo present)"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || die "docker-compose is missing and this is not root: run 'apt-get install -y docker-compose' as root"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || die "apt-get update failed"
apt-get install -y -qq --no-install-recommends docker-compose >/dev/null || die "apt-get install docker-compose failed"
docker-compose version >/dev/null 2>&1 || die "docker-compose installed but 'docker-compose version' fails"
log "installed: $(docker-compose version --short 2>/dev/null || echo present)"
