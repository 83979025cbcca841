#!/usr/bin/env bash
# Migrate (seed 9.1): `scripts/migrate.sh up` (default) or `scripts/migrate.sh down` (reverts the
# latest migration — see docs/operations.md, rollback). Uses DATABASE_URL (embedded PGlite when unset).
# In the compose stack: docker-compose run --rm migrate node --import tsx src/infra/db/migrateCli.ts down
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx src/infra/db/migrateCli.ts "${1:-up}"
