"""Migration 0045 gives every console account its username's key (``kit.ids.caseless``); of accounts
whose names share a key all are kept, the oldest takes it and the others are logged by id (never by
name) and still sign in by their exact name; on SQLite and PostgreSQL."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.passwords import hash_password
from neigou.kit.db import make_engine, make_session_factory, transaction
from neigou.kit.ids import caseless
from neigou.migrations.runner import upgrade
from tests.migrating import CREATED, insert_id
from tests.migration_templates import ScratchAt


def test_migration_0045_keys_usernames_and_keeps_clashing_accounts(
    scratch_at: ScratchAt, caplog: pytest.LogCaptureFixture
) -> None:
    scratch_url = scratch_at("0044")
    engine = make_engine(scratch_url)
    names = {"admin": "admin", "upper": "Admin", "wide": "ａｄｍｉｎ", "zw": "admin\u200b", "li": "Li.Qiang"}
    secret = hash_password("s3cret-pass")
    with engine.begin() as conn:
        ids = {
            key: insert_id(
                conn,
                "users",
                username=name,
                display_name=name,
                password_hash=secret,
                active=True,
                created_at=CREATED,
            )
            for key, name in names.items()
        }
    with caplog.at_level(logging.WARNING):
        upgrade(scratch_url)
    with engine.connect() as conn:
        keys = {int(i): k for i, k in conn.execute(text("SELECT id, username_key FROM users"))}
    assert keys == {
        ids["admin"]: "admin",
        ids["upper"]: None,
        ids["wide"]: None,
        ids["zw"]: None,
        ids["li"]: "li.qiang",
    }
    assert keys[ids["li"]] == caseless(names["li"])
    said = caplog.text
    assert all(str(ids[key]) in said for key in ("upper", "wide", "zw"))
    assert "ａｄｍｉｎ" not in said
    assert "Admin" not in said
    factory: sessionmaker[Session] = make_session_factory(engine)
    with transaction(factory) as session:
        found = auth.authenticate(session, username="ADMIN", password="s3cret-pass")
        assert found is not None
        assert found.id == ids["admin"]
        for key in ("upper", "wide", "zw"):  # a kept account signs in by its exact name
            kept = auth.authenticate(session, username=names[key], password="s3cret-pass")
            assert kept is not None
            assert kept.id == ids[key]
        exact = auth.authenticate(session, username="Li.qiang", password="s3cret-pass")
        assert exact is not None
        assert exact.id == ids["li"]
    engine.dispose()
