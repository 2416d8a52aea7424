"""Production refuses to start without its settings; an unknown RECOVERY_ENV is named (#13.8)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError
from recovery import create_app

ROOT = Path(__file__).resolve().parents[2]
LONG_KEY = "k" * 32
URL = "https://winback.example.com"


def _production(**overrides):
    values = {
        "SECRET_KEY": LONG_KEY,
        "PUBLIC_BASE_URL": URL,
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
    }
    values.update(overrides)
    return create_app("production", **values)


def test_production_starts_with_a_long_key_and_a_public_url():
    app = _production()
    assert app.config["PUBLIC_BASE_URL"] == URL


@pytest.mark.parametrize("url", [None, "", "   ", "winback.example.com", "ftp://x.example"])
def test_production_refuses_to_start_without_a_public_base_url(url):
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        _production(PUBLIC_BASE_URL=url)


@pytest.mark.parametrize("key", [None, "", "short", "x" * 31, "ä" * 15])
def test_production_refuses_a_missing_or_short_secret_key(key):
    with pytest.raises(ConfigError, match="SECRET_KEY.*32 bytes"):
        _production(SECRET_KEY=key)


def test_production_names_every_missing_setting_at_once():
    with pytest.raises(ConfigError) as refused:
        _production(SECRET_KEY="short", PUBLIC_BASE_URL=None)
    assert "SECRET_KEY" in str(refused.value) and "PUBLIC_BASE_URL" in str(refused.value)


def test_production_has_no_localhost_default(monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    import config

    assert config.ProductionConfig.PUBLIC_BASE_URL is None or (
        "127.0.0.1" not in config.ProductionConfig.PUBLIC_BASE_URL
    )


def test_development_keeps_its_defaults():
    app = create_app("development", SQLALCHEMY_DATABASE_URI="sqlite://")
    assert app.config["PUBLIC_BASE_URL"].startswith("http://")


def test_an_unknown_environment_names_the_allowed_ones():
    with pytest.raises(ConfigError) as refused:
        create_app("bogus")
    assert "bogus" in str(refused.value)
    for name in ("development", "production", "testing"):
        assert name in str(refused.value)


def _env(**values):
    return {"PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite://", **values}


def test_wsgi_with_a_bogus_environment_exits_with_the_allowed_values():
    done = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=_env(RECOVERY_ENV="bogus", SECRET_KEY=LONG_KEY),
        timeout=60,
    )
    assert done.returncode != 0
    assert "RECOVERY_ENV" in done.stderr and "development, production, testing" in done.stderr
    assert "KeyError" not in done.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorn_in_production_without_public_url_stops_instead_of_serving():
    bind = f"127.0.0.1:{_free_port()}"
    done = subprocess.run(
        [str(ROOT / ".venv/bin/gunicorn"), "-w", "1", "-b", bind, "wsgi:app"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=_env(RECOVERY_ENV="production", SECRET_KEY="too-short"),
        timeout=60,
    )
    assert done.returncode != 0  # gunicorn halts: the worker failed to boot
    assert "PUBLIC_BASE_URL" in done.stderr and "SECRET_KEY" in done.stderr
