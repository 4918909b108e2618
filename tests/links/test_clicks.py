"""The redirect and its clicks: no database write on the request path, batches, shutdown flush, Redis
streams with at-least-once consumers, visitor cookies, user-agent classes, the code cache."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.ids import customer_ref_hash
from neigou.kit.streams import namespace
from neigou.links import click_stream
from neigou.links.cache import LinkCache
from neigou.links.click_stream import RedisStreamSink, StreamConsumer
from neigou.links.clicks import ClickRecorder, ClickRow, DatabaseSink
from neigou.links.models import ShareLink
from neigou.links.useragent import UaClass, classify
from neigou.web.app import create_app
from tests.conftest import TokenMaker, bearer
from tests.links.builders import (
    PHONE_UA,
    LinkWorld,
    build,
    click_event,
    clicks,
    follow,
    make_link,
    recorded,
    shop_secret,
    signed_path,
)
from tests.local_redis import REDIS_URL


@pytest.fixture
def world(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> LinkWorld:
    return build(client, operator, make_token)


def test_redirect_records_the_click_off_the_request_path(
    client: TestClient,
    app: FastAPI,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
) -> None:
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    response = client.get(f"/l/{link['code']}", headers={"user-agent": PHONE_UA}, follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == f"/p/{link['code']}"
    assert response.headers["cache-control"] == "no-store"
    visitor = response.cookies["nv"]
    assert clicks(factory) == []  # buffered, not written by the request
    assert app.state.clicks.pending == 1
    again = client.get(f"/l/{link['code']}", headers={"user-agent": "curl/8.5"}, follow_redirects=False)
    assert "set-cookie" not in again.headers  # the visitor keeps its id
    assert app.state.links.flush() == 2
    stored = clicks(factory)
    assert [(c.link_id, c.member_id, c.visitor_id) for c in stored] == [
        (link["id"], world.member_id, visitor)
    ] * 2
    assert [c.ua_class for c in stored] == [UaClass.WECHAT, UaClass.BOT]
    stats = client.get(f"/api/v1/links/{link['code']}", headers=operator).json()
    assert (stats["clicks"], stats["opens"]) == (1, 2)


def test_unknown_and_disabled_codes_get_a_friendly_page(
    client: TestClient, operator: dict[str, str], world: LinkWorld, app: FastAPI
) -> None:
    for path in ("/l/zzzzzzzz", "/l/not-a-code!", "/p/zzzzzzzz"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "链接不存在" in response.text
    link = make_link(client, operator, member_id=world.member_id)
    client.patch(f"/api/v1/links/{link['code']}", json={"active": False}, headers=operator)
    gone = client.get(f"/l/{link['code']}?lang=en", follow_redirects=False)
    assert gone.status_code == 410
    assert "Link disabled" in gone.text
    assert client.get(f"/p/{link['code']}").status_code == 410
    assert app.state.clicks.pending == 0


def test_the_cache_answers_without_the_database(
    client: TestClient,
    operator: dict[str, str],
    world: LinkWorld,
    app: FastAPI,
    factory: sessionmaker[Session],
) -> None:
    link = make_link(client, operator, member_id=world.member_id)
    cache: LinkCache = app.state.links.cache
    loads = cache.loads
    for _ in range(20):
        client.get(f"/l/{link['code']}", follow_redirects=False)
    assert cache.loads == loads + 1
    now = [0.0]
    elsewhere = LinkCache(factory, ttl=5, clock=lambda: now[0])
    assert _active(elsewhere, link["code"]) is True
    # A change made by another process is seen once the entry expires …
    with factory.begin() as session:
        session.execute(update(ShareLink).values(active=False))
    assert client.get(f"/l/{link['code']}", follow_redirects=False).status_code == 302
    assert _active(elsewhere, link["code"]) is True
    now[0] = 5.5
    assert _active(elsewhere, link["code"]) is False
    # … and a change made through this process at once.
    client.patch(f"/api/v1/links/{link['code']}", json={"active": True}, headers=operator)
    assert client.get(f"/l/{link['code']}", follow_redirects=False).status_code == 302
    client.patch(f"/api/v1/links/{link['code']}", json={"active": False}, headers=operator)
    assert client.get(f"/l/{link['code']}", follow_redirects=False).status_code == 410


def _active(cache: LinkCache, code: str) -> bool | None:
    link = cache.get(code)
    return None if link is None else link.active


def test_customer_ref_on_the_link_makes_a_touch(
    client: TestClient,
    app: FastAPI,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
) -> None:
    link = make_link(client, operator, member_id=world.member_id, group_id=world.group_id)
    secret = shop_secret(client, operator, world.program_id)
    # The reference makes the touch; it is not carried to the landing page's claim form.
    follow(client, signed_path(secret, link["code"], "openid-42"))
    expected = customer_ref_hash(app.state.settings.secret_key, "openid-42")
    assert recorded(app, factory).touches == [(expected, world.member_id, world.group_id, "click")]


def test_a_clean_shutdown_loses_no_click(
    settings: object, factory: sessionmaker[Session], operator: dict[str, str], make_token: TokenMaker
) -> None:
    app = create_app(settings, session_factory=factory)  # type: ignore[arg-type]
    with TestClient(app) as client:
        world = build(client, operator, make_token)
        link = make_link(client, operator, member_id=world.member_id)
        app.state.clicks.interval = 3600  # the flusher would not run again before the end
        for _ in range(37):
            assert client.get(f"/l/{link['code']}", follow_redirects=False).status_code == 302
        assert len(clicks(factory)) < 37
    assert len(clicks(factory)) == 37


class FlakySink:
    """Fails the first write."""

    def __init__(self, inner: DatabaseSink) -> None:
        self.inner = inner
        self.calls = 0

    def write(self, clicks: Sequence[ClickRow]) -> None:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("database away")
        self.inner.write(clicks)


def test_batches_and_a_failed_write_keeps_the_clicks(
    client: TestClient, operator: dict[str, str], world: LinkWorld, factory: sessionmaker[Session]
) -> None:
    link = make_link(client, operator, member_id=world.member_id)
    recorder = ClickRecorder(FlakySink(DatabaseSink(factory)), max_batch=10)
    for _ in range(25):
        recorder.record(click_event(link["id"], world.member_id, world.program_id))
    with pytest.raises(RuntimeError):
        recorder.flush()
    assert recorder.pending == 25
    assert recorder.flush() == 25
    assert len(clicks(factory)) == 25
    recorder.record(click_event(999_999, world.member_id, world.program_id))  # a link that no longer exists
    recorder.flush()
    assert len(clicks(factory)) == 25


class CountingSink:
    """Keeps the size of each batch it is handed."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def write(self, clicks: Sequence[ClickRow]) -> None:
        self.batches.append(len(clicks))


