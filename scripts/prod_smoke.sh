#!/usr/bin/env bash
# The production mode on this machine, end to end (issue 13 item 13; docs/deploy.md):
# a throwaway PostgreSQL database on 127.0.0.1:5432 (user postgres, trust), the
# migrations, an admin, a small data set (the demo business, 120 customers), a fake
# Mailjet as a process of its own, gunicorn with RECOVERY_ENV=production and a worker;
# then /healthz, a login, a case and an email that must reach the fake. Everything is
# stopped and the database dropped at the end, also when a step fails.
#
#   bash scripts/prod_smoke.sh            exit 0: passed; 77: PostgreSQL not reachable
#
# SMOKE_PG (default postgresql+psycopg://postgres@127.0.0.1:5432) names the server.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${SMOKE_PYTHON:-.venv/bin/python}"
PG="${SMOKE_PG:-postgresql+psycopg://postgres@127.0.0.1:5432}"

if ! "$PY" - "$PG" <<'PYEOF' 2>/dev/null; then
import sys
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1] + "/postgres", connect_args={"connect_timeout": 3})
with engine.connect() as conn:
    conn.execute(text("SELECT 1"))
PYEOF
  echo "prod smoke: PostgreSQL is not reachable at ${PG}; nothing run" >&2
  exit 77
fi

WORK="$(mktemp -d -t prod-smoke.XXXXXX)"
DB="recovery_smoke_$$_${RANDOM}"
PIDS=()

admin_sql() {
  "$PY" - "$PG" "$1" <<'PYEOF'
import sys
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1] + "/postgres", isolation_level="AUTOCOMMIT")
with engine.connect() as conn:
    conn.execute(text(sys.argv[2]))
PYEOF
}

cleanup() {
  status=$?
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  admin_sql "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" || true
  if [ "$status" -ne 0 ]; then
    for log in "$WORK"/*.log; do
      echo "---- $(basename "$log") (last 40 lines)" >&2
      tail -n 40 "$log" >&2 || true
    done
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

echo "== throwaway database $DB"
admin_sql "CREATE DATABASE \"$DB\""

echo "== fake Mailjet"
"$PY" -m tests.fakes.mailjet_serve --url-file "$WORK/fake.url" --templates 6100000-6100999 \
  >"$WORK/fake.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 1 100); do [ -s "$WORK/fake.url" ] && break; sleep 0.1; done
FAKE_URL="$(cat "$WORK/fake.url")"

PORT="$(free_port)"
ADMIN_EMAIL="smoke-admin@example.test"
ADMIN_PASSWORD="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(18))')"
export RECOVERY_ENV=production
export DATABASE_URL="$PG/$DB"
export SECRET_KEY="$("$PY" -c 'import secrets; print(secrets.token_hex(24))')"  # 48 bytes
export PUBLIC_BASE_URL="http://127.0.0.1:$PORT"
export UPLOAD_FOLDER="$WORK/uploads"
export MAILJET_API_KEY=mj-key MAILJET_API_SECRET=mj-secret MAILJET_BASE_URL="$FAKE_URL"
export GUNICORN_BIND="127.0.0.1:$PORT" GUNICORN_WORKERS=2
FLASK=("$PY" -m flask --app wsgi)

echo "== migrations"
"${FLASK[@]}" db upgrade >"$WORK/migrate.log" 2>&1

echo "== admin"
"${FLASK[@]}" recovery create-admin --email "$ADMIN_EMAIL" --name "Smoke Admin" \
  --password "$ADMIN_PASSWORD" | tee "$WORK/admin.log"

echo "== a small data set (the demo business)"
"${FLASK[@]}" recovery demo --keep --customers 120 >"$WORK/demo.log" 2>&1
grep -E "^Demo ready" "$WORK/demo.log"
grep -q '"type": "job", "kind": "analyze"' "$WORK/demo.log" \
  || { echo "no JSON log line for the analysis job" >&2; exit 1; }

echo "== gunicorn on $PUBLIC_BASE_URL and a worker (RECOVERY_ENV=production)"
"$PY" -m gunicorn --config deploy/gunicorn.conf.py wsgi:app >"$WORK/web.log" 2>&1 &
PIDS+=("$!")
"${FLASK[@]}" recovery worker >"$WORK/worker.log" 2>&1 &
PIDS+=("$!")

echo "== health, login, a case, an email"
"$PY" scripts/prod_smoke_client.py --base "$PUBLIC_BASE_URL" --fake "$FAKE_URL" \
  --email "$ADMIN_EMAIL" --password "$ADMIN_PASSWORD"

echo "== logs"
grep -q '"type": "request", "method": "GET", "path": "/healthz", "status": 200' "$WORK/web.log" \
  && grep -q '"request_id": "smoke-healthz"' "$WORK/web.log" \
  || { echo "no JSON request line with the request id in the web log" >&2; exit 1; }
grep -c '"type": "request"' "$WORK/web.log" | sed 's/^/JSON request lines: /'

echo "prod smoke: ok"
