#!/usr/bin/env bash
# Re-extract the UI strings and merge them into the German catalogue.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 --no-location \
  --ignore-dirs=".venv tests bench" -o translations/messages.pot . >/dev/null 2>&1
.venv/bin/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching >/dev/null 2>&1