def test_the_flusher_woken_by_a_full_batch_writes_full_batches_only() -> None:
    sink = CountingSink()
    recorder = ClickRecorder(sink, interval=3600, max_batch=10)
    for _ in range(25):
        recorder.record(click_event(1, 1, 1))
    assert recorder.flush(full_only=True) == 20
    assert (sink.batches, recorder.pending) == ([10, 10], 5)
    recorder.start()  # its thread: woken by the next full batch, it leaves the newest five waiting
    try:
        for _ in range(10):
            recorder.record(click_event(1, 1, 1))
        deadline = (
            time.monotonic() + 30
        )  # a stall: a loaded machine may run the flusher's thread seconds late
        while len(sink.batches) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (sink.batches, recorder.pending) == ([10, 10, 10], 5)
    finally:
        recorder.stop()  # a stop writes everything, the partial batch too
    assert (sink.batches, recorder.pending) == ([10, 10, 10, 5], 0)


def test_a_flush_leaves_the_clicks_recorded_meanwhile_for_the_next_round() -> None:
    class BusySink(CountingSink):
        """Three more clicks arrive while each batch is being written."""

        def write(self, clicks: Sequence[ClickRow]) -> None:
            super().write(clicks)
            for _ in range(3):
                recorder.record(click_event(1, 1, 1))

    sink = BusySink()
    recorder = ClickRecorder(sink, interval=3600, max_batch=10)
    for _ in range(15):
        recorder.record(click_event(1, 1, 1))
    assert recorder.flush() == 15  # not chasing the arrivals with batches of three
    assert (sink.batches, recorder.pending) == ([10, 5], 6)
    assert recorder.flush() == 6
    assert (sink.batches, recorder.pending) == ([10, 5, 6], 3)


def test_a_batch_met_again_is_stored_once_with_its_new_clicks(
    client: TestClient, operator: dict[str, str], world: LinkWorld, factory: sessionmaker[Session]
) -> None:
    # PostgreSQL copies a batch straight into the table; one that clashes with stored refs (a resend
    # after a writer died) is rolled back and stored through the staging table, new clicks kept.
    link = make_link(client, operator, member_id=world.member_id)
    sink = DatabaseSink(factory)
    first = [click_event(link["id"], world.member_id, world.program_id) for _ in range(6)]
    sink.write(first)
    sink.write(first)
    assert len(clicks(factory)) == 6
    later = [click_event(link["id"], world.member_id, world.program_id) for _ in range(4)]
    sink.write([*first[3:], *later])
    sink.write(later)  # the staging table started empty again: nothing left over from the last batch
    stored = clicks(factory)
    assert sorted(c.ref for c in stored) == sorted(row[0] for row in [*first, *later])
    assert {c.link_id for c in stored} == {link["id"]}


