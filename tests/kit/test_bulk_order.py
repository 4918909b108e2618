"""``upsert_adding`` writes its rows in key order whatever order they are given in, staged or not:
``ON CONFLICT DO UPDATE`` locks each taken row as the statement meets it, so two writers of the same
counters (the reservation writer, the settlement of holds) lock them in one order and never deadlock.
A trigger logs the order the database meets the rows in."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from neigou.kit import bulk
from tests.kit.test_bulk import Item, row, session

__all__ = ["session"]  # the fixture, used by name

PG_TRIGGER = [
    "CREATE TABLE kit_bulk_met (seq serial PRIMARY KEY, code text)",
    "CREATE FUNCTION kit_bulk_meet() RETURNS trigger AS $$ BEGIN "
    "INSERT INTO kit_bulk_met (code) VALUES (NEW.code); RETURN NEW; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER kit_bulk_meet BEFORE INSERT ON kit_bulk_items "
    "FOR EACH ROW EXECUTE FUNCTION kit_bulk_meet()",
]
LITE_TRIGGER = [
    "CREATE TABLE kit_bulk_met (seq INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT)",
    "CREATE TRIGGER kit_bulk_meet BEFORE INSERT ON kit_bulk_items "
    "BEGIN INSERT INTO kit_bulk_met (code) VALUES (NEW.code); END",
]


@pytest.mark.parametrize("count", [3, bulk.STAGE_FROM + 5])  # one INSERT, then staged on PostgreSQL
def test_upsert_adding_meets_rows_in_key_order(session: Session, count: int) -> None:
    dialect = session.connection().dialect.name
    for statement in PG_TRIGGER if dialect == "postgresql" else LITE_TRIGGER:
        session.execute(text(statement))
    codes = [f"a{i:03d}" for i in range(count)]
    given = [row(c, batch=i, n=i) for i, c in reversed(list(enumerate(codes)))]  # against key order
    bulk.upsert_adding(session, Item, given, key=("code",), add="n")
    bulk.upsert_adding(session, Item, given, key=("code",), add="n")  # every key taken: DO UPDATE
    met = list(session.scalars(text("SELECT code FROM kit_bulk_met ORDER BY seq")))
    session.rollback()  # on PostgreSQL the trigger and its table go with the transaction
    if dialect != "postgresql":  # SQLite's driver commits before DDL: drop them (the trigger with its table)
        session.execute(text("DROP TABLE kit_bulk_met"))
        session.commit()
    assert met == codes + codes
