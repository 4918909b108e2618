"""An entry the database refuses at every delivery is set aside after ``MAX_DELIVERIES``: moved to
``<stream>:dead`` with its reason's code, acknowledged and deleted from the stream, logged once at
error level without its data, and counted; ``neigou dead-letters replay`` stores it later under its
id in the stream. The claim stream (a claim the stock CHECK refuses) and the click stream (an entry
that cannot be read) alike."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from neigou.cli.main import app as cli
from neigou.kit import dead_letters
from neigou.kit.db import transaction
from neigou.kit.settings import get_settings
from neigou.kit.streams import Entry, StreamWriter, acknowledge
from neigou.links import claim_stream, click_stream
from neigou.links.models import CouponClaim, LinkClick
from neigou.links.stock_gate import StockGate
from neigou.offers.models import CouponTemplate
from tests.cli_env import cli_environment
from tests.conftest import TokenMaker
from tests.connections import OpenConnections
from tests.links.builders import build, click_event, make_link
from tests.links.conftest import behind_gate
from tests.links.test_claim_stream import _claim, _coupon
from tests.local_redis import REDIS_URL

PHONE = "13800000001"


@pytest.fixture
def gate() -> Iterator[StockGate]:
    yield from behind_gate()


def _dead_lettered(group: str) -> float:
    return REGISTRY.get_sample_value("neigou_stream_dead_letters_total", {"stream": group}) or 0.0


def _claims_of(factory: sessionmaker[Session], coupon_id: int) -> list[int]:
    with factory() as session:
        return list(session.scalars(select(CouponClaim.id).where(CouponClaim.coupon_id == coupon_id)))


def test_a_claim_refused_at_every_delivery_goes_to_the_dead_letters_and_is_replayed_later(
    app: FastAPI,
    *,
    factory: sessionmaker[Session],
    gate: StockGate,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
) -> None:
    del app  # built for its logging set-up
    full = _coupon(factory, total=1)
    other = _coupon(factory, total=100)
    refused = _claim(factory, gate, full, PHONE)
    assert refused.startswith("taken:")
    with transaction(factory) as session:  # the database's stock taken meanwhile (not by the gate)
        session.execute(update(CouponTemplate).where(CouponTemplate.id == full).values(claimed_quantity=1))
    assert _claim(factory, gate, other, "13800000002").startswith("taken:")
    assert gate.stream is not None
    key, client = gate.stream, gate.client
    writer = claim_stream.ClaimWriter(client, key, factory, name="writer")
    writer.claim_idle_ms = 0  # each drain delivers the pending entry again (a minute apart in production)
    before = _dead_lettered(claim_stream.GROUP)
    capfd.readouterr()
    for delivery in range(1, dead_letters.MAX_DELIVERIES):
        writer.drain_once()
        assert dead_letters.deliveries(client, key, claim_stream.GROUP, _pending_id(client, key)) == delivery
    assert len(_claims_of(factory, other)) == 1  # stored at the first delivery, beside the refused one
    assert client.xlen(dead_letters.dead_key(key)) == 0
    writer.drain_once()  # the last delivery
    err = capfd.readouterr().err
    assert client.xpending(key, claim_stream.GROUP)["pending"] == 0
    assert client.xlen(key) == 0  # acknowledged and deleted
    (letter,) = dead_letters.letters(client, key)
    assert (letter.reason, letter.deliveries) == ("ck_coupon_templates_stock", dead_letters.MAX_DELIVERIES)
    row = json.loads(letter.entry[1][b"c"])
    assert row["coupon_id"] == full
    assert err.count("stream.entry_dead_lettered") == 1
    assert err.count("stream.entry_unstorable") == dead_letters.MAX_DELIVERIES - 1
    dead_line = next(line for line in err.splitlines() if "stream.entry_dead_lettered" in line)
    assert "[error" in dead_line  # the one error-level line
    assert "reason=ck_coupon_templates_stock" in dead_line
    assert "stream.dead_letters_piling_up" not in err  # a few letters: no alarm
    for personal in (PHONE, row["customer_ref_hash"], row["customer_ref_masked"]):
        assert personal not in err
    assert _dead_lettered(claim_stream.GROUP) == before + 1
    assert writer.drain_once() == 0  # nothing comes back

    # The operator raises the stock and replays: the claim is stored under the id its shopper was given.
    cli_environment(monkeypatch, database_url)
    monkeypatch.setenv("NEIGOU_REDIS_URL", REDIS_URL)
    get_settings.cache_clear()
    monkeypatch.setattr("neigou.cli.dead_letters.stream_key", lambda _settings, _stream: key)
    runner = CliRunner()
    listed = runner.invoke(cli, ["dead-letters", "list", "claims"])
    assert listed.exit_code == 0, listed.output
    assert f"entry={letter.entry_id.decode()} reason=ck_coupon_templates_stock deliveries=5" in listed.output
    still = runner.invoke(cli, ["dead-letters", "replay", "claims"])
    assert (still.exit_code, still.output.splitlines()[-1]) == (1, "0 stored, 1 still refused")
    with transaction(factory) as session:
        session.execute(update(CouponTemplate).where(CouponTemplate.id == full).values(total_quantity=2))
    with OpenConnections() as connections:
        replayed = runner.invoke(cli, ["dead-letters", "replay", "claims"])
        left_open = connections.count
    assert (replayed.exit_code, replayed.output.splitlines()[-1]) == (0, "1 stored, 0 still refused")
    assert left_open == 0
    assert _claims_of(factory, full) == [int(refused.removeprefix("taken:"))]
    assert client.xlen(dead_letters.dead_key(key)) == 0
    get_settings.cache_clear()


def _pending_id(client: redis.Redis, key: str) -> bytes:
    summary: Any = client.xpending(key, claim_stream.GROUP)
    assert summary["pending"] == 1
    return bytes(summary["min"])


def test_an_unreadable_click_entry_holds_back_no_other_and_goes_to_the_dead_letters(
    client: TestClient,
    *,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    world = build(client, operator, make_token)
    link = make_link(client, operator, member_id=world.member_id)
    key = f"neigou-test:{uuid.uuid4().hex[:8]}:clicks"
    monkeypatch.setattr(click_stream, "CLAIM_IDLE_MS", 0)
    try:
        good = [click_event(link["id"], world.member_id, world.program_id) for _ in range(3)]
        redis_client.xadd(key, {"clicks": click_stream.pack(good[:2])})
        bad = redis_client.xadd(key, {"clicks": b"[not json"})
        redis_client.xadd(key, {"clicks": click_stream.pack(good[2:])})
        consumer = click_stream.StreamConsumer(redis_client, key, factory, name="reader")
        before = _dead_lettered(click_stream.GROUP)
        capfd.readouterr()
        assert consumer.drain_once() == 3  # the good entries of the batch are stored
        with factory() as session:
            assert session.scalar(select(func.count()).select_from(LinkClick)) == 3
        for _ in range(dead_letters.MAX_DELIVERIES - 1):
            assert consumer.drain_once() == 0
        err = capfd.readouterr().err
        assert redis_client.xpending(key, click_stream.GROUP)["pending"] == 0
        assert redis_client.xlen(key) == 0
        (letter,) = dead_letters.letters(redis_client, key)
        assert (letter.entry_id, letter.reason) == (bad, "bad_value")
        assert letter.entry[1] == {b"clicks": b"[not json"}
        assert err.count("stream.entry_dead_lettered") == 1
        assert _dead_lettered(click_stream.GROUP) == before + 1
        assert consumer.drain() == 0
        # It can never be stored: the operator drops it.
        monkeypatch.setenv("NEIGOU_REDIS_URL", REDIS_URL)
        get_settings.cache_clear()
        monkeypatch.setattr("neigou.cli.dead_letters.stream_key", lambda _settings, _stream: key)
        dropped = CliRunner().invoke(cli, ["dead-letters", "drop", "clicks", letter.id.decode()])
        assert (dropped.exit_code, dropped.output.strip()) == (0, "1 dropped"), dropped.output
        assert redis_client.xlen(dead_letters.dead_key(key)) == 0
    finally:
        get_settings.cache_clear()
        redis_client.delete(key, dead_letters.dead_key(key), f"{key}:lease:reader")


@pytest.mark.parametrize(
    ("error", "code"),
    [(KeyError("customer_ref_hash"), "missing_field"), (ValueError("bad 13800000001"), "bad_value")],
)
def test_the_reason_is_a_stable_code_never_the_message(error: Exception, code: str) -> None:
    assert dead_letters.reason_code(error) == code


def _refuse(session: Session, entries: list[Entry]) -> int:
    raise ValueError("refused")


def _refusing_writer(
    client: redis.Redis, key: str, factory: sessionmaker[Session], name: str
) -> StreamWriter:
    writer = StreamWriter(client, key, "refusing", factory, _refuse, name=name)
    writer.claim_idle_ms = 0  # each drain delivers the pending entry again
    return writer


@pytest.mark.parametrize("stored_by_other", [True, False])
def test_an_entry_another_consumer_took_over_is_not_dead_lettered(
    factory: sessionmaker[Session],
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    *,
    stored_by_other: bool,
) -> None:
    """Consumer A's last failure races consumer B's takeover (XAUTOCLAIM once A held the entry past the
    idle time): B has it now, and may have stored and acknowledged it, so A moves nothing."""
    key = f"neigou-test:{uuid.uuid4().hex[:8]}:takeover"
    writer = _refusing_writer(redis_client, key, factory, "a")
    try:
        redis_client.xadd(key, {"c": b"{}"})
        for _ in range(dead_letters.MAX_DELIVERIES - 1):
            writer.drain_once()
        counted = dead_letters.deliveries

        def taken_over(client: redis.Redis, key_: str, group: str, entry_id: bytes) -> int:
            seen = counted(client, key_, group, entry_id)
            client.xclaim(key_, group, "b", 0, [entry_id], justid=True)  # B takes it over …
            if stored_by_other:
                acknowledge(client, key_, group, [entry_id])  # … and stores it
            return seen

        monkeypatch.setattr(dead_letters, "deliveries", taken_over)
        writer.drain_once()  # A's last failure
        assert redis_client.xlen(dead_letters.dead_key(key)) == 0
        pending: Any = redis_client.xpending_range(key, "refusing", min="-", max="+", count=10)
        assert [p["consumer"] for p in pending] == ([] if stored_by_other else [b"b"])
    finally:
        redis_client.delete(key, dead_letters.dead_key(key))


def test_dead_letters_are_never_trimmed_and_a_long_list_is_logged_and_counted(
    app: FastAPI,
    *,
    factory: sessionmaker[Session],
    redis_client: redis.Redis,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A dead letter is a claim or a reservation its shopper was answered with: past the warning length
    the oldest is kept (it was once trimmed near 10,000 without a trace) and the operator is told."""
    del app  # built for its logging set-up
    key = f"neigou-test:{uuid.uuid4().hex[:8]}:piling"
    dead = dead_letters.dead_key(key)
    old_letters = dead_letters.DEAD_WARN_LENGTH + 200
    try:
        pipe = redis_client.pipeline(transaction=False)
        for n in range(old_letters):
            pipe.xadd(dead, {"n": n})
        pipe.execute()
        oldest: Any = redis_client.xrange(dead, count=1)
        before = REGISTRY.get_sample_value(
            "neigou_stream_dead_letters_piling_up_total", {"stream": "refusing"}
        )
        writer = _refusing_writer(redis_client, key, factory, "a")
        redis_client.xadd(key, {"c": b"{}"})
        capfd.readouterr()
        for _ in range(dead_letters.MAX_DELIVERIES):
            writer.drain_once()
        err = capfd.readouterr().err
        assert redis_client.xlen(dead) == old_letters + 1
        assert redis_client.xrange(dead, count=1) == oldest  # the oldest letter kept
        piling = [line for line in err.splitlines() if "stream.dead_letters_piling_up" in line]
        assert len(piling) == 1
        assert "[error" in piling[0]
        assert f"length={old_letters + 1}" in piling[0]
        after = REGISTRY.get_sample_value(
            "neigou_stream_dead_letters_piling_up_total", {"stream": "refusing"}
        )
        assert (after or 0.0) == (before or 0.0) + 1
    finally:
        redis_client.delete(key, dead)
