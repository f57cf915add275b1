#!/usr/bin/env bash
# Installs everything, prepares a SQLite database with demo data, prints a demo
# API key and serves the API, the board and the workers on http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
sla-tracker migrate
sla-tracker demo
exec sla-tracker serve "$@"
