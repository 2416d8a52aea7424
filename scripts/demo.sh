#!/usr/bin/env bash
# Command 1: install, create the SQLite database, load the demo business, serve it with
# one background worker beside the web server (syncs, analysis, sending); Ctrl+C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
export FLASK_APP=wsgi RECOVERY_ENV=development
.venv/bin/flask recovery demo
echo
.venv/bin/flask recovery worker &
worker=$!
stop_worker() {
  kill -TERM "$worker" 2>/dev/null || true
  wait "$worker" 2>/dev/null || true
}
trap stop_worker EXIT
trap 'exit 130' INT TERM
echo "Serving on http://127.0.0.1:5000 with worker $worker (Ctrl+C stops both)."
.venv/bin/flask run --host 127.0.0.1 --port 5000
