#!/usr/bin/env bash
# Run (seed 9.1): `scripts/run.sh` serves HTTP + WebSocket; `scripts/run.sh --worker` runs a node
# that owns shards and consumes events without HTTP (needs REDIS_URL + DATABASE_URL).
# Configuration comes from the environment (docs/operations.md).
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx src/main.ts "$@"
