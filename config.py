"""Configuration classes read from the environment (``.env`` in development)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import orjson
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent
load_dotenv(BASE_DIR / ".env")


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None


class ConfigError(RuntimeError):
    """A setting the app cannot start without is missing or wrong; the message says which."""


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'recovery.db'}"
    )
    # orjson reads the JSON columns (reason params, settings) ~10× faster than json: an
    # export of 200 000 cases reads one per row.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "json_deserializer": orjson.loads}
    BABEL_DEFAULT_LOCALE = "de"
    BABEL_DEFAULT_TIMEZONE = os.environ.get("BUSINESS_TIMEZONE", "Europe/Berlin")
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    LANGUAGES = ("de", "en")
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(days=_env_int("REMEMBER_DAYS", 14))
    # Behind a reverse proxy: how many proxies set X-Forwarded-For/-Proto (0: none).
    TRUSTED_PROXY_COUNT = _env_int("TRUSTED_PROXY_COUNT", 0)
    MAILJET_API_KEY = os.environ.get("MAILJET_API_KEY")
    MAILJET_API_SECRET = os.environ.get("MAILJET_API_SECRET")
    MAILJET_SMS_TOKEN = os.environ.get("MAILJET_SMS_TOKEN")
    MAILJET_BASE_URL = os.environ.get("MAILJET_BASE_URL")  # tests point this at the fake
    # Twilio SMS (a company may choose it as its SMS provider); never edited in the app.
    TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID")
    TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN")
    TWILIO_BASE_URL = os.environ.get("TWILIO_BASE_URL")  # tests point this at the fake
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER", str(BASE_DIR / "instance" / "uploads"))
    MAX_CONTENT_LENGTH = 512 * 1024 * 1024
    # Login throttling (recovery/auth/services.py): failed logins within the window
    # from one client, and for one address from browsers that never logged in to it.
    LOGIN_WINDOW_MINUTES = _env_int("LOGIN_WINDOW_MINUTES", 15)
    LOGIN_LIMIT_PER_CLIENT = _env_int("LOGIN_LIMIT_PER_CLIENT", 20)
    LOGIN_LIMIT_PER_ACCOUNT = _env_int("LOGIN_LIMIT_PER_ACCOUNT", 10)
    LOGIN_DEVICE_DAYS = 365  # a browser stays known for the address it logged in to
    STRICT = False  # production: the settings below must be set (see check)
    CLAIM_MINUTES = 5
    PAGE_SIZE = 50
    LOG_FORMAT = os.environ.get("LOG_FORMAT")  # json or text: our log lines on stderr
    HEALTH_HEARTBEAT_MAX_AGE = float(os.environ.get("HEALTH_HEARTBEAT_MAX_AGE", "120"))
    # Strict-Transport-Security, sent in production only (recovery/security.py): a
    # development server on plain HTTP must not tell the browser to insist on HTTPS.
    HSTS = None


class DevelopmentConfig(Config):
    """Local development and the demo: a fixed dev key is fine, cookies over plain HTTP."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"  # noqa: S105 - tests only
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    MAILJET_API_KEY = None
    MAILJET_API_SECRET = None
    MAILJET_SMS_TOKEN = None
    TWILIO_ACCOUNT_SID = None
    TWILIO_AUTH_TOKEN = None


class ProductionConfig(Config):
    """Nothing secret has a default, and no localhost address: :func:`check` refuses to
    start without PUBLIC_BASE_URL and a SECRET_KEY of at least 32 bytes."""

    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL")
    STRICT = True

    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")

    HSTS = "max-age=31536000; includeSubDomains"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestConfig,
    "production": ProductionConfig,
}


MIN_SECRET_KEY_BYTES = 32


def config_for(name: str | None) -> type[Config]:
    name = name or os.environ.get("RECOVERY_ENV") or "development"
    if name not in CONFIGS:
        raise ConfigError(
            f"RECOVERY_ENV={name!r} is not known; use one of: {', '.join(sorted(CONFIGS))}"
        )
    return CONFIGS[name]


def check(config: Mapping) -> None:
    """Refuse to start without the settings the app cannot run safely without."""
    problems = []
    key = config.get("SECRET_KEY") or ""
    if config.get("STRICT") and len(key.encode()) < MIN_SECRET_KEY_BYTES:
        problems.append(
            f"SECRET_KEY must be set to at least {MIN_SECRET_KEY_BYTES} bytes in production "
            '(e.g. python3 -c "import secrets; print(secrets.token_urlsafe(48))")'
        )
    elif not key:
        problems.append("SECRET_KEY must be set in the environment")
    if config.get("STRICT"):
        url = urlsplit((config.get("PUBLIC_BASE_URL") or "").strip())
        if url.scheme not in ("http", "https") or not url.netloc:
            problems.append(
                "PUBLIC_BASE_URL must be set in production to the address customers reach "
                "the app at (e.g. https://winback.example.com); unsubscribe links use it"
            )
    if problems:
        raise ConfigError("; ".join(problems))
