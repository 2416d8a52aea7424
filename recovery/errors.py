"""Error pages that keep the layout and say what happened."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest


def init_app(app: Flask) -> None:
    def page(code: int, error=None, message: str | None = None):
        html = render_template("errors/error.html", code=code, error=error, message=message)
        return html, code

    app.register_error_handler(403, lambda e: page(403))
    app.register_error_handler(404, lambda e: page(404))
    app.register_error_handler(CSRFError, lambda e: page(400, e.description))
    # A crafted argument: say which one, if the code did (else the plain 400 text).
    app.register_error_handler(
        BadRequest,
        lambda e: page(
            400, message=None if e.description == BadRequest.description else e.description
        ),
    )
