#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback for the test suite.
#   scripts/pg.sh start   -> prints the SQLAlchemy URL of an empty database
#   scripts/pg.sh stop
# As root the server runs as the `postgres` user (PostgreSQL refuses to run as root).
set -euo pipefail
DIR=${SLA_PGTEST_DIR:-/tmp/sla-pgtest}
PORT=${SLA_PGTEST_PORT:-54329}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$PGBIN" ] || { echo "PostgreSQL is not installed (scripts/bootstrap.sh --test installs it)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  start)
    [ -f "$DIR/data/postmaster.pid" ] && as_owner "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres "$DIR"
    as_owner "$PGBIN/initdb" -D "$DIR/data" -A trust -U postgres -E UTF8 >/dev/null
    # fsync off: a test server's data is thrown away anyway.
    as_owner "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
      -o "-h 127.0.0.1 -p $PORT -k $DIR -F -c max_connections=200" start >/dev/null
    as_owner "$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -qc "CREATE DATABASE sla_test" >/dev/null
    echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/sla_test"
    ;;
  stop)
    [ -d "$DIR/data" ] && as_owner "$PGBIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
