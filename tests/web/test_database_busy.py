"""A database that refuses for the moment (a deadlock, a serialization failure, a lock or statement
timeout, SQLite's locked file) is answered as a pool timeout is: 503 ``overloaded`` with ``Retry-After``;
any other operational error stays a 500 whose log keeps neither its statement's values nor its DETAIL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from neigou.kit.settings import Settings

SECRET = "13812345678"  # a bound value the error's text carries: never in the answer or the log


class _DriverError(Exception):
    def __init__(self, message: str, sqlstate: str | None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _raising(orig: BaseException) -> Callable[[], None]:
    def route() -> None:
        raise OperationalError("UPDATE members SET phone = :phone", {"phone": SECRET}, orig)

    return route


def _served(app: FastAPI, path: str, orig: BaseException) -> tuple[httpx2.Response, str]:
    app.add_api_route(path.partition("?")[0], _raising(orig))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get(path)
    return response, response.text


@pytest.mark.parametrize(
    "orig",
    [
        _DriverError(f"deadlock detected\nDETAIL:  Process 1 waits for ShareLock; {SECRET}", "40P01"),
        _DriverError("could not serialize access due to concurrent update", "40001"),
        _DriverError(f'could not obtain lock on row in relation "members" {SECRET}', "55P03"),
        _DriverError("canceling statement due to statement timeout", "57014"),
        sqlite3.OperationalError("database is locked"),
        sqlite3.OperationalError("database table is locked"),
    ],
    ids=[
        "deadlock",
        "serialization",
        "lock_not_available",
        "statement_timeout",
        "sqlite_busy",
        "sqlite_locked",
    ],
)
def test_a_transient_refusal_is_a_503_with_retry_after(
    app: FastAPI, settings: Settings, orig: BaseException, capfd: pytest.CaptureFixture[str]
) -> None:
    response, text = _served(app, "/api/v1/busy", orig)
    assert response.status_code == 503, text
    assert response.json()["code"] == "overloaded"
    headers = response.headers
    assert headers["content-type"].startswith("application/problem+json")
    assert headers["Retry-After-Ms"] == str(settings.retry_after_ms)
    assert int(headers["Retry-After"]) >= 1
    assert SECRET not in text
    assert SECRET not in capfd.readouterr().err


def test_a_transient_refusal_on_a_page_is_a_page(app: FastAPI) -> None:
    response, text = _served(app, "/console/busy?lang=en", _DriverError("deadlock detected", "40P01"))
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert 'data-code="overloaded"' in text


@pytest.mark.parametrize(
    "orig",
    [
        _DriverError(f'relation "members" does not exist {SECRET}', "42P01"),
        _DriverError(f"server closed the connection unexpectedly {SECRET}", None),
        sqlite3.OperationalError(f"no such table: members {SECRET}"),
    ],
    ids=["undefined_table", "connection_lost", "sqlite_no_table"],
)
def test_any_other_operational_error_is_a_500_logged_redacted(
    app: FastAPI, orig: BaseException, capfd: pytest.CaptureFixture[str]
) -> None:
    response, text = _served(app, "/api/v1/broken", orig)
    assert response.status_code == 500, text
    assert response.json()["code"] == "internal_error"
    logged = capfd.readouterr().err
    assert "request.failed" in logged
    assert SECRET not in text
    assert SECRET not in logged
