"""Analysis settings (PRODUCT.md A1–A4, A7, A8): defaults, validation and help texts.

Every field carries metadata for the admin page: a German and English label and help
text (shown on hover), its type, bounds and choices. ``from_dict`` accepts what a form
or a stored JSON document holds and raises :class:`SettingsError` naming the field.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .settings_text import TEXTS

LOCALES = ("de", "en")
COMPARISONS = ("previous_period", "same_period_last_year")
_TEXT_KEYS = ("label_de", "label_en", "help_de", "help_en")


class SettingsError(ValueError):
    """Invalid settings; ``errors`` maps each offending field to a message (English)."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{name}: {msg}" for name, msg in self.errors.items()))

    @property
    def field(self) -> str:
        """The first offending field (convenient when only one is wrong)."""
        return next(iter(self.errors))


@dataclass(frozen=True)
class FieldInfo:
    """Metadata of one setting, for forms and hover help."""

    name: str
    section: str
    type: str  # int | float | choice | bool | list | mapping | str
    default: Any
    label_de: str
    label_en: str
    help_de: str
    help_en: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()

    def label(self, locale: str = "de") -> str:
        return self.label_en if locale.startswith("en") else self.label_de

    def help(self, locale: str = "de") -> str:
        return self.help_en if locale.startswith("en") else self.help_de


def _setting(
    default: Any,
    section: str,
    kind: str,
    lo: float | None = None,
    hi: float | None = None,
    choices: tuple[str, ...] = (),
) -> Any:
    """A dataclass field with its form metadata; the texts come from ``settings_text``."""
    meta = {"section": section, "type": kind, "min": lo, "max": hi, "choices": choices}
    if isinstance(default, dict):
        return field(default_factory=dict, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class AnalysisSettings:
    """Rules of the analyser; the defaults suit a typical shop. See ``settings_text``."""

    # A1 revenue decline
    window_months: int = _setting(12, "decline", "int", 1, 60)
    comparison: str = _setting("previous_period", "decline", "choice", choices=COMPARISONS)
    min_decline_pct: float = _setting(30.0, "decline", "float", 0, 100)
    min_reference_revenue: float = _setting(500.0, "decline", "float", 0, 1e12)
    min_reference_orders: int = _setting(2, "decline", "int", 1, 10_000)
    amount_basis: str = _setting("net", "decline", "choice", choices=("net", "gross"))
    # A2 overdue by rhythm
    overdue_tolerance: float = _setting(1.5, "overdue", "float", 1, 20)
    min_orders_for_rhythm: int = _setting(2, "overdue", "int", 1, 1000)
    group_default_intervals: dict[str, int] = _setting({}, "overdue", "mapping", 1, 3650)
    max_overdue_days: int = _setting(730, "overdue", "int", 1, 36_500)
    # A8 seasonal customers and product groups (see ``season``)
    season_max_months: int = _setting(4, "season", "int", 0, 11)
    season_min_share: float = _setting(90.0, "season", "float", 50, 100)
    season_min_years: int = _setting(2, "season", "int", 2, 20)
    season_min_order_days: int = _setting(3, "season", "int", 2, 1000)
    # A3 model
    horizon_days: int = _setting(180, "model", "int", 7, 1825)
    # A4 exclusions
    include_customer_groups: tuple[str, ...] = _setting((), "exclusions", "list")
    exclude_customer_groups: tuple[str, ...] = _setting((), "exclusions", "list")
    include_companies: tuple[str, ...] = _setting((), "exclusions", "list")
    exclude_companies: tuple[str, ...] = _setting((), "exclusions", "list")
    exclude_open_orders: bool = _setting(True, "exclusions", "bool")
    no_interest_days: int = _setting(180, "exclusions", "int", 0, 3650)  # applied by the app
    # presentation
    locale: str = _setting("de", "general", "choice", choices=LOCALES)
    currency: str = _setting("EUR", "general", "str")

    _TRUE: ClassVar[frozenset[str]] = frozenset({"1", "true", "yes", "on", "ja"})
    _FALSE: ClassVar[frozenset[str]] = frozenset({"0", "false", "no", "off", "nein", ""})

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        for info in self.fields():
            try:
                value = _check(info, getattr(self, info.name))
            except ValueError as exc:
                errors[info.name] = str(exc)
            else:
                object.__setattr__(self, info.name, value)
        if errors:
            raise SettingsError(errors)

    @classmethod
    def fields(cls) -> tuple[FieldInfo, ...]:
        """Metadata of every setting, in display order."""
        out = []
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            texts = dict(zip(_TEXT_KEYS, TEXTS[f.name], strict=True))
            out.append(FieldInfo(name=f.name, default=_jsonable(default), **texts, **f.metadata))
        return tuple(out)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, *, strict: bool = False) -> AnalysisSettings:
        """Build from stored JSON or form values; missing keys take their defaults.

        Unknown keys are ignored (old stored documents keep loading) unless ``strict``.
        """
        data = dict(data or {})
        names = {f.name for f in dataclasses.fields(cls)}
        errors: dict[str, str] = {}
        if strict:
            errors.update({key: "unknown setting" for key in data if key not in names})
        values = {}
        for info in cls.fields():
            if info.name in data:
                try:
                    values[info.name] = _coerce(info, data[info.name])
                except ValueError as exc:
                    errors[info.name] = str(exc)
        if errors:
            raise SettingsError(errors)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe values (tuples become lists)."""
        return {info.name: _jsonable(getattr(self, info.name)) for info in self.fields()}

    def __hash__(self) -> int:  # the mapping field is a dict; hash its JSON form instead
        return hash(repr(sorted(self.to_dict().items())))


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


def _coerce(info: FieldInfo, value: Any) -> Any:
    """Turn form/JSON input into the field's Python type (strings are accepted)."""
    if info.type == "bool" and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in AnalysisSettings._TRUE:
            return True
        if lowered in AnalysisSettings._FALSE:
            return False
        raise ValueError(f"expected yes/no, got {value!r}")
    if info.type in ("int", "float") and isinstance(value, str):
        return _parse_number(value)
    if info.type == "list" and isinstance(value, str):
        return tuple(part for part in (p.strip() for p in value.split(",")) if part)
    if info.type == "mapping" and isinstance(value, str):
        return _parse_mapping(value)
    return value


