"""Migration 0042 rewrites the receivers' replies earlier releases stored (a receiver may echo a customer's
name or phone) to the fixed summary kept now (``kit.attempts.refusal``): a shop webhook's delivery and
attempts, a group robot's daily alert, live code alert and feed post. Values already in that form, and
the fixed texts written without a reply, stay. On SQLite and PostgreSQL, a page at a time
(docs/privacy.md)."""

from __future__ import annotations

import importlib
import json
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, text

from neigou.feed.delivery import SEND_FAULT
from neigou.groups.webhook import OK, broken_send
from neigou.integrations.events import UNOPENED
from neigou.kit.attempts import refusal
from neigou.migrations.runner import upgrade
from tests.migrating import CREATED, PROGRAMS_REVISION, insert_id, owner_and_group, page_reads, programs_at
from tests.migration_templates import ScratchAt
from tests.statements import statements

_migration = importlib.import_module("neigou.migrations.versions.0042_receivers_replies_left_behind")

NAME, PHONE = "王丽华", "13812345678"
ECHO = f'{{"order": "2026", "customer": "{NAME}", "phone": "[phone]"}} 收货人 {NAME}'

# A shop webhook: (what was stored, the status kept with it, ok) → what the migration leaves.
WEBHOOK: list[tuple[str, int | None, bool, str]] = [
    (ECHO, 500, False, "HTTP 500"),
    (f"bad request for {NAME}", 400, False, "HTTP 400"),
    (f"received {NAME}", 200, True, "HTTP 200"),  # a receiver that took it and echoed it
    (f"ConnectError: [Errno 111] Connection refused to {NAME}'s relay", None, False, "ConnectError"),
    ("InvalidURL: Invalid port: '0x'", None, False, "InvalidURL"),
    (f"Error: {NAME} unknown", None, False, "refused"),  # looks like an error's class, is none of them
    # already the summary, or a fixed text: unchanged
    ("HTTP 503", 503, False, "HTTP 503"),
    ("HTTP 200", 200, True, "HTTP 200"),
    ("ConnectTimeout", None, False, "ConnectTimeout"),
    ("ReadError while sending", None, False, "ReadError while sending"),
    (UNOPENED, None, False, UNOPENED),
]
# A group robot: (what was stored, the status kept with it or None, the row's state) → what is left.
ROBOT: list[tuple[str, int | None, str, str]] = [
    (f"errcode 93000: invalid webhook url, {NAME} {PHONE}", 200, "failed", "HTTP 200 errcode 93000"),
    (f"errcode -1: system busy {NAME}", None, "failed", "errcode -1"),
    (f"errcode abc: {NAME}", 200, "failed", "HTTP 200"),  # an errcode that is no number
    (ECHO, 502, "failed", "HTTP 502"),
    (ECHO, None, "failed", "refused"),
    (f"收到 {NAME}", 200, "sent", OK),  # a robot that took it, its answer no JSON
    ("ReadTimeout: timed out", None, "failed", "ReadTimeout"),
    # already the summary, or a fixed text: unchanged
    (OK, 200, "sent", OK),
    ("HTTP 500", 500, "failed", "HTTP 500"),
    ("HTTP 200 errcode 45009", 200, "failed", "HTTP 200 errcode 45009"),
    ("ConnectError", None, "failed", "ConnectError"),
    (
        broken_send(ValueError(NAME)).detail,
        None,
        "failed",
        "ValueError while sending; it may have been posted",
    ),
    (f"{SEND_FAULT}: KeyError", None, "failed", f"{SEND_FAULT}: KeyError"),
]


def test_the_frozen_rules_give_what_the_application_writes_now() -> None:
    for written in (
        refusal(500),
        refusal(200, errcode=93000),
        refusal(None, error="ConnectError"),
        refusal(None),
    ):
        assert _migration.summary(written) == written
    assert _migration.summary(OK, taken=True) == OK
    assert _migration.summary(broken_send(RuntimeError("x")).detail) == broken_send(RuntimeError("x")).detail
    assert _migration.summary(UNOPENED) == UNOPENED
    assert _migration.summary(f"{SEND_FAULT}: ValueError") == f"{SEND_FAULT}: ValueError"
    assert _migration.summary("nothing to report") == "nothing to report"
    assert _migration.summary("no webhook configured") == "no webhook configured"


def _integration(conn: Connection, program: int) -> int:
    return insert_id(
        conn,
        "integrations",
        program_id=program,
        name="shop",
        inbound_secret_sealed="sealed",
        outbound_secret_sealed="sealed",
        active=True,
        created_at=CREATED,
    )


def _delivery(conn: Connection, integration: int, n: int, last_error: str | None, status: int | None) -> int:
    return insert_id(
        conn,
        "webhook_deliveries",
        integration_id=integration,
        event_id=f"evt_{n}",
        event_type="commission.earned",
        payload="{}",
        status="failed" if last_error is not None else "delivered",
        attempts=1,
        last_http_status=status,
        last_error=last_error,
        created_at=CREATED,
    )


