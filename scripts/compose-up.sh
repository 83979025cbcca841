#!/usr/bin/env bash
# Bring the stack up: build missing images locally, `docker-compose up -d`, then wait for
# /healthz and /readyz through the published port. Exit non-zero (with logs) if it never gets healthy.
# env: DEVTEAM_PUBLISHED_PORT (8080), COMPOSE_PROJECT_NAME (devteam), DEVTEAM_UP_TIMEOUT_SEC (180)
set -euo pipefail
cd "$(dirname "$0")/.."
export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-devteam}"
PORT="${DEVTEAM_PUBLISHED_PORT:-8080}"
LIMIT="${DEVTEAM_UP_TIMEOUT_SEC:-180}"
command -v docker-compose >/dev/null || { echo "docker-compose missing: apt-get install -y docker-compose" >&2; exit 1; }
for img in devteam-postgres:15 devteam-redis:7 devteam-runner:local devteam-proxy:local; do
  docker image inspect "$img" >/dev/null 2>&1 || { scripts/build-images.sh; break; }
done
docker-compose up -d
for i in $(seq 1 "$LIMIT"); do
  if curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; then
    echo "stack healthy on http://127.0.0.1:$PORT (after ${i}s)"
    exit 0
  fi
  sleep 1
done
echo "stack not healthy after ${LIMIT}s" >&2
docker-compose ps >&2 || true
docker-compose logs --tail 50 >&2 || true
exit 1
