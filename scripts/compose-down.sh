#!/usr/bin/env bash
# Stop and remove the stack's containers and network. `--volumes` also drops the database volume.
set -euo pipefail
cd "$(dirname "$0")/.."
export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-devteam}"
docker-compose down --remove-orphans "$@"
