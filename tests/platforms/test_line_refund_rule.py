"""Reconciliation's ledger side reverses a line's pool in SQL by the rule the ledger reverses a platform
line's commission with in Python (``orders.commission.line_reversal``), on random lines (SQLite and
PostgreSQL)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import BigInteger, ColumnElement, literal, select, union_all
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.db import transaction
from neigou.orders.commission import line_reversal
from neigou.platforms.reconciliation import refunded_share


def _fen(n: int) -> ColumnElement[int]:
    return literal(n, BigInteger)


@st.composite
def _line(draw: st.DrawFn) -> tuple[int, int, int]:
    paid = draw(st.integers(0, 10**10))  # inputs.MAX_LINE_FEN
    return draw(st.integers(0, 10**9)), draw(st.integers(0, paid)), paid


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_line(), min_size=1, max_size=8))
def test_sql_line_reversal_is_the_pure_rule(
    factory: sessionmaker[Session], lines: list[tuple[int, int, int]]
) -> None:
    statement = union_all(
        *(
            select(literal(n).label("n"), refunded_share(_fen(pool), _fen(refunded), _fen(paid)).label("fen"))
            for n, (pool, refunded, paid) in enumerate(lines)
        )
    )
    with transaction(factory) as session:
        got = {row.n: row.fen for row in session.execute(statement)}
    assert [got[n] for n in range(len(lines))] == [
        line_reversal(pool, paid, 0, refunded) for pool, refunded, paid in lines
    ]
