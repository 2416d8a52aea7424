"""Configuration classes read from the environment (``.env`` in development)."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent
load_dotenv(BASE_DIR / ".env")


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


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
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_MINUTES = 15
    CLAIM_MINUTES = 5
    PAGE_SIZE = 50
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
    LOGIN_MAX_FAILURES = 5


class ProductionConfig(Config):
    """Nothing secret has a default: ``create_app`` refuses to start without SECRET_KEY."""

    HSTS = "max-age=31536000; includeSubDomains"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None) -> type[Config]:
    return CONFIGS[name or os.environ.get("RECOVERY_ENV", "development")]
