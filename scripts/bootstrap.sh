#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine with Python 3.11:
# system libraries (libmagic for pysnow; with --test also PostgreSQL and Chromium),
# a virtualenv in .venv and the project with its dev extras. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

apt_missing=()
ldconfig -p 2>/dev/null | grep -q 'libmagic\.so\.1' || apt_missing+=(libmagic1)
if [ "$want_test" = 1 ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_missing+=(postgresql)
  command -v chromium >/dev/null 2>&1 || apt_missing+=(chromium)
fi
if [ ${#apt_missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing system packages: ${apt_missing[*]} (install them with apt-get as root)" >&2
    exit 1
  fi
  echo "installing system packages: ${apt_missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch "$stamp"
fi
