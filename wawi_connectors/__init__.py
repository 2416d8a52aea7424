"""Framework-free connectors that read customers and orders from WaWi and shop systems."""

from .base import (
    N_,
    AuthenticationError,
    Batch,
    ConfigurationError,
    Connector,
    ConnectorError,
    DataError,
    Message,
    ReadContext,
    RowError,
    SettingField,
    TransientError,
)
from .records import CustomerRecord, Limits, OrderLineRecord, OrderRecord, ProductRecord
from .registry import connector_kinds, get_connector_class, register

__all__ = [
    "AuthenticationError",
    "Batch",
    "ConfigurationError",
    "Connector",
    "ConnectorError",
    "CustomerRecord",
    "DataError",
    "Message",
    "Limits",
    "N_",
    "OrderLineRecord",
    "OrderRecord",
    "ProductRecord",
    "ReadContext",
    "RowError",
    "SettingField",
    "TransientError",
    "connector_kinds",
    "get_connector_class",
    "register",
]
