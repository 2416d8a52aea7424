"""Runs a connector and upserts its records (PRODUCT.md D3, D4).

Each batch a connector yields is stored together with the cursor that follows it,
in one transaction: a crash loses at most the batch in flight and the next run
resumes from the last committed cursor. Upserts by (source, external id) make a
re-read harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from wawi_connectors import (
    Batch,
    ConnectorError,
    CustomerRecord,
    OrderRecord,
    ProductRecord,
    ReadContext,
    get_connector_class,
)

from .extensions import db
from .models import (
    Company,
    ConnectorConfig,
    Customer,
    Order,
    OrderLine,
    Product,
    ProductGroup,
    SyncCursor,
    SyncRun,
    utcnow,
)

LOOKBACK_DAYS = 30
Progress = Callable[[str, int], None]


class SyncFailed(Exception):
    """The run stopped; the message names the cause. Committed batches stay."""


@dataclass
class SyncResult:
    run: SyncRun
    rows: dict[str, int]


def _insert(model):
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def _upsert(model, rows: list[dict[str, Any]], keys: list[str]) -> None:
    if not rows:
        return
    stmt = _insert(model)
    update = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    stmt = (
        stmt.on_conflict_do_update(index_elements=keys, set_=update)
        if update
        else stmt.on_conflict_do_nothing(index_elements=keys)
    )
    db.session.execute(stmt, rows)


class _Names:
    """Resolves company and product group names to ids, creating them once."""

    def __init__(self, model) -> None:
        self.model = model
        self.ids: dict[str, int] = dict(
            db.session.execute(select(model.name, model.id)).tuples().all()
        )

    def ids_for(self, names: Iterable[str | None]) -> dict[str, int]:
        new = {n for n in names if n and n not in self.ids}
        if new:
            _upsert(self.model, [{"name": n} for n in sorted(new)], ["name"])
            self.ids.update(
                db.session.execute(
                    select(self.model.name, self.model.id).where(self.model.name.in_(new))
                )
                .tuples()
                .all()
            )
        return self.ids


def _customer_row(source: str, r: CustomerRecord) -> dict[str, Any]:
    return {
        "source": source,
        "external_id": r.external_id,
        "number": r.number,
        "first_name": r.first_name,
        "last_name": r.last_name,
        "company_name": r.company_name,
        "email": (r.email or "").strip().lower() or None,
        "phone": r.phone,
        "mobile": r.mobile,
        "city": r.city,
        "country": (r.country or "")[:2].upper() or None,
        "customer_group": r.customer_group,
        "marketing_consent": r.marketing_consent,
        "updated_at": utcnow(),
    }


class Store:
    """Writes one connector's records; keeps name → id lookups for the run."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.companies = _Names(Company)
        self.groups = _Names(ProductGroup)

    def customers(self, records: list[CustomerRecord]) -> None:
        _upsert(
            Customer,
            [_customer_row(self.source, r) for r in records],
            ["source", "external_id"],
        )

    def products(self, records: list[ProductRecord]) -> None:
        groups = self.groups.ids_for(r.product_group for r in records)
        _upsert(
            Product,
            [
                {
                    "source": self.source,
                    "sku": r.sku,
                    "name": r.name,
                    "product_group_id": groups.get(r.product_group or ""),
                }
                for r in records
            ],
            ["source", "sku"],
        )

    def _customer_ids(self, external_ids: set[str]) -> dict[str, int]:
        found = dict(
            db.session.execute(
                select(Customer.external_id, Customer.id).where(
                    Customer.source == self.source, Customer.external_id.in_(external_ids)
                )
            )
            .tuples()
            .all()
        )
        missing = external_ids - found.keys()
        if missing:
            # An order may arrive before its customer: keep it, details follow later.
            self.customers([CustomerRecord(external_id=e) for e in sorted(missing)])
            return self._customer_ids(external_ids)
        return found

    def orders(self, records: list[OrderRecord]) -> None:
        customers = self._customer_ids({r.customer_external_id for r in records})
        companies = self.companies.ids_for(r.company for r in records)
        groups = self.groups.ids_for(line.product_group for r in records for line in r.lines)
        _upsert(
            Order,
            [
                {
                    "source": self.source,
                    "external_id": r.external_id,
                    "number": r.number,
                    "customer_id": customers[r.customer_external_id],
                    "company_id": companies.get(r.company or ""),
                    "ordered_at": r.ordered_at,
                    "currency": r.currency,
                    "net_total": r.net_total,
                    "gross_total": r.gross_total,
                    "state": r.state,
                    "updated_at": utcnow(),
                }
                for r in records
            ],
            ["source", "external_id"],
        )
        order_ids = dict(
            db.session.execute(
                select(Order.external_id, Order.id).where(
                    Order.source == self.source,
                    Order.external_id.in_([r.external_id for r in records]),
                )
            )
            .tuples()
            .all()
        )
        db.session.execute(delete(OrderLine).where(OrderLine.order_id.in_(order_ids.values())))
        lines = [
            {
                "order_id": order_ids[r.external_id],
                "line_no": line.line_no,
                "sku": line.sku,
                "product_name": line.product_name,
                "product_group_id": groups.get(line.product_group or ""),
                "quantity": line.quantity,
                "net_amount": line.net_amount,
                "gross_amount": line.gross_amount,
            }
            for r in records
            for line in r.lines
        ]
        if lines:
            db.session.execute(_insert(OrderLine), lines)

    def batch(self, batch: Batch) -> int:
        by_type: dict[type, list] = {CustomerRecord: [], ProductRecord: [], OrderRecord: []}
        for record in batch.records:
            by_type[type(record)].append(record)
        self.customers(by_type[CustomerRecord])
        self.products(by_type[ProductRecord])
        if by_type[OrderRecord]:
            self.orders(by_type[OrderRecord])
        return len(batch.records)