def _parse_number(text: str) -> float:
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "")
    if "," in cleaned:  # German decimal comma, optionally with '.' thousands separators
        cleaned = cleaned.replace(".", "").replace(",", ".")
    try:
        return float(cleaned)
    except ValueError:
        raise ValueError(f"not a number: {text!r}") from None


def _parse_mapping(text: str) -> dict[str, float]:
    """'Obst=14, Kaffee=30' (or ':' instead of '=') → {'Obst': 14, 'Kaffee': 30}."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in re.split(r"[,;\n]", text))):
        key, sep, days = part.rpartition("=") if "=" in part else part.rpartition(":")
        if not sep or not key.strip():
            raise ValueError(f"expected 'group=days', got {part!r}")
        out[key.strip()] = _parse_number(days)
    return out


def _check(info: FieldInfo, value: Any) -> Any:
    """Validate one (already coerced) value and return its canonical form."""
    if info.type == "bool":
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if info.type in ("int", "float"):
        return _check_number(info, value)
    if info.type == "choice":
        if value not in info.choices:
            raise ValueError(f"must be one of {', '.join(info.choices)}")
        return value
    if info.type == "str":  # currency is the only free string
        if not (isinstance(value, str) and re.fullmatch(r"[A-Z]{3}", value)):
            raise ValueError("must be a three-letter ISO currency code such as EUR")
        return value
    if info.type == "list":
        if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
            raise ValueError("must be a list of names")
        if not all(isinstance(v, str) for v in value):
            raise ValueError("must contain names (text) only")
        return tuple(v.strip() for v in value if v.strip())
    if not isinstance(value, Mapping):  # mapping
        raise ValueError("must map product group names to days")
    out = {}
    for key, days in value.items():
        if not isinstance(key, str) or not key.strip():
            raise ValueError("product group names must be non-empty text")
        days = _parse_number(days) if isinstance(days, str) else days
        try:
            out[key.strip()] = _check_number(info, days)
        except ValueError as exc:
            raise ValueError(f"{key}: {exc}") from None
    return out


def _check_number(info: FieldInfo, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    if not math.isfinite(value):  # NaN, inf (1e309 reads as inf)
        raise ValueError("must be a number")
    if info.type == "int" or info.type == "mapping":
        if value != int(value):
            raise ValueError("must be a whole number")
        value = int(value)
    else:
        value = float(value)
    if info.min is not None and value < info.min:
        raise ValueError(f"must be at least {info.min:g}")
    if info.max is not None and value > info.max:
        raise ValueError(f"must be at most {info.max:g}")
    return value
