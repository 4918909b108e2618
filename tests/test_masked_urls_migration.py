"""Migration 0029 masks every stored masked URL again by the one rule (no user and password, the query as
``?…``, key-like path segments as ``…``): the program's alert robot (groups), the CRM push target and an
integration's outbound URL, from the sealed URL where the migrating process's keys open it and from the
older masked text where they do not (a CRM target the older rule cut short loses its cut last piece);
rows without a URL stay without, the sealed values and an integration's deliveries, attempts and
receipts are kept, and downgrading changes nothing; on SQLite and PostgreSQL."""

from __future__ import annotations

import logging

import pytest
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text

from neigou.kit.sealed import Sealer
from neigou.migrations.runner import alembic_config, upgrade
from tests.migrating import (
    CREATED,
    PROGRAMS_REVISION,
    group_settings,
    hanging,
    hanging_off,
    insert,
    insert_id,
    programs_at,
)
from tests.migration_templates import ScratchAt

FEISHU = "https://bot:hunter2@open.feishu.cn/open-apis/bot/v2/hook/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0?x=1"
SLACK = "https://ops:s3cret@hooks.slack.com/services/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"
# A CRM target longer than the 200 characters the older rule cut it to: the cut falls 8 characters into
# its last segment (a token), too short now to look like one; and one cut inside its password.
LONG = "https://hooks.example.com/" + "a" * 165 + "/Ab12Cd34Ef56Gh78Ij90"
LONG_USER = "https://user:" + "p" * 200 + "@hooks.example.com/send"
# What the older rules stored: groups and CRM kept the user and password and every path segment (CRM
# cut to 200 characters), integrations (0028) dropped the user and password.
OLD = {
    FEISHU: "https://bot:hunter2@open.feishu.cn/open-apis/bot/v2/hook/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0?…",
    SLACK: "https://ops:s3cret@hooks.slack.com/services/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",
    LONG: LONG[:200],
    LONG_USER: LONG_USER[:200],
}
OLD_INTEGRATION = "https://hooks.slack.com/services/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"
NEW = {
    FEISHU: "https://open.feishu.cn/open-apis/bot/v2/hook/…?…",
    SLACK: "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/…",
    LONG: "https://hooks.example.com/" + "a" * 165 + "/…",
    LONG_USER: "https://…",
}
SECRETS = ("hunter2", "s3cret", "0f1e2d3c", "q1w2e3r4", "Ab12Cd34", "pppp")


def _masked(engine: Engine, query: str) -> dict[int, tuple[str | None, str | None]]:
    with engine.connect() as conn:
        return {row[0]: (row[1], row[2]) for row in conn.execute(text(query))}


GROUPS = "SELECT program_id, webhook_url_sealed, webhook_url_masked FROM group_settings"
CRM = "SELECT program_id, target_sealed, target_masked FROM crm_settings"
INTEGRATIONS = "SELECT id, outbound_url_sealed, outbound_url_masked FROM integrations"


def test_migration_0029_masks_stored_urls_again_and_keeps_every_row(
    scratch_at: ScratchAt, migration_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    opens, lost = Sealer([migration_key]), Sealer([Fernet.generate_key().decode()])
    scratch_url = scratch_at(PROGRAMS_REVISION)
    engine, (first, second, third) = programs_at(scratch_url, "0028", "first", "second", "third")
    with engine.begin() as conn:
        sealed = {
            "groups": (opens.seal(FEISHU), lost.seal(SLACK)),
            "crm": (opens.seal(SLACK), lost.seal(LONG), lost.seal(LONG_USER)),
            "integrations": (opens.seal(SLACK), lost.seal(SLACK)),
        }
        for program, token, url in (
            (first, sealed["groups"][0], FEISHU),
            (second, sealed["groups"][1], SLACK),
        ):
            group_settings(conn, program, webhook_url_sealed=token, webhook_url_masked=OLD[url])
        group_settings(conn, third)  # no robot
        for program, token, url in zip(
            (first, second, third), sealed["crm"], (SLACK, LONG, LONG_USER), strict=True
        ):
            insert(
                conn,
                "crm_settings",
                program_id=program,
                channel="wecom_robot",
                cap_pushes=2,
                cap_days=7,
                quiet_start="22:00:00",
                quiet_end="08:00:00",
                target_sealed=token,
                target_masked=OLD[url],
                updated_at=CREATED,
            )
        shops = [
            insert_id(
                conn,
                "integrations",
                program_id=first,
                name=name,
                inbound_secret_sealed=opens.seal("whsec_aW4="),
                outbound_secret_sealed=opens.seal("whsec_b3V0"),
                outbound_url_sealed=token,
                outbound_url_masked=OLD_INTEGRATION if token else None,
                active=True,
                created_at=CREATED,
            )
            for name, token in (
                ("opens", sealed["integrations"][0]),
                ("lost", sealed["integrations"][1]),
                ("none", None),
            )
        ]
        for shop in shops[:2]:
            hanging_off(conn, shop)
    kept = hanging(engine)
    assert kept == {"webhook_deliveries": 2, "webhook_attempts": 2, "webhook_receipts": 2}
    expected = {
        GROUPS: {
            first: (sealed["groups"][0], NEW[FEISHU]),
            second: (sealed["groups"][1], NEW[SLACK]),
            third: (None, None),
        },
        CRM: {
            program: (token, NEW[url])
            for program, token, url in zip(
                (first, second, third), sealed["crm"], (SLACK, LONG, LONG_USER), strict=True
            )
        },
        INTEGRATIONS: {
            shops[0]: (sealed["integrations"][0], NEW[SLACK]),
            shops[1]: (sealed["integrations"][1], NEW[SLACK]),
            shops[2]: (None, None),
        },
    }
    with caplog.at_level(logging.WARNING):
        upgrade(scratch_url)
    for query, rows in expected.items():
        assert _masked(engine, query) == rows, query
    assert hanging(engine) == kept
    said = caplog.text
    assert "group_settings.webhook_url_sealed: 1 sealed URLs" in said
    assert "crm_settings.target_sealed: 2 sealed URLs" in said
    assert "integrations.outbound_url_sealed: 1 sealed URLs" in said
    assert not [s for s in SECRETS if s in said]
    command.downgrade(alembic_config(scratch_url), "0028")  # nothing to undo
    assert hanging(engine) == kept
    upgrade(scratch_url)  # and up again: masked already
    for query, rows in expected.items():
        assert _masked(engine, query) == rows, query
    engine.dispose()
