#!/usr/bin/env bash
# Test (seed 9.1): unit + integration tests against the machine's Postgres and Redis
# (TEST_PG_URL, TEST_REDIS_URL override the defaults). Under CI=true a missing service fails.
# Extra arguments go to vitest, e.g. scripts/test.sh test/integration/cluster.test.ts
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x scripts/ensure-services.sh ] && scripts/ensure-services.sh || true
exec npx vitest run "$@"
