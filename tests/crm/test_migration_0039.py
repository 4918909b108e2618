"""Migration 0039 rewrites what earlier releases stored in clear until the customer was erased: a push
refusal's ``last_error`` becomes the fixed summary a refusal is kept as now (``crm.push_delivery.refusal``),
a ``customer.update`` audit entry names the changed fields only (``crm.customer_audit``); values already
in those forms, and the fixed reasons, stay. On SQLite and PostgreSQL (docs/privacy.md)."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection, text
from sqlalchemy.dialects.postgresql import JSONB

from neigou.crm.customer_audit import CHANGED, changed_fields
from neigou.crm.push_delivery import NO_TARGET
from neigou.kit.attempts import refusal
from neigou.kit.ids import ERASED
from neigou.migrations.runner import upgrade
from tests.migrating import CREATED, PROGRAMS_REVISION, insert_id, page_reads, programs_at
from tests.migration_templates import ScratchAt
from tests.statements import statements

# The reason a robot message with neither a group robot nor a program robot failed with, before the
# program's robot stopped taking messages: stored rows keep it.
NO_ROBOT = "no robot: neither the customer's group nor the program's push settings have one"
_migration = importlib.import_module("neigou.migrations.versions.0039_personal_data_left_behind")

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
AUDIT = sa.table(
    "audit_entries",
    sa.column("id"),
    sa.column("at"),
    sa.column("actor_kind"),
    sa.column("actor_ref"),
    sa.column("actor_label"),
    sa.column("action"),
    sa.column("entity"),
    sa.column("entity_id"),
    sa.column("before", JSON),
    sa.column("after", JSON),
)
ROBOT_REPLY = '{"errcode":93000,"errmsg":"invalid webhook url, 王丽华 13812345678"}'

# What an earlier release stored → what the migration leaves.
REFUSALS = {
    "HTTP 500: 客户王丽华（13812345678）的消息无法投递": "HTTP 500",
    "HTTP 404: ": "HTTP 404",
    "errcode 93000: invalid webhook url, 王丽华": "errcode 93000",
    "errcode -1: system busy 13812345678": "errcode -1",
    "ConnectError: [Errno 111] Connection refused to 王丽华's relay": "ConnectError",
    "ReadTimeout: timed out": "ReadTimeout",
    "UnicodeError: encoding with 'idna' codec failed (UnicodeError: label empty or too long)": "UnicodeError",
    ROBOT_REPLY: "refused",  # a robot's non-2xx reply, kept without its status
    "Error: 王丽华 unknown": "refused",  # looks like an error's class, is none of them
    "errcode abc: 王丽华": "refused",  # an errcode that is no number
    # already in the summary form, or a fixed reason: unchanged
    "HTTP 502": "HTTP 502",
    "HTTP 200 errcode 93000": "HTTP 200 errcode 93000",
    "ConnectTimeout": "ConnectTimeout",
    "unanswered": "unanswered",
    "opted_out": "opted_out",
    "no_consent": "no_consent",
    NO_ROBOT: NO_ROBOT,
    NO_TARGET: NO_TARGET,
    "no target: the program's push settings have no robot or webhook URL": (
        "no target: the program's push settings have no robot or webhook URL"
    ),
    ERASED: ERASED,
}

# (before, after) as stored → after as the migration leaves it (before is emptied).
ENTRIES: dict[str, tuple[dict[str, Any] | None, dict[str, Any], dict[str, str]]] = {
    "edit": (
        {"name": "王女士", "job": None, "birthday": None},
        {"name": "王丽华", "job": "律师", "birthday": "1990-05-17"},
        {"name": CHANGED, "job": CHANGED, "birthday": CHANGED},
    ),
    # a field the edit sent unchanged is left out, as ``changed_fields`` leaves it out
    "partly": (
        {"name": "李先生", "tags": ["VIP"], "spending_power": "high"},
        {"name": "李先生", "tags": ["VIP", "老客"], "spending_power": "high"},
        {"tags": CHANGED},
    ),
    # redacted by an opt-out before: the values cannot be compared, the fields stay named
    "redacted": (
        {"name": ERASED, "job": None},
        {"name": ERASED, "job": ERASED},
        {"name": CHANGED, "job": CHANGED},
    ),
    # already by field name only
    "current": (None, {"name": CHANGED}, {"name": CHANGED}),
}


def _message(conn: Connection, **values: Any) -> int:
    """A push message to the customer, as an earlier release stored it."""
    return insert_id(conn, "push_messages", sku="SKU1", text="王丽华，您好", send_at=CREATED, **values)


def _entry(
    conn: Connection, customer: int, action: str, before: dict[str, Any] | None, after: dict[str, Any]
) -> int:
    """An operator's audit entry of ``action`` on the customer; its id."""
    made: int = conn.execute(
        AUDIT.insert()
        .values(
            at=CREATED,
            actor_kind="user",
            actor_ref="1",
            actor_label="运营",
            action=action,
            entity="customer",
            entity_id=str(customer),
            before=before,
            after=after,
        )
        .returning(AUDIT.c.id)
    ).scalar_one()
    return made


