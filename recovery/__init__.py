"""The win-back application: ``create_app`` wires config, extensions and blueprints."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response

import config


def create_app(config_name: str | None = None, **overrides) -> Flask:
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config.from_object(config.config_for(config_name))
    app.config.update(overrides)
    config.check(app.config)

    from . import cli_group, errors, i18n, logs, security, ui
    from .extensions import csrf, db, login_manager, migrate

    _plan_each_statement(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    logs.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    ui.init_app(app)
    errors.init_app(app)
    cli_group.init_app(app)
    register_background_work()
    security.install_converters(app)
    register_blueprints(app)
    # Browsers ask for /favicon.ico on their own; answer it (public) instead of a redirect.
    # 246 bytes, read once: no open file per request.
    icon = (Path(app.static_folder) / "favicon.ico").read_bytes()
    app.add_url_rule(
        "/favicon.ico",
        "favicon",
        lambda: Response(icon, mimetype="image/x-icon", headers={"Cache-Control": "max-age=86400"}),
        methods=["GET"],
    )
    return app


def register_background_work() -> None:
    """The modules that add commands to ``flask recovery`` and register the worker's
    job kinds, recurring tasks and loops (recovery/jobs/registry.py)."""
    from . import cli  # noqa: F401
    from .campaigns import jobs as campaigns_jobs  # noqa: F401
    from .cases import jobs as cases_jobs  # noqa: F401
    from .jobs import cli as jobs_cli  # noqa: F401
    from .jobs import (
        heartbeat,  # noqa: F401
        schedule,  # noqa: F401
    )
    from .messaging import cli as messaging_cli  # noqa: F401
    from .messaging import jobs as messaging_jobs  # noqa: F401
    from .newsletters import jobs as newsletters_jobs  # noqa: F401
    from .sources import jobs as sources_jobs  # noqa: F401


def _plan_each_statement(app: Flask) -> None:
    """PostgreSQL plans every statement for its values (``plan_cache_mode``).

    psycopg prepares a statement run five times, and PostgreSQL then may switch to one
    generic plan for all values. For a search that plan cannot know how rare the text
    is: a name search took 10–13 ms instead of 1 ms on 200 000 cases
    (bench/queue/README.md). Planning our statements costs well under a millisecond.
    """
    if not str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    connect_args["options"] = (
        connect_args.get("options", "") + " -c plan_cache_mode=force_custom_plan"
    ).strip()
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def register_blueprints(app: Flask) -> None:
    from .admin import bp as admin_bp
    from .auth import bp as auth_bp
    from .groups import bp as groups_bp
    from .health import bp as health_bp
    from .overview import bp as overview_bp
    from .public import bp as public_bp
    from .queue import bp as queue_bp
    from .reconnect import bp as reconnect_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(queue_bp)
    app.register_blueprint(reconnect_bp, url_prefix="/reconnect")
    app.register_blueprint(groups_bp, url_prefix="/groups")
    app.register_blueprint(overview_bp, url_prefix="/overview")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(public_bp, url_prefix="/p")
