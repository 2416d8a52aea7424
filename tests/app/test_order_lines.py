"""The order lines the analysis reads: the same frame from SQLite and from PostgreSQL.

PostgreSQL reads Arrow (ADBC) and joins by position in numpy, SQLite reads the joined
statement through pandas; for the same stored rows both give the same frame: columns,
dtypes (categories included), values and row order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from recovery import create_app
from recovery.cases import order_lines
from recovery.cases.order_lines import load_lines
from recovery.extensions import db as _db
from recovery.models import Company, Customer, Order, OrderLine, ProductGroup, business_tz


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _store() -> None:
    """A small history with every case the reading must get right, written in an order
    that is not the (order id, line number) order."""
    s = _db.session
    north, south = Company(name="Nord GmbH"), Company(name="Süd KG")
    seeds, soil, unused = (ProductGroup(name=n) for n in ("Saatgut", "Erde", "Ungenutzt"))
    s.add_all([north, south, seeds, soil, unused])
    s.flush()
    people = [
        Customer(source="t", external_id="K1", last_name="Ärger", customer_group="Händler"),
        Customer(source="t", external_id="K2", last_name="Bauer", customer_group="Endkunde"),
        Customer(source="t", external_id="K3", last_name="Clausen", customer_group=None),
    ]
    s.add_all(people)
    s.flush()

    def order(n, who, when, company, state, lines):
        o = Order(
            source="t",
            external_id=f"A{n}",
            customer_id=who.id,
            company_id=company.id if company else None,
            ordered_at=when,
            net_total=Decimal("0"),
            state=state,
        )
        s.add(o)
        s.flush()
        for line_no, group, net, gross, line_state in lines:
            s.add(
                OrderLine(
                    order_id=o.id,
                    line_no=line_no,
                    product_group_id=group.id if group else None,
                    net_amount=Decimal(net),
                    gross_amount=None if gross is None else Decimal(gross),
                    state=line_state,
                )
            )
            s.flush()  # one statement per line: the rows land in this order
        return o

    # lines out of order within an order; a line without group, without gross; a cancelled
    # position of a completed order; 23:30 UTC is the next day in Berlin (winter and summer)
    order(1, people[0], _utc(2024, 1, 10, 23, 30), north, "completed", [
        (2, soil, "12.50", "14.88", None),
        (1, seeds, "100.00", "119.00", None),
        (3, None, "5.00", None, "cancelled"),
    ])  # fmt: skip
    order(2, people[1], _utc(2024, 6, 30, 22, 15), None, "open", [(1, soil, "30.00", None, None)])
    order(3, people[2], _utc(2024, 3, 31, 0, 30), south, "returned", [
        (1, seeds, "0.10", "0.12", None),
    ])  # fmt: skip
    order(4, people[0], _utc(2024, 12, 31, 23, 59, 59), south, "completed", [
        (1, seeds, "77.70", "92.46", None),
    ])  # fmt: skip
    order(5, people[1], _utc(2025, 2, 1, 8), north, "completed", [(1, seeds, "1.00", "1.19", None)])
    s.commit()


def _frames(as_of: datetime | None, gross: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    tz = business_tz()
    return load_lines(tz, as_of, gross), order_lines._read_sql_lines(as_of, tz, gross)


def _odd_states() -> None:
    """States the analysis reads no code for: written as the sources may spell them (the
    analyser takes them case-insensitively), on an order and on a line; and line numbers
    and an order id at the ends of their range (the Arrow read packs them into one key)."""
    s = _db.session
    people = s.scalars(select(Customer).order_by(Customer.id)).all()
    order = Order(
        id=2**31 - 1,
        source="t",
        external_id="A6",
        customer_id=people[2].id,
        ordered_at=_utc(2024, 5, 5, 12),
        net_total=Decimal("0"),
        state="Completed",
    )
    s.add(order)
    s.flush()
    s.add(OrderLine(order_id=order.id, line_no=1, net_amount=Decimal("3.00"), state="Returned"))
    s.add(OrderLine(order_id=order.id, line_no=2**31 - 1, net_amount=Decimal("4.00")))
    s.add(OrderLine(order_id=order.id, line_no=-(2**31), net_amount=Decimal("5.00")))
    s.add(OrderLine(order_id=order.id, line_no=0, net_amount=Decimal("6.00")))
    s.commit()


@pytest.mark.parametrize("gross", [True, False])
@pytest.mark.parametrize("odd_states", [False, True])
@pytest.mark.parametrize("as_of", [None, _utc(2024, 12, 31, 23, 59, 59)])
def test_sqlite_and_postgresql_give_the_same_frame(as_of, odd_states, gross, app, db, tmp_path):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("compares with PostgreSQL: set TEST_DATABASE_URL")
    _store()
    if odd_states:
        _odd_states()
    postgres, generic = _frames(as_of, gross)  # the Arrow path, and pandas on the same database

    lite = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'l.db'}")
    with lite.app_context():
        _db.create_all()
        _store()
        if odd_states:
            _odd_states()
        sqlite = load_lines(business_tz(), as_of, gross)
        _db.engine.dispose()

    pd.testing.assert_frame_equal(postgres, sqlite, check_exact=True)
    pd.testing.assert_frame_equal(postgres, generic, check_exact=True)
    assert list(postgres.columns) == order_lines.columns(gross)
    assert ("gross_amount" in postgres) is gross
    assert postgres["ordered_at"].dtype == np.dtype("M8[ns]")
    assert postgres["customer_id"].dtype == postgres["order_id"].dtype == np.dtype("int64")
    states = {"cancelled", "completed", "open", "returned"}
    if odd_states:
        states |= {"Completed", "Returned"}
    assert set(postgres["state"].cat.categories) == states
    if odd_states:  # ordered by line number, the lowest first
        last = postgres[postgres["order_id"] == 2**31 - 1]
        assert last["net_amount"].tolist() == [5.0, 6.0, 3.0, 4.0]


def test_states_are_read_as_codes_and_words_only_when_needed(db):
    """On PostgreSQL the states come as small integers (no string per line or order);
    a table with a word outside ORDER_STATES is read once more with its words."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the Arrow read: set TEST_DATABASE_URL")
    _store()
    tables = order_lines._read_arrow(None, gross=False)
    assert str(tables["orders"]["state"].type) == str(tables["lines"]["state"].type) == "int16"
    assert "gross_amount" not in tables["lines"].column_names
    _odd_states()
    tables = order_lines._read_arrow(None, gross=True)
    assert str(tables["orders"]["state"].type) == str(tables["lines"]["state"].type) == "string"
    assert "gross_amount" in tables["lines"].column_names


