"""Shared plumbing for the connectors that read a SQL database through SQLAlchemy.

Used by ``jtl_wawi`` and ``generic_sql``; it registers nothing. It holds the engine
factory, the read-only transaction (the one place with per-dialect SQL), the
translation of driver errors into the connector errors, the static check for a
user's SELECT, and small value converters.

Read-only, per dialect:

- PostgreSQL: ``SET TRANSACTION READ ONLY`` as the first statement of every transaction.
- MySQL/MariaDB: ``START TRANSACTION READ ONLY``.
- SQLite: ``PRAGMA query_only = ON`` on every new connection.
- SQL Server has no read-only transaction. Connect as a login whose database user is
  only in ``db_datareader`` (``CREATE USER recovery_reader FOR LOGIN recovery_reader;
  ALTER ROLE db_datareader ADD MEMBER recovery_reader;``). That user is the guard there.

Every transaction ends with a rollback; nothing is ever committed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import URL, make_url

from .base import (
    N_,
    AuthenticationError,
    ConfigurationError,
    ConnectorError,
    DataError,
    Message,
    TransientError,
)

CONNECT_TIMEOUT_SECONDS = 10
# SQL Server accepts at most 2,100 parameters per statement; IN lists are chunked below it.
MAX_IN_LIST = 1000

T = TypeVar("T")

# driver name -> (connect argument, value) for a bounded connect time
_CONNECT_TIMEOUTS = {
    "psycopg": ("connect_timeout", CONNECT_TIMEOUT_SECONDS),
    "psycopg2": ("connect_timeout", CONNECT_TIMEOUT_SECONDS),
    "pymysql": ("connect_timeout", CONNECT_TIMEOUT_SECONDS),
    "mysqldb": ("connect_timeout", CONNECT_TIMEOUT_SECONDS),
    "mariadbconnector": ("connect_timeout", CONNECT_TIMEOUT_SECONDS),
    "pyodbc": ("timeout", CONNECT_TIMEOUT_SECONDS),
    "pymssql": ("login_timeout", CONNECT_TIMEOUT_SECONDS),
}


def make_engine(url: str) -> Engine:
    """An engine for ``url``; a bad URL or a missing driver is a ConfigurationError."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        raise ConfigurationError(
            N_("The database URL is not valid (expected e.g. mssql+pyodbc://user:pass@dsn).")
        ) from None
    try:
        engine = create_engine(parsed, pool_pre_ping=True, connect_args=_connect_args(parsed))
    except (exc.NoSuchModuleError, ImportError) as error:
        raise ConfigurationError(
            N_("No database driver for '%(driver)s' is installed: %(error)s"),
            driver=parsed.drivername,
            error=str(error),
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_query_only)
    return engine


class EngineOwner:
    """Mixin for SQL connectors: the engine for ``settings["url"]``, made on first use."""

    settings: dict[str, Any]
    _engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings["url"])
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _connect_args(url: URL) -> dict[str, Any]:
    name, value = _CONNECT_TIMEOUTS.get(url.get_driver_name(), (None, None))
    if name is None or name in url.query:
        return {}
    return {name: value}