def build_connector(cfg: ConnectorConfig):
    return get_connector_class(cfg.kind)(cfg.settings)


def _save_cursor(cfg: ConnectorConfig, stream: str, value: str | None) -> None:
    cursor = db.session.get(SyncCursor, (cfg.id, stream))
    if cursor is None:
        db.session.add(SyncCursor(connector_id=cfg.id, stream=stream, value=value))
    else:
        cursor.value = value


def run_sync(
    cfg: ConnectorConfig,
    full: bool = False,
    progress: Progress | None = None,
    lookback_days: int = LOOKBACK_DAYS,
    job_id: int | None = None,
) -> SyncResult:
    """Sync every stream of ``cfg``; raises SyncFailed after logging the error."""
    run = SyncRun(connector_id=cfg.id, full=full, state="running", rows={}, job_id=job_id)
    db.session.add(run)
    db.session.commit()
    rows: dict[str, int] = {}
    store = Store(cfg.name)
    connector = None
    try:
        connector = build_connector(cfg)
        for stream in connector.streams:
            stored = db.session.get(SyncCursor, (cfg.id, stream))
            context = ReadContext(
                cursor=None if full or stored is None else stored.value,
                lookback_since=utcnow() - timedelta(days=lookback_days),
            )
            rows.setdefault(stream, 0)
            for batch in connector.read(stream, context):
                rows[stream] += store.batch(batch)
                _save_cursor(cfg, stream, batch.cursor)
                run.rows = dict(rows)
                db.session.commit()  # the batch and its cursor, together
                if progress:
                    progress(stream, rows[stream])
    except ConnectorError as exc:
        db.session.rollback()
        _finish(run, rows, "failed", str(exc))
        raise SyncFailed(str(exc)) from exc
    except Exception as exc:
        db.session.rollback()
        _finish(run, rows, "failed", f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if connector is not None:
            connector.close()
    _finish(run, rows, "done", None)
    return SyncResult(run, rows)


def _finish(run: SyncRun, rows: dict[str, int], state: str, error: str | None) -> None:
    run = db.session.merge(run)
    run.rows = dict(rows)
    run.state = state
    run.error = error
    run.finished_at = utcnow()
    db.session.commit()
