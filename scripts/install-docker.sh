#!/usr/bin/env bash
# Install (if needed) and start (if needed) a local Docker engine. Idempotent; run as root.
#
#   - installs Debian's docker.io (and debootstrap, used by build-sandbox-image.sh) when missing;
#   - starts dockerd in the background (log: /var/log/dockerd.log) when `docker info` does not answer;
#   - waits, bounded, until the engine answers. Exit 0 once it does, non-zero with a clear message otherwise.
#
# Environment: DOCKERD_WAIT_SECONDS (default 60), DOCKERD_LOG (default /var/log/dockerd.log).
set -euo pipefail

WAIT_SECONDS="${DOCKERD_WAIT_SECONDS:-60}"
LOG_FILE="${DOCKERD_LOG:-/var/log/dockerd.log}"

log() { printf '[install-docker] %s\n' "$*" >&2; }
die() { printf '[install-docker] ERROR: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
  die "must run as root (dockerd and apt-get need it)"
fi

export DEBIAN_FRONTEND=noninteractive

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing: ${missing[*]}"
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" iptables ca-certificates >/dev/null \
    || die "apt-get install ${missing[*]} failed"
fi
command -v dockerd >/dev/null 2>&1 || die "dockerd still missing after installing docker.io"
command -v docker >/dev/null 2>&1 || die "docker CLI missing (docker.io should provide it)"

engine_answers() { docker info >/dev/null 2>&1; }

if engine_answers; then
  log "engine already answering"
  exit 0
fi

# A dockerd already running (e.g. still starting up)? pgrep may be absent on slim CI images.
dockerd_pid=""
if command -v pgrep >/dev/null 2>&1; then dockerd_pid="$(pgrep -x dockerd | head -n 1 || true)"; fi

if [ -n "$dockerd_pid" ]; then
  log "dockerd (pid $dockerd_pid) is running but not answering yet; waiting"
else
  log "starting dockerd (log: $LOG_FILE)"
  mkdir -p "$(dirname "$LOG_FILE")"
  # setsid + nohup: the daemon must outlive this script (and a CI step's process group).
  setsid nohup dockerd >>"$LOG_FILE" 2>&1 </dev/null &
  dockerd_pid=$!
fi

deadline=$((SECONDS + WAIT_SECONDS))
until engine_answers; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    log "last lines of $LOG_FILE:"
    tail -n 30 "$LOG_FILE" >&2 || true
    die "docker engine did not answer within ${WAIT_SECONDS}s (see $LOG_FILE)"
  fi
  if ! kill -0 "$dockerd_pid" 2>/dev/null; then
    log "last lines of $LOG_FILE:"
    tail -n 30 "$LOG_FILE" >&2 || true
    die "dockerd exited during startup (see $LOG_FILE)"
  fi
  sleep 0.5
done

log "engine answering: $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null || echo '?')"
