"""Migration 0059 masks again every stored masked URL that kept a credential beside punctuation in its
path (a Telegram bot's ``bot<id>:<token>``, a JWT, a matrix parameter, a percent-encoded base64 key): the
program's alert robot (groups), the CRM push target and an integration's outbound URL, from the sealed URL
where the migrating process's keys open it and from the older masked text where they do not (a CRM target
cut to its 200 characters loses its cut last piece); masked URLs without such a credential (a WeCom
robot's) and rows without a URL stay as they were, the sealed values and an integration's deliveries,
attempts and receipts are kept, and downgrading changes nothing; on SQLite and PostgreSQL."""

from __future__ import annotations

import logging

import pytest
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import Connection, Engine, text

from neigou.kit.db import make_engine
from neigou.kit.sealed import Sealer
from neigou.migrations.runner import alembic_config, upgrade
from tests.migrating import CREATED, group_settings, hanging, hanging_off, insert, insert_id
from tests.migration_templates import ScratchAt

TELEGRAM_TOKEN = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"
TELEGRAM = f"https://bot:hunter2@api.telegram.org/bot123456789:{TELEGRAM_TOKEN}/sendMessage?chat_id=1"
IN_JWT = f"https://shop.example/in/{JWT}"
MATRIX = "https://shop.example/send;token=s3cr3tT0ken99"
BASE64 = "https://shop.example/in/c2VjcmV0LXRva2VuLXZhbHVl%2Bx%3D%3D"
WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693axxx6-7aoc-4bc4-97a0-0ec2sifa5aaa"
# A CRM target cut to 200 characters by the older rule 12 characters into a JWT's segment: too short a
# piece now to look like a key.
LONG = "https://hooks.example.com/" + "a" * 161 + "/" + JWT
# What the older rule (0029's) stored: the user and password and the query gone, the path as written.
OLD = {
    TELEGRAM: f"https://api.telegram.org/bot123456789:{TELEGRAM_TOKEN}/sendMessage?…",
    IN_JWT: IN_JWT,
    MATRIX: MATRIX,
    BASE64: BASE64,
    WECOM: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?…",
    LONG: LONG[:200],
}
NEW = {
    TELEGRAM: "https://api.telegram.org/…/sendMessage?…",
    IN_JWT: "https://shop.example/in/…",
    MATRIX: "https://shop.example/send;…",
    BASE64: "https://shop.example/in/…",
    WECOM: OLD[WECOM],
    LONG: "https://hooks.example.com/" + "a" * 161 + "/…",
}
SECRETS = ("hunter2", TELEGRAM_TOKEN, "eyJhbGci", "s3cr3tT0ken99", "c2VjcmV0", "693axxx6")
PROGRAM = (
    "INSERT INTO programs (code, name, timezone, attribution_model, attribution_window_days, freeze_days,"
    " max_levels, self_purchase_commission, created_at, organization_id)"
    " VALUES (:code, :code, 'Asia/Shanghai', 'last_click', 30, 7, 2, true, :at, :org)"
)
GROUPS = "SELECT program_id, webhook_url_sealed, webhook_url_masked FROM group_settings"
CRM = "SELECT program_id, target_sealed, target_masked FROM crm_settings"
INTEGRATIONS = "SELECT id, outbound_url_sealed, outbound_url_masked FROM integrations"


def _masked(engine: Engine, query: str) -> dict[int, tuple[str | None, str | None]]:
    with engine.connect() as conn:
        return {row[0]: (row[1], row[2]) for row in conn.execute(text(query))}


def _program(conn: Connection, code: str, org: int) -> int:
    conn.execute(text(PROGRAM), {"code": code, "at": CREATED, "org": org})
    return int(conn.execute(text("SELECT id FROM programs WHERE code = :c"), {"c": code}).scalar_one())


