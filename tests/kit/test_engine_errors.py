"""A failed statement's error text names the statement but not its bound values: a traceback is logged,
and the values can be personal data (``kit.db.make_engine``)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from neigou.kit.db import make_engine

SECRET_VALUE = "Zhang San 13812345678"


def test_a_failed_statement_does_not_print_its_values(database_url: str, engine: Engine) -> None:
    own = make_engine(database_url)
    try:
        with own.connect() as conn, pytest.raises(DBAPIError) as failed:
            conn.execute(
                text("SELECT no_such_column FROM organizations WHERE name = :name"), {"name": SECRET_VALUE}
            )
    finally:
        own.dispose()
    shown = str(failed.value)
    assert "no_such_column" in shown  # the statement is still named
    assert SECRET_VALUE not in shown
    assert "hidden due to hide_parameters" in shown