def test_the_frame_without_gross_amounts_is_the_frame_without_its_column(db):
    _store()
    full = load_lines(business_tz())
    net = load_lines(business_tz(), gross=False)
    pd.testing.assert_frame_equal(net, full.drop(columns="gross_amount"), check_exact=True)


def test_the_frame_itself(db):
    """What the frame holds, on whichever database the suite runs."""
    _store()
    lines = load_lines(business_tz(), _utc(2024, 12, 31, 23, 59, 59))
    # order 5 is after the cut; lines by order, then line number
    assert len(lines) == 6
    assert lines.groupby("order_id", sort=False).size().tolist() == [3, 1, 1, 1]
    first = lines[lines["order_id"] == lines["order_id"].min()]
    assert first["net_amount"].tolist() == [100.0, 12.5, 5.0]
    assert first["product_group"].astype(object).tolist()[:2] == ["Saatgut", "Erde"]
    assert pd.isna(first["product_group"].iloc[2]) and np.isnan(first["gross_amount"].iloc[2])
    assert first["state"].astype(str).tolist() == ["completed", "completed", "cancelled"]
    # 23:30 UTC on 10 January is 00:30 on the 11th in Berlin; summer time likewise
    assert first["ordered_at"].iloc[0] == pd.Timestamp("2024-01-11 00:30")
    assert pd.Timestamp("2024-07-01 00:15") in set(lines["ordered_at"])
    assert lines["company"].cat.categories.tolist() == ["Nord GmbH", "Süd KG"]
    assert lines["product_group"].cat.categories.tolist() == ["Erde", "Saatgut"]  # used ones
    assert lines["state"].cat.categories.tolist() == ["cancelled", "completed", "open", "returned"]
    assert lines["customer_group"].astype(object).isna().sum() == 1  # Clausen has none


def test_positions_join_by_key():
    ids = np.array([7, 3, 10_000_000_000, 5])  # sparse: the sorted path
    assert order_lines._positions(ids, np.array([5, 7, 8, 10_000_000_000])).tolist() == [
        3,
        0,
        -1,
        2,
    ]
    dense = np.array([12, 10, 11])  # a direct table
    assert order_lines._positions(dense, np.array([11, 9, 13, 12])).tolist() == [2, -1, -1, 0]


def test_no_orders_give_an_empty_frame(db):
    lines = load_lines(business_tz())
    assert list(lines.columns) == list(order_lines.COLUMNS) and len(lines) == 0
    assert lines["ordered_at"].dtype == np.dtype("M8[ns]")
