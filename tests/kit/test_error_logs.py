"""A 500 logs the error's class, the redacted first line of its message and its frames: never a database
error's DETAIL, its statement's bound values, nor a chained cause's message (``kit.tracebacks``)."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DataError, IntegrityError

from neigou.kit.deps import SessionDep
from neigou.kit.logging import RedactingFilter, error_summary, redact_value
from neigou.kit.tracebacks import safe_traceback

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
PHONE_HASH = "9b1c6f0e2d7a4c3b8e5f1a0d6c2b7e4f"  # a customer_ref_hash, bare hex: no pattern knows it
PLATFORM_TOKEN = "7f3c9a2b1e8d4c6a0b5f"  # an access token without a prefix
PHONE = "13812345678"
SECRETS = (OPENID, PHONE_HASH, PLATFORM_TOKEN, PHONE)
# PostgreSQL's text for a taken key (psycopg's message): the DETAIL line names the values.
PG_DETAIL = (
    'duplicate key value violates unique constraint "uq_customers_ref"\n'
    f"DETAIL:  Key (customer_ref_hash, openid)=({PHONE_HASH}, {OPENID}) already exists."
)


def _served(app: FastAPI, route: Any, capfd: pytest.CaptureFixture[str]) -> tuple[Any, str]:
    app.add_api_route("/api/v1/broken", route)
    with TestClient(app, raise_server_exceptions=False) as client:
        capfd.readouterr()
        response = client.get(
            f"/api/v1/broken?token={PLATFORM_TOKEN}", headers={"Authorization": "Bearer xyz"}
        )
    return response, capfd.readouterr().err


def _answered_500_without(response: Any, *secrets: str) -> None:
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "internal_error"
    assert not [s for s in secrets if s in response.text]


def test_a_database_refusal_logs_neither_its_row_nor_its_parameters(
    app: FastAPI, capfd: pytest.CaptureFixture[str]
) -> None:
    """A real statement broken on this database (a NOT NULL column): its DETAIL (PostgreSQL's failing
    row) and SQLAlchemy's ``[parameters: …]`` hold the bound values; the log holds none of them."""

    def broken(session: SessionDep) -> None:
        session.execute(
            text("INSERT INTO job_runs (key, name, finished_at) VALUES (:key, NULL, :at)"),
            {"key": f"{OPENID} {PHONE_HASH} {PLATFORM_TOKEN} {PHONE}", "at": datetime.now(UTC)},
        )

    response, err = _served(app, broken, capfd)
    _answered_500_without(response, *SECRETS)
    assert "request.failed" in err
    assert "sqlalchemy.exc.IntegrityError" in err  # the class …
    assert "NOT NULL" in err.upper() or "not-null" in err  # … the first line of its message …
    assert __file__.rsplit("/", 1)[-1] in err  # … and the frames
    assert not [s for s in SECRETS if s in err], err
    assert "[parameters" not in err
    assert "[SQL" not in err


def test_a_detail_and_bound_values_never_reach_the_log(
    app: FastAPI, capfd: pytest.CaptureFixture[str]
) -> None:
    """PostgreSQL's ``DETAIL: Key (customer_ref_hash, …)=(…)``, whatever database runs the test."""

    def broken() -> None:
        raise IntegrityError(
            "INSERT INTO customers (customer_ref_hash, openid, token) VALUES (%(h)s, %(o)s, %(t)s)",
            {"h": PHONE_HASH, "o": OPENID, "t": PLATFORM_TOKEN},
            Exception(PG_DETAIL),
        )

    response, err = _served(app, broken, capfd)
    _answered_500_without(response, *SECRETS)
    assert 'violates unique constraint "uq_customers_ref"' in err
    assert "DETAIL" not in err
    assert not [s for s in SECRETS if s in err], err


def test_a_message_holding_a_credential_loses_it(app: FastAPI, capfd: pytest.CaptureFixture[str]) -> None:
    """A bug whose message quotes a header and a query, raised from a cause holding a customer's
    reference: the message is redacted, the cause named by its class alone."""

    def broken() -> None:
        try:
            raise KeyError(f"customer {OPENID}")
        except KeyError as exc:
            raise RuntimeError(
                f"upstream refused Authorization: Bearer xyz123secret with token={PLATFORM_TOKEN}"
            ) from exc

    response, err = _served(app, broken, capfd)
    _answered_500_without(response, "xyz123secret", PLATFORM_TOKEN, OPENID)
    assert "RuntimeError: upstream refused Authorization: Bearer [redacted]" in err
    assert "KeyError" in err  # the cause, by class
    assert not [s for s in ("xyz123secret", PLATFORM_TOKEN, OPENID) if s in err], err


