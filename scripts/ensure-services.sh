#!/usr/bin/env bash
# Make sure the services integration tests use are answering: PostgreSQL (127.0.0.1:5432),
# Redis (127.0.0.1:6379) and a Docker engine (+ the test sandbox image). Starts what is installed
# but down; installs Docker from Debian's docker.io when missing (root). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[services] %s\n' "$*" >&2; }

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    v="$(ls /etc/postgresql | sort -V | tail -n 1)"
    log "starting PostgreSQL $v"
    pg_ctlcluster --skip-systemctl-redirect "$v" main start || pg_ctlcluster "$v" main start
  else
    log "PostgreSQL is not installed"
  fi
fi
for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
pg_isready -h 127.0.0.1 -p 5432 || { log "PostgreSQL does not answer"; [ "${CI:-}" = true ] && exit 1; }

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  if command -v redis-server >/dev/null 2>&1; then
    log "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  else
    log "Redis is not installed"
  fi
fi
for _ in $(seq 1 40); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.25; done
redis-cli -h 127.0.0.1 -p 6379 ping || { log "Redis does not answer"; [ "${CI:-}" = true ] && exit 1; }

if [ "$(id -u)" -eq 0 ]; then
  bash scripts/install-docker.sh || { log "Docker engine unavailable"; [ "${CI:-}" = true ] && exit 1; }
else
  log "not root: skipping Docker engine install/start"
fi
exit 0