def test_the_frozen_rules_give_what_the_application_writes_now() -> None:
    assert _migration.summary(refusal(500)) == refusal(500)
    assert _migration.summary(refusal(200, errcode=93000)) == refusal(200, errcode=93000)
    assert _migration.summary(refusal(None, error="ConnectError")) == "ConnectError"
    assert _migration.summary(refusal(None)) == refusal(None)
    for before, after, _ in ENTRIES.values():
        if before is not None and ERASED not in json.dumps([before, after], ensure_ascii=False):
            assert _migration.fields_only(before, after) == changed_fields(before, after)


def test_migration_0039_rewrites_stored_refusals_and_audit_values(scratch_at: ScratchAt) -> None:
    scratch_url = scratch_at(PROGRAMS_REVISION)
    engine, (program,) = programs_at(scratch_url, "0038", "p")
    with engine.begin() as conn:
        member = insert_id(conn, "members", program_id=program, name="推广员", joined_at=CREATED)
        customer = insert_id(
            conn,
            "customers",
            program_id=program,
            member_id=member,
            customer_ref_hash="h" * 64,
            customer_ref_masked="138****5678",
            name="王丽华",
            tags="[]",
            source="manual",
            preferred_categories="[]",
            created_at=CREATED,
            updated_at=CREATED,
        )
        push = insert_id(
            conn,
            "pushes",
            program_id=program,
            member_id=member,
            skus="[]",
            channel="webhook",
            created_at=CREATED,
        )
        message = {"push_id": push, "program_id": program, "member_id": member, "customer_id": customer}
        messages = {
            stored: _message(conn, **message, status="failed", attempts=5, last_error=stored)
            for stored in REFUSALS
        }
        sent = _message(conn, **message, status="sent", attempts=1)
        entries = {
            key: _entry(conn, customer, "customer.update", before, after)
            for key, (before, after, _) in ENTRIES.items()
        }
        created = {"member_id": member, "customer": "138****5678", "source": "manual"}
        create_entry = _entry(conn, customer, "customer.create", None, created)

    upgrade(scratch_url)
    upgrade(scratch_url)  # at head: nothing more to do

    with engine.connect() as conn:
        stored = {int(i): e for i, e in conn.execute(text("SELECT id, last_error FROM push_messages"))}
        audited = {
            int(i): (b, a) for i, b, a in conn.execute(sa.select(AUDIT.c.id, AUDIT.c.before, AUDIT.c.after))
        }
    engine.dispose()
    assert {old: stored[messages[old]] for old in REFUSALS} == REFUSALS
    assert stored[sent] is None
    assert {key: audited[entries[key]] for key in ENTRIES} == {
        key: (None, kept) for key, (_, _, kept) in ENTRIES.items()
    }
    assert audited[create_entry] == (None, created)  # a creation's entry is as the application writes it now
    left = json.dumps([list(stored.values()), list(audited.values())], ensure_ascii=False)
    assert not any(
        personal in left for personal in ("王丽华", "王女士", "李先生", "律师", "1990", "VIP", "13812345678")
    )


def test_migration_0039_rewrites_audit_entries_a_page_at_a_time(
    scratch_at: ScratchAt, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch_url = scratch_at(PROGRAMS_REVISION)
    engine, _ = programs_at(scratch_url, "0038", "p")
    kinds = [key for key in ENTRIES for _ in range(3)]  # more entries than a page, pages across kinds
    with engine.begin() as conn:
        made = [_entry(conn, 1, "customer.update", *ENTRIES[key][:2]) for key in kinds]
        other = _entry(conn, 1, "customer.create", None, {"source": "manual", "name": "王丽华"})
    monkeypatch.setattr(_migration, "_PAGE", 2, raising=False)
    with statements(engine) as sent, engine.begin() as conn:
        _migration._audit_entries(conn)
    # a page of two per read, and the empty one that ends them
    assert len(page_reads(sent, "audit_entries")) == len(made) // 2 + 1
    with engine.connect() as conn:
        audited = {
            int(i): (b, a) for i, b, a in conn.execute(sa.select(AUDIT.c.id, AUDIT.c.before, AUDIT.c.after))
        }
    engine.dispose()
    assert [audited[i] for i in made] == [(None, ENTRIES[key][2]) for key in kinds]
    assert audited[other] == (None, {"source": "manual", "name": "王丽华"})  # not an update: as it was
