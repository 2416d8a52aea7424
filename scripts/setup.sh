#!/usr/bin/env bash
# Shared by demo.sh and test.sh: a virtualenv with the pinned packages and the
# compiled translations. Usage: scripts/setup.sh requirements.txt|requirements-dev.txt
set -euo pipefail
cd "$(dirname "$0")/.."
requirements="${1:-requirements.txt}"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
mkdir -p instance
.venv/bin/pybabel compile -d translations 2>/dev/null