def test_clicks_through_a_redis_stream(
    client: TestClient,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
    redis_client: redis.Redis,
) -> None:
    link = make_link(client, operator, member_id=world.member_id)
    key = f"neigou-test:{uuid.uuid4().hex[:8]}:clicks"
    try:
        recorder = ClickRecorder(RedisStreamSink(redis_client, key), max_batch=50)
        events = [click_event(link["id"], world.member_id, world.program_id) for _ in range(120)]
        for event in events:
            recorder.record(event)
        recorder.stop()
        assert redis_client.xlen(key) == 3  # one entry per flushed batch: 50, 50 and 20 clicks
        # A consumer that read an entry and has not acknowledged it yet: while its lease runs, the
        # entry stays its own.
        busy = StreamConsumer(redis_client, key, factory, name="busy", batch=1)
        busy._ensure_group()
        busy._renew_lease()
        redis_client.xreadgroup("neigou-click-writers", "busy", {key: ">"}, count=1)
        live = StreamConsumer(redis_client, key, factory, name="live", batch=1)
        assert live.drain() == 70
        assert len(clicks(factory)) == 70
        assert live.recovered == 0
        # An older consumer with no lease: claimed once idle past CLAIM_IDLE_MS (XAUTOCLAIM).
        redis_client.delete(f"{key}:lease:busy")
        click_stream.CLAIM_IDLE_MS, idle = 0, click_stream.CLAIM_IDLE_MS
        click_stream.RECOVER_MIN_IDLE_MS, min_idle = 10**9, click_stream.RECOVER_MIN_IDLE_MS
        try:
            assert live.drain() == 50  # claimed from the silent consumer
        finally:
            click_stream.CLAIM_IDLE_MS = idle
            click_stream.RECOVER_MIN_IDLE_MS = min_idle
        # The same click delivered again is stored once.
        RedisStreamSink(redis_client, key).write(events[:5])
        assert live.drain() == 5
        assert len(clicks(factory)) == 120
        # An entry in the earlier one-click-per-entry format (a string field per column, none when null)
        # is still read.
        ref, link_id, program_id, member_id, at, _, ua, _ = click_event(
            link["id"], world.member_id, world.program_id
        )
        redis_client.xadd(
            key,
            {
                "ref": ref,
                "link_id": str(link_id),
                "program_id": str(program_id),
                "member_id": str(member_id),
                "clicked_at": at.isoformat(),
                "ua_class": ua,
            },
        )
        assert live.drain() == 1
        assert len(clicks(factory)) == 121
        assert redis_client.xlen(key) == 0
    finally:
        redis_client.delete(key, f"{key}:lease:live", f"{key}:lease:busy")


@pytest.mark.parametrize("writer", ["thread", "process"])
def test_app_on_redis_flushes_through_the_stream(
    writer: str,
    settings: object,
    factory: sessionmaker[Session],
    make_token: TokenMaker,
    redis_client: redis.Redis,
) -> None:
    # With the process writer, the writer appends to the stream and runs the consumer.
    configured = settings.model_copy(update={"redis_url": REDIS_URL, "click_writer": writer})  # type: ignore[attr-defined]
    app = create_app(configured, session_factory=factory)
    operator = bearer(make_token("operator"))
    with TestClient(app) as client:
        world = build(client, operator, make_token)
        link = make_link(client, operator, member_id=world.member_id)
        for _ in range(15):
            client.get(f"/l/{link['code']}", follow_redirects=False)
        app.state.links.flush()  # its count may be 0: a consumer thread can store them first
        assert len(clicks(factory)) == 15
        for _ in range(4):
            client.get(f"/l/{link['code']}", follow_redirects=False)
    assert len(clicks(factory)) == 19  # the shutdown's flush and final drain
    assert app.state.links.redis is not None
    prefix = namespace(configured.database_url)  # every Redis key of this database under its prefix
    assert app.state.links.limiter.namespace == f"{prefix}:claim"
    assert app.state.sign_in_throttle.namespace == f"{prefix}:sign-in"


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        (PHONE_UA, UaClass.WECHAT),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120 Mobile Safari/537.36",
            UaClass.MOBILE,
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120 Safari/537.36",
            UaClass.DESKTOP,
        ),
        ("Mozilla/5.0 (compatible; Googlebot/2.1)", UaClass.BOT),
        ("Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120", UaClass.BOT),
        ("", UaClass.BOT),
    ],
)
def test_user_agent_classes(agent: str, expected: UaClass) -> None:
    assert classify(agent) is expected


def test_wechat_query_parameters_keep_the_fast_path(
    client: TestClient,
    app: FastAPI,
    operator: dict[str, str],
    world: LinkWorld,
    factory: sessionmaker[Session],
) -> None:
    link = make_link(client, operator, member_id=world.member_id)
    client.get(f"/l/{link['code']}", follow_redirects=False)  # loads the code into the cache
    loads = app.state.links.cache.loads
    shared = client.get(
        f"/l/{link['code']}?from=singlemessage&isappinstalled=0",
        headers={"user-agent": PHONE_UA, "cookie": "nv=visitor-cccccccccccc"},
        follow_redirects=False,
    )
    assert (shared.status_code, shared.headers["location"]) == (302, f"/p/{link['code']}")
    assert "set-cookie" not in shared.headers
    assert app.state.links.cache.loads == loads
    app.state.links.flush()
    assert [c.visitor_id for c in clicks(factory)][-1] == "visitor-cccccccccccc"
