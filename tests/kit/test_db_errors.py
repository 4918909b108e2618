"""``kit.db_errors.database_code``: the one reader of a database error's code, a psycopg error's
SQLSTATE or a sqlite3 error's result code, wrapped by SQLAlchemy or bare."""

from __future__ import annotations

import sqlite3

import psycopg.errors
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from neigou.kit.db_errors import DatabaseCode, database_code, driver_error

pytestmark = pytest.mark.no_database


def _sqlite_error(*statements: str) -> sqlite3.Error:
    connection = sqlite3.connect(":memory:")
    try:
        for statement in statements:
            connection.execute(statement)
    except sqlite3.Error as exc:
        return exc
    finally:
        connection.close()
    raise AssertionError("no statement failed")


def test_a_psycopg_errors_sqlstate_is_read_bare_and_wrapped() -> None:
    taken = psycopg.errors.UniqueViolation("duplicate key value violates unique constraint")
    assert database_code(taken) == DatabaseCode(sqlstate="23505")
    wrapped = IntegrityError("INSERT …", {}, taken)
    assert driver_error(wrapped) is taken
    assert database_code(wrapped) == DatabaseCode(sqlstate="23505")
    assert (
        database_code(OperationalError("COMMIT", {}, psycopg.errors.DeadlockDetected())).sqlstate == "40P01"
    )
    assert database_code(wrapped).given


def test_a_sqlite3_errors_result_code_is_read_bare_and_wrapped() -> None:
    taken = _sqlite_error(
        "CREATE TABLE t (k TEXT UNIQUE)", "INSERT INTO t VALUES ('a')", "INSERT INTO t VALUES ('a')"
    )
    expected = DatabaseCode(sqlite_code=2067, sqlite_name="SQLITE_CONSTRAINT_UNIQUE")
    assert database_code(taken) == expected
    assert database_code(IntegrityError("INSERT …", {}, taken)) == expected
    keyed = _sqlite_error(
        "CREATE TABLE t (k PRIMARY KEY)", "INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (1)"
    )
    assert database_code(keyed) == DatabaseCode(sqlite_code=1555, sqlite_name="SQLITE_CONSTRAINT_PRIMARYKEY")
    assert database_code(keyed).given


def test_an_error_the_database_did_not_give_has_no_code() -> None:
    """A connection lost before an answer (psycopg's error without a SQLSTATE), an error of ours, none."""
    assert database_code(psycopg.errors.OperationalError("server closed the connection")) == DatabaseCode()
    assert database_code(OperationalError("SELECT 1", {}, psycopg.OperationalError("gone"))) == DatabaseCode()
    assert database_code(ValueError("not a database's")) == DatabaseCode()
    assert database_code(None) == DatabaseCode()
    assert not DatabaseCode().given
