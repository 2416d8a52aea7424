#!/usr/bin/env bash
# Command 1: install, create the SQLite database, load the demo business, serve it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
export FLASK_APP=wsgi RECOVERY_ENV=development
.venv/bin/flask recovery demo
echo
echo "Serving on http://127.0.0.1:5000 (Ctrl+C stops)."
exec .venv/bin/flask run --host 127.0.0.1 --port 5000
