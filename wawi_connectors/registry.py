"""Maps a connector kind to its class; each connector module registers itself."""

from __future__ import annotations

import importlib
import pkgutil

from .base import N_, ConfigurationError, Connector

_REGISTRY: dict[str, type[Connector]] = {}
_loaded = False


def register(cls: type[Connector]) -> type[Connector]:
    """Class decorator: make a connector available under its ``kind``."""
    _REGISTRY[cls.kind] = cls
    return cls


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    package = importlib.import_module(__package__)
    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in {"base", "records", "registry", "http"}:
            importlib.import_module(f"{__package__}.{module.name}")
    _loaded = True


def connector_kinds() -> dict[str, type[Connector]]:
    _load_builtin()
    return dict(sorted(_REGISTRY.items()))


def get_connector_class(kind: str) -> type[Connector]:
    _load_builtin()
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise ConfigurationError(N_("Unknown connector type: %(kind)s"), kind=kind) from None
