#!/usr/bin/env bash
# Every check: lint, types, the whole suite on SQLite, then the database tests
# again on a throwaway PostgreSQL server started on loopback (and stopped after).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

scripts/bootstrap.sh --test
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff" && ruff check .
echo "== mypy" && mypy
echo "== pytest on SQLite" && pytest -q -p no:cacheprovider "$@"

trap 'scripts/pg.sh stop' EXIT
url=$(scripts/pg.sh start)
echo "== pytest on PostgreSQL (database tests)"
SLA_TEST_DATABASE_URL="$url" pytest -q -p no:cacheprovider -m db "$@"
echo "== all checks passed in $(( $(date +%s) - started ))s"
