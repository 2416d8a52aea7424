"""gunicorn's settings for the web app (Dockerfile, deploy/systemd, scripts/prod_smoke.sh).

    gunicorn --config deploy/gunicorn.conf.py wsgi:app

The app writes one JSON line per request itself (recovery/logs.py), so gunicorn's own
access log is off; its error log (start, stop, worker timeouts) goes to stderr.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
# Exports of many cases stream for a while; uploads of large files take time.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
accesslog = None
errorlog = "-"
# The reverse proxy in front (TLS) may set X-Forwarded-*; trust only it.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