def _robot_rows(conn: Connection, program: int) -> dict[str, dict[int, int]]:
    """One daily alert, live code alert and feed post per ``ROBOT`` case; their ids by case."""
    member, group = owner_and_group(conn, program)
    live = insert_id(
        conn,
        "group_live_codes",
        code="LC1",
        program_id=program,
        owner_member_id=member,
        capacity=200,
        full_scans=0,
        created_at=CREATED,
    )
    made: dict[str, dict[int, int]] = {"alerts": {}, "live": {}, "posts": {}}
    for n, (stored, status, state, _) in enumerate(ROBOT):
        made["alerts"][n] = insert_id(
            conn,
            "group_alert_deliveries",
            program_id=program,
            alert_date=date(2026, 1, 1) + timedelta(days=n),
            status=state,
            attempts=1,
            http_status=status,
            detail=stored,
            attempted_at=CREATED,
        )
        made["live"][n] = insert_id(
            conn,
            "group_live_code_alerts",
            live_code_id=live,
            owner_member_id=member,
            full_since=f"2026-01-{n + 1:02d} 00:00:00",
            created_at=CREATED,
            robot_status=state,
            robot_attempts=1,
            robot_detail=stored,
        )
        made["posts"][n] = insert_id(
            conn,
            "group_posts",
            program_id=program,
            member_id=member,
            group_id=group,
            text=f"{NAME}，您好",
            slot="now",
            scheduled_at=CREATED,
            delivery="robot",
            status=state,
            attempts=1,
            detail=stored,
            created_at=CREATED,
        )
    return made


def _column(conn: Connection, table: str, column: str) -> dict[int, Any]:
    return {int(i): v for i, v in conn.execute(text(f"SELECT id, {column} FROM {table}"))}  # noqa: S608


def test_migration_0042_rewrites_stored_replies_and_leaves_the_summaries(scratch_at: ScratchAt) -> None:
    scratch_url = scratch_at(PROGRAMS_REVISION)
    engine, (program,) = programs_at(scratch_url, "0041", "p")
    with engine.begin() as conn:
        integration = _integration(conn, program)
        deliveries, attempts = {}, {}
        for n, (stored, status, ok, _) in enumerate(WEBHOOK):
            deliveries[n] = _delivery(conn, integration, n, None if ok else stored, status)
            attempts[n] = insert_id(
                conn,
                "webhook_attempts",
                delivery_id=deliveries[n],
                number=1,
                at=CREATED,
                http_status=status,
                ok=ok,
                detail=stored,
            )
        robots = _robot_rows(conn, program)

    upgrade(scratch_url)
    upgrade(scratch_url)  # at head: nothing more to do

    with engine.connect() as conn:
        last_errors = _column(conn, "webhook_deliveries", "last_error")
        details = _column(conn, "webhook_attempts", "detail")
        alerts = _column(conn, "group_alert_deliveries", "detail")
        live = _column(conn, "group_live_code_alerts", "robot_detail")
        posts = _column(conn, "group_posts", "detail")
    engine.dispose()
    assert [details[attempts[n]] for n in range(len(WEBHOOK))] == [kept for *_, kept in WEBHOOK]
    assert [last_errors[deliveries[n]] for n in range(len(WEBHOOK))] == [
        None if ok else kept for _, _, ok, kept in WEBHOOK
    ]
    expected = [kept for *_, kept in ROBOT]
    assert [alerts[robots["alerts"][n]] for n in range(len(ROBOT))] == expected
    # no status was kept with a live code's alert or a post: a refusal without its status is refused
    unstatused = [_migration.summary(stored, taken=state == "sent") for stored, _, state, _ in ROBOT]
    assert [live[robots["live"][n]] for n in range(len(ROBOT))] == unstatused
    assert [posts[robots["posts"][n]] for n in range(len(ROBOT))] == unstatused
    left = json.dumps([last_errors, details, alerts, live, posts], ensure_ascii=False)
    assert NAME not in left
    assert PHONE not in left


def test_migration_0042_rewrites_a_page_at_a_time(
    scratch_at: ScratchAt, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch_url = scratch_at(PROGRAMS_REVISION)
    engine, (program,) = programs_at(scratch_url, "0041", "p")
    with engine.begin() as conn:
        integration = _integration(conn, program)
        delivery = _delivery(conn, integration, 0, ECHO, 500)
        made = [
            insert_id(
                conn,
                "webhook_attempts",
                delivery_id=delivery,
                number=n,
                at=CREATED,
                http_status=500,
                ok=False,
                detail=ECHO if n % 2 else "HTTP 500",  # old and already summarised, across pages
            )
            for n in range(1, 6)
        ]
    monkeypatch.setattr(_migration, "_PAGE", 2, raising=False)
    with statements(engine) as sent, engine.begin() as conn:
        _migration._rewrite(conn, "webhook_attempts", "detail", status="http_status")
    assert len(page_reads(sent, "webhook_attempts")) == 4  # pages of two, two and one, and the empty one
    with engine.connect() as conn:
        details = _column(conn, "webhook_attempts", "detail")
    engine.dispose()
    assert [details[i] for i in made] == ["HTTP 500"] * 5
