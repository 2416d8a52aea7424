"""Entry point for gunicorn and ``flask --app wsgi``."""

from recovery import create_app

app = create_app()
