"""A Redis that refuses for the moment (a read-only replica after a failover, out of memory under
``noeviction``, loading its data, a cluster's TRYAGAIN or MASTERDOWN, a script running past its limit)
is answered as one that does not answer: 503 ``overloaded`` with ``Retry-After``, its class logged, never
its text. A refusal for good (an unknown command, BUSYGROUP) stays a failure of ours (500)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from redis import exceptions

from neigou.kit.settings import Settings
from neigou.links.stock_gate import StockGate
from tests.conftest import TokenMaker
from tests.links.builders import build, claim
from tests.links.conftest import app_behind_gate

SECRET = "13812345678"  # what a refusal's text may quote: never in the answer or the log


@pytest.fixture
def gate(app: FastAPI) -> Iterator[StockGate]:
    yield from app_behind_gate(app)


def _refusing(error: redis.RedisError) -> Any:
    def run(*_args: object, **_kwargs: object) -> int:
        raise error

    return run


@pytest.mark.parametrize(
    "error",
    [
        exceptions.ReadOnlyError(f"You can't write against a read only replica. {SECRET}"),
        exceptions.OutOfMemoryError(f"command not allowed when used memory > 'maxmemory'. {SECRET}"),
        exceptions.BusyLoadingError(f"Redis is loading the dataset in memory {SECRET}"),
        exceptions.TryAgainError(f"Multiple keys request during rehashing of slot {SECRET}"),
        exceptions.MasterDownError(f"Link with MASTER is down {SECRET}"),
        exceptions.ResponseError(f"BUSY Redis is busy running a script. {SECRET}"),
    ],
    ids=["readonly", "oom", "loading", "tryagain", "masterdown", "busy-script"],
)
def test_a_claim_meeting_a_redis_refusing_for_now_is_a_503(  # noqa: PLR0917 - fixtures
    app: FastAPI,
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    settings: Settings,
    gate: StockGate,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    error: redis.RedisError,
) -> None:
    world = build(client, operator, make_token)
    monkeypatch.setattr(StockGate, "_run", _refusing(error))
    for request_id in (None, "keyed-1"):  # behind the gate, and through the request
        body = {"customer_ref": SECRET, **({"request_id": request_id} if request_id else {})}
        response = claim(client, operator, world.public_id, **body)
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "overloaded"
        assert response.headers["Retry-After-Ms"] == str(settings.retry_after_ms)
        assert int(response.headers["Retry-After"]) >= 1
        assert SECRET not in response.text
    logged = capfd.readouterr()
    assert type(error).__name__ in logged.out + logged.err
    assert SECRET not in logged.out + logged.err


@pytest.mark.parametrize(
    "error",
    [
        exceptions.ResponseError("BUSYGROUP Consumer Group name already exists"),
        exceptions.ResponseError("ERR unknown command"),
    ],
    ids=["busygroup", "unknown-command"],
)
def test_a_redis_refusal_for_good_stays_a_500(  # noqa: PLR0917 - fixtures
    app: FastAPI,
    operator: dict[str, str],
    make_token: TokenMaker,
    gate: StockGate,
    monkeypatch: pytest.MonkeyPatch,
    error: redis.RedisError,
) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        world = build(client, operator, make_token)
        monkeypatch.setattr(StockGate, "_run", _refusing(error))
        response = claim(client, operator, world.public_id, customer_ref=SECRET)
    assert response.status_code == 500