def test_migration_0059_masks_path_credentials_again_and_keeps_every_row(
    scratch_at: ScratchAt, migration_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    opens, lost = Sealer([migration_key]), Sealer([Fernet.generate_key().decode()])
    scratch_url = scratch_at("0058")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            org = insert_id(conn, "organizations", code="org-m", name="品牌", created_at=CREATED)
            programs = [_program(conn, code, org) for code in ("first", "second", "third", "fourth")]
            robots = [(opens, TELEGRAM), (lost, IN_JWT), (lost, WECOM)]
            sealed_robots = [sealer.seal(url) for sealer, url in robots]
            for program, token, (_, url) in zip(programs, sealed_robots, robots, strict=False):
                group_settings(conn, program, webhook_url_sealed=token, webhook_url_masked=OLD[url])
            group_settings(conn, programs[3])  # no robot
            targets = [(opens, MATRIX), (lost, BASE64), (lost, LONG), (opens, WECOM)]
            sealed_targets = [sealer.seal(url) for sealer, url in targets]
            for program, token, (_, url) in zip(programs, sealed_targets, targets, strict=True):
                insert(
                    conn,
                    "crm_settings",
                    program_id=program,
                    channel="webhook",
                    cap_pushes=2,
                    cap_days=7,
                    quiet_start="22:00:00",
                    quiet_end="08:00:00",
                    target_sealed=token,
                    target_masked=OLD[url],
                    updated_at=CREATED,
                )
            shops = [(opens, TELEGRAM), (lost, TELEGRAM), (lost, MATRIX), (None, None)]
            sealed_shops = [sealer.seal(url) if sealer and url else None for sealer, url in shops]
            shop_ids = [
                insert_id(
                    conn,
                    "integrations",
                    program_id=programs[0],
                    name=f"shop-{n}",
                    inbound_secret_sealed=opens.seal("whsec_aW4="),
                    outbound_secret_sealed=opens.seal("whsec_b3V0"),
                    outbound_url_sealed=token,
                    outbound_url_masked=OLD[url] if url else None,
                    active=True,
                    created_at=CREATED,
                )
                for n, (token, (_, url)) in enumerate(zip(sealed_shops, shops, strict=True))
            ]
            for shop in shop_ids[:3]:
                hanging_off(conn, shop)
        kept = hanging(engine)
        assert kept == {"webhook_deliveries": 3, "webhook_attempts": 3, "webhook_receipts": 3}
        expected = {
            GROUPS: {
                **{p: (t, NEW[u]) for p, t, (_, u) in zip(programs, sealed_robots, robots, strict=False)},
                programs[3]: (None, None),
            },
            CRM: {p: (t, NEW[u]) for p, t, (_, u) in zip(programs, sealed_targets, targets, strict=True)},
            INTEGRATIONS: {
                i: (t, NEW[u] if u else None)
                for i, t, (_, u) in zip(shop_ids, sealed_shops, shops, strict=True)
            },
        }
        before = {query: _masked(engine, query) for query in expected}
        assert before != expected

        with caplog.at_level(logging.WARNING):
            upgrade(scratch_url, "0059")
        for query, rows in expected.items():
            assert _masked(engine, query) == rows, query
            assert not [s for s in SECRETS if s in repr(_masked(engine, query))]
        assert hanging(engine) == kept
        said = caplog.text
        assert "group_settings.webhook_url_sealed: 2 sealed URLs" in said
        assert "crm_settings.target_sealed: 2 sealed URLs" in said
        assert "integrations.outbound_url_sealed: 2 sealed URLs" in said
        assert not [s for s in SECRETS if s in said]

        command.downgrade(alembic_config(scratch_url), "0058")  # nothing to undo
        for query, rows in expected.items():
            assert _masked(engine, query) == rows, query
        upgrade(scratch_url, "0059")  # and up again: masked already
        for query, rows in expected.items():
            assert _masked(engine, query) == rows, query
        assert hanging(engine) == kept
    finally:
        engine.dispose()