def _sqlite_query_only(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA query_only = ON")


def _start_read_only(conn: Connection) -> None:
    name = conn.dialect.name
    if name == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
    elif name in ("mysql", "mariadb"):
        conn.exec_driver_sql("START TRANSACTION READ ONLY")


@contextmanager
def read_only(engine: Engine, **execution_options: Any) -> Iterator[Connection]:
    """A connection inside a read-only transaction that is always rolled back."""
    try:
        conn = engine.connect()
    except exc.DBAPIError as error:
        raise connect_error(error) from error
    with conn, sql_errors():
        if execution_options:
            conn.execution_options(**execution_options)
        _start_read_only(conn)
        try:
            yield conn
        finally:
            conn.rollback()


_AUTH_HINTS = (
    "password authentication failed",
    "access denied for user",
    "login failed",
    "no password supplied",
    "authentication failed",
)
_UNKNOWN_DATABASE_HINTS = (
    "unknown database",
    "cannot open database",
    "unable to open database file",
)
_READ_ONLY_HINTS = ("read-only", "read only", "readonly")
_TRANSIENT_HINTS = (
    "timeout",
    "timed out",
    "lost connection",
    "gone away",
    "connection refused",
    "could not connect",
    "connection reset",
    "server closed the connection",
    "deadlock",
    "could not serialize",
    "communication link failure",
    "too many connections",
)


def _driver_message(error: exc.DBAPIError) -> str:
    text = str(error.orig) if error.orig is not None else str(error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


def connect_error(error: exc.DBAPIError) -> ConnectorError:
    """Classify a failure to open a connection."""
    message = _driver_message(error)
    lowered = message.lower()
    unknown_role = "role" in lowered and "does not exist" in lowered
    if unknown_role or any(hint in lowered for hint in _AUTH_HINTS):
        return AuthenticationError(N_("The database refused the login: %(error)s"), error=message)
    if any(hint in lowered for hint in _UNKNOWN_DATABASE_HINTS) or (
        "database" in lowered and "does not exist" in lowered
    ):
        return ConfigurationError(N_("The database does not exist: %(error)s"), error=message)
    return TransientError(N_("Could not connect to the database: %(error)s"), error=message)


def statement_error(error: exc.DBAPIError) -> ConnectorError:
    """Classify a failed statement."""
    message = _driver_message(error)
    lowered = message.lower()
    if any(hint in lowered for hint in _READ_ONLY_HINTS):
        return ConnectorError(
            N_(
                "The query tried to change data and the database refused it; "
                "connectors only read. (%(error)s)"
            ),
            error=message,
        )
    if error.connection_invalidated or any(hint in lowered for hint in _TRANSIENT_HINTS):
        return TransientError(N_("The database connection failed: %(error)s"), error=message)
    if isinstance(error, exc.DataError):
        return DataError(N_("The database could not compute a value: %(error)s"), error=message)
    return ConfigurationError(N_("The database rejected the query: %(error)s"), error=message)


@contextmanager
def sql_errors() -> Iterator[None]:
    """Turn SQLAlchemy/driver exceptions raised inside the block into connector errors."""
    try:
        yield
    except exc.DBAPIError as error:
        raise statement_error(error) from error
    except exc.SQLAlchemyError as error:
        raise ConfigurationError(
            N_("The query could not be built: %(error)s"), error=str(error)
        ) from error


# --- the static check of a user's SELECT --------------------------------------------

# Words that only occur in statements that write, change the schema, run code or change
# session state. A SELECT that contains one as a bare word is refused; quoted names and
# text inside string literals or comments are not looked at.
FORBIDDEN_WORDS = frozenset((
    "insert", "update", "delete", "merge", "upsert", "create", "alter", "drop", "truncate",
    "rename", "grant", "revoke", "deny", "exec", "execute", "call", "copy", "into", "load",
    "outfile", "dumpfile", "lock", "unlock", "attach", "detach", "pragma", "vacuum",
    "reindex", "set", "declare", "prepare", "deallocate", "begin", "commit", "rollback",
    "save", "savepoint", "shutdown", "kill", "backup", "restore", "dbcc", "openrowset",
    "opendatasource", "openquery", "xp_cmdshell", "sp_executesql",
))  # fmt: skip
_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9$]*")


def _mask(sql: str, *, backslash_escapes: bool) -> str:
    """``sql`` with string literals, quoted names and comments blanked out.

    Two readings exist because databases disagree: the standard one ('' doubles a
    quote, ``--`` starts a comment, block comments nest, no [brackets]) and the
    MySQL/T-SQL one (backslash escapes, ``-- `` needs a space, block comments do not
    nest, [bracketed] and `backticked` names). A query is accepted only when both
    readings pass, so text that one database would run is never hidden by the other.
    """
    out = list(sql)
    i, n = 0, len(sql)
    closers = {"'": "'", '"': '"'}
    if backslash_escapes:
        closers.update({"`": "`", "[": "]"})
    while i < n:
        ch = sql[i]
        if sql.startswith("/*", i):
            if sql.startswith(("/*!", "/*M!"), i):
                raise ConfigurationError(
                    N_("The query contains a MySQL executable comment (/*! ... */); remove it.")
                )
            end = _block_comment_end(sql, i, nested=not backslash_escapes)
        elif sql.startswith("--", i) and (
            not backslash_escapes or i + 2 >= n or sql[i + 2] in " \t\r\n"
        ):
            end = sql.find("\n", i)
            end = n if end < 0 else end
        elif ch in closers:
            end = _quoted_end(sql, i, closers[ch], backslash_escapes and ch in "'\"")
        else:
            i += 1
            continue
        for j in range(i, end):
            if out[j] not in "\r\n":
                out[j] = " "
        i = end
    return "".join(out)


def _block_comment_end(sql: str, start: int, *, nested: bool) -> int:
    depth, i = 0, start
    while i < len(sql):
        if sql.startswith("/*", i):
            depth = depth + 1 if nested or depth == 0 else depth
            i += 2
        elif sql.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    raise ConfigurationError(N_("The query has a comment that is never closed."))


def _quoted_end(sql: str, start: int, closer: str, backslash: bool) -> int:
    i = start + 1
    while i < len(sql):
        ch = sql[i]
        if backslash and ch == "\\":
            i += 2
            continue
        if ch == closer:
            if sql.startswith(closer * 2, i):
                i += 2
                continue
            return i + 1
        i += 1
    raise ConfigurationError(N_("The query has a quote that is never closed."))


def check_select(sql: str, label: str) -> str:
    """Refuse anything but one SELECT/WITH statement; return it without a final ``;``.

    This check catches mistakes and the obvious attempts; the read-only transaction
    (or the read-only database user on SQL Server) is the guard that holds.
    """
    name = Message(label)
    if not sql or not sql.strip():
        raise ConfigurationError(N_("%(name)s is empty."), name=name)
    body = sql.strip()
    for backslash in (False, True):
        masked = _mask(body, backslash_escapes=backslash).rstrip()
        if masked.endswith(";"):
            masked = masked[:-1].rstrip()
        if ";" in masked:
            raise ConfigurationError(
                N_("%(name)s must be a single SELECT statement (found a ';' between statements)."),
                name=name,
            )
        first = _WORD.match(masked.lstrip(" \t\r\n("))
        if first is None or first.group().lower() not in ("select", "with"):
            raise ConfigurationError(N_("%(name)s must start with SELECT or WITH."), name=name)
        words = {w.lower() for w in _WORD.findall(masked)}
        bad = sorted(words & FORBIDDEN_WORDS)
        if bad:
            raise ConfigurationError(
                N_("%(name)s may only read; it contains %(words)s."),
                name=name,
                words=[w.upper() for w in bad],
            )
    if body.endswith(";") and _mask(body, backslash_escapes=False).rstrip().endswith(";"):
        body = body[:-1].rstrip()
    return body


# --- values ---------------------------------------------------------------------------


def chunks(items: Sequence[T], size: int = MAX_IN_LIST) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(N_("Unknown time zone: %(name)s"), name=name) from None


def positive_int(value: Any, label: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigurationError(
            N_("%(name)s must be a whole number."), name=Message(label)
        ) from None
    if number < 1:
        raise ConfigurationError(N_("%(name)s must be at least 1."), name=Message(label))
    return number


def json_object(value: Any, label: str) -> dict[str, Any]:
    """A JSON setting given as a dict or as JSON text; empty means {}."""
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ConfigurationError(
                N_("%(name)s is not valid JSON."), name=Message(label)
            ) from None
    if not isinstance(value, Mapping):
        raise ConfigurationError(N_("%(name)s must be a JSON object."), name=Message(label))
    return dict(value)


def text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def identifier(value: Any) -> str:
    """An external id as text; integral numbers lose their decimals (12.0 -> '12')."""
    if value is None:
        raise ValueError(Message(N_("is empty")))
    if isinstance(value, bool):
        raise ValueError(Message(N_("is not an identifier")))
    if isinstance(value, (int, Decimal, float)):
        number = Decimal(str(value))
        if number == number.to_integral_value():
            return str(int(number))
        return str(number)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    text = str(value).strip()
    if not text:
        raise ValueError(Message(N_("is empty")))
    return text


def to_decimal(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(Message(N_("is not a number")))
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(Message(N_("is not a number: %(value)r"), value=value)) from None
    if not number.is_finite():
        raise ValueError(Message(N_("is not a finite number: %(value)r"), value=value))
    return number


def to_utc(value: Any, local: ZoneInfo) -> datetime | None:
    """A timezone-aware UTC datetime; naive values are read as ``local`` time."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(Message(N_("is not a date/time: %(value)r"), value=value)) from None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if not isinstance(value, datetime):
        raise ValueError(Message(N_("is not a date/time: %(value)r"), value=value))
    if value.tzinfo is None:
        value = value.replace(tzinfo=local)
    return value.astimezone(UTC)


_TRUE = {"1", "y", "yes", "j", "ja", "true", "t", "x"}
_FALSE = {"0", "n", "no", "nein", "false", "f", ""}


def to_bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, (bool, int)):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(Message(N_("is not yes/no: %(value)r"), value=value))
