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

echo "== tests on SQLite"
env -u TEST_DATABASE_URL .venv/bin/python -m pytest -q -p no:cacheprovider

pg_url="${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres}"
if [ -n "${TEST_DATABASE_URL:-}" ] || [ "${CI:-}" = "true" ] \
   || .venv/bin/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null; then
  echo "== tests on PostgreSQL (a throwaway database on ${pg_url%%@*}@…)"
  TEST_DATABASE_URL="$pg_url" .venv/bin/python -m pytest -q -p no:cacheprovider
else
  echo "== PostgreSQL not reachable on 127.0.0.1:5432: PostgreSQL run skipped"
fi