def test_an_unstorable_values_log_holds_no_bound_value(
    app: FastAPI, capfd: pytest.CaptureFixture[str]
) -> None:
    """A value too long for its column (PostgreSQL's 22001) answers 422; the log names the error, not
    the statement's parameters (the request's own values: an openid, a hash)."""

    class TooLong(Exception):
        sqlstate = "22001"

    def broken() -> None:
        raise DataError(
            "UPDATE customers SET openid=%(o)s WHERE customer_ref_hash=%(h)s",
            {"o": OPENID * 10, "h": PHONE_HASH},
            TooLong("value too long for type character varying(64)"),
        )

    app.add_api_route("/api/v1/too-long", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        capfd.readouterr()
        response = client.get("/api/v1/too-long")
    assert response.status_code == 422
    assert response.json()["code"] == "value_out_of_range"
    err = capfd.readouterr().err
    assert "request.unstorable_value" in err
    assert "value_out_of_range" in err
    assert "value too long" in err
    assert OPENID not in err
    assert PHONE_HASH not in err


def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def test_a_quoted_value_ending_the_first_line_is_left_out() -> None:
    """PostgreSQL names the refused value in the first line (``invalid input syntax …: "…"``)."""
    refused = DataError("SELECT", {}, Exception(f'invalid input syntax for type integer: "{OPENID}"\nLINE 1'))
    summary = error_summary(refused)
    assert summary.startswith("sqlalchemy.exc.DataError: ")
    assert "invalid input syntax for type integer: [value]" in summary
    assert OPENID not in summary


def test_a_missing_keys_error_does_not_name_the_key() -> None:
    """A ``KeyError``'s text is the key it missed, quoted: an openid looked up in a dict."""
    by_openid: dict[str, int] = {}
    with pytest.raises(KeyError) as missed:
        by_openid[OPENID]
    assert error_summary(missed.value) == "KeyError: [value]"
    for key in (OPENID.encode(), ("program", OPENID)):  # a stream entry's bytes, a composite key
        assert error_summary(KeyError(key)) == "KeyError: [value]"


def test_uvicorns_and_hueys_tracebacks_are_written_as_frames() -> None:
    """Another library's logger (uvicorn's "Exception in ASGI application", huey's failed task) logs
    through the standard library: the filter writes the traceback the same way."""
    try:
        try:
            raise ValueError(f"customer_ref_hash {PHONE_HASH}")
        except ValueError as cause:
            raise IntegrityError("INSERT …", {"o": OPENID}, Exception(PG_DETAIL)) from cause
    except IntegrityError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "uvicorn.error", logging.ERROR, __file__, 1, "Exception in ASGI application\n", None, exc_info
    )
    RedactingFilter().filter(record)
    line = logging.Formatter().format(record)
    assert "Exception in ASGI application" in line
    assert "sqlalchemy.exc.IntegrityError: (builtins.Exception) duplicate key value" in line
    assert "ValueError" in line
    assert "test_uvicorns_and_hueys_tracebacks_are_written_as_frames" in line  # a frame's function
    assert not [s for s in (OPENID, PHONE_HASH, "DETAIL", "[parameters") if s in line], line


def test_an_exception_passed_as_a_value_is_summarised() -> None:
    """``logger.warning("failed: %s", exc)`` or ``log.warning(…, error=exc)``: its summary, not its text."""
    refused = IntegrityError("INSERT …", {"o": OPENID}, Exception(PG_DETAIL))
    assert redact_value("error", refused) == error_summary(refused)
    assert OPENID not in str(redact_value(None, (refused,)))


def test_a_chain_reads_oldest_first_and_a_cycle_ends() -> None:
    first = _raised(KeyError(OPENID))
    second = _raised(RuntimeError("outer"))
    second.__cause__ = first
    first.__context__ = second  # a cycle a careless handler can make
    text = safe_traceback(second)
    assert text.index("KeyError") < text.index("direct cause") < text.index("RuntimeError: outer")
    assert OPENID not in text
