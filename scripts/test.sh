#!/usr/bin/env bash
# Command 2: install what the tests need, lint, run the suite on SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing Debian's chromium for the browser tests"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi
bash scripts/setup.sh requirements-dev.txt

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

# The SQLite and the PostgreSQL run go side by side (each is mostly one busy process, the
# machine has two cores or more); each writes its own log, printed whole when both ended.
logs="$(mktemp -d -t recovery-tests.XXXXXX)"
trap 'rm -rf "$logs"' EXIT
echo "== tests on SQLite (started)"
env -u TEST_DATABASE_URL .venv/bin/python -m pytest -q -p no:cacheprovider >"$logs/sqlite.log" 2>&1 &
sqlite_pid=$!

pg_url="${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres}"
pg_pid=""
if [ -n "${TEST_DATABASE_URL:-}" ] || [ "${CI:-}" = "true" ] \
   || .venv/bin/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null; then
  echo "== tests on PostgreSQL (started; a throwaway database on ${pg_url%%@*}@…)"
  TEST_DATABASE_URL="$pg_url" .venv/bin/python -m pytest -q -p no:cacheprovider >"$logs/pg.log" 2>&1 &
  pg_pid=$!
else
  echo "== PostgreSQL not reachable on 127.0.0.1:5432: PostgreSQL run skipped"
fi

status=0
wait "$sqlite_pid" || status=1
echo "== tests on SQLite"
cat "$logs/sqlite.log"
if [ -n "$pg_pid" ]; then
  wait "$pg_pid" || status=1
  echo "== tests on PostgreSQL"
  cat "$logs/pg.log"
fi
exit "$status"
