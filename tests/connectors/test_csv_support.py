"""Helpers shared by the CSV connector tests (no tests here)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wawi_connectors import Batch, ReadContext
from wawi_connectors.csv_file import CsvFileConnector

DATA = Path(__file__).parent / "data"


def write(folder: Path, text: str, name: str = "export.csv", encoding: str = "utf-8-sig") -> Path:
    """A CSV file as an export would write it (UTF-8 with BOM unless told otherwise)."""
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def batches(path: Path, stream: str, cursor: str | None = None, **settings: Any) -> list[Batch]:
    connector = CsvFileConnector({"path": str(path), **settings})
    try:
        return list(connector.read(stream, ReadContext(cursor=cursor)))
    finally:
        connector.close()


def records(path: Path, stream: str, **settings: Any) -> list[Any]:
    return [record for batch in batches(path, stream, **settings) for record in batch.records]


def orders_by_number(path: Path, **settings: Any) -> dict[str, Any]:
    return {order.number: order for order in records(path, "orders", **settings)}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)
