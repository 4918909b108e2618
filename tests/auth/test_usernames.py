"""Console usernames have one key whatever their case or width: ``Admin`` and full-width ``ａｄｍｉｎ`` are
the account ``admin`` (taken, and signing in as ``ADMIN`` finds it); a name holding an invisible mark is
refused, so an impostor cannot look like another operator in the audit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.kit.db import transaction
from neigou.kit.errors import Conflict, Invalid
from tests.conftest import TEST_ACTOR, row_counts
from tests.sign_in import PASSWORD, console_sign_in, create_operator


@pytest.mark.parametrize("other", ["Admin", "ADMIN ", "ａｄｍｉｎ", "\tadmin", "ＡＤＭＩＮ"])
def test_another_form_of_a_taken_username_is_taken(factory: sessionmaker[Session], other: str) -> None:
    create_operator(factory, "admin")
    with pytest.raises(Conflict) as taken, transaction(factory) as session:
        auth.create_user(session, username=other, password=PASSWORD, actor=TEST_ACTOR)
    assert taken.value.code == "username_taken"


@pytest.mark.parametrize("name", ["admin\u200b", "ad\u200dmin", "ad\u00admin", "admin\ufe0f", "\u2060admin"])
def test_a_username_holding_an_invisible_mark_is_refused(factory: sessionmaker[Session], name: str) -> None:
    before = row_counts(factory)
    with pytest.raises(Invalid) as refused, transaction(factory) as session:
        auth.create_user(session, username=name, password=PASSWORD, actor=TEST_ACTOR)
    assert refused.value.code == "invalid_username"
    assert row_counts(factory) == before


@pytest.mark.parametrize("typed", ["ADMIN", " Admin", "ａｄｍｉｎ", "admin\u200b"])
def test_signing_in_finds_the_account_by_its_key(factory: sessionmaker[Session], typed: str) -> None:
    create_operator(factory, "admin")
    with transaction(factory) as session:
        user = auth.authenticate(session, username=typed, password=PASSWORD)
        assert user is not None
        assert user.username == "admin"
        assert auth.authenticate(session, username=typed, password="wrong-pass") is None


def test_the_console_refuses_an_invisible_username_in_the_readers_language(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    console_sign_in(client, factory)
    before = row_counts(factory)
    refused = client.post("/console/users", data={"username": "ops\u200b", "password": "long-enough-1"})
    assert refused.status_code == 422
    assert 'data-code="invalid_username"' in refused.text
    assert "用户名不能包含不可见字符。" in refused.text
    taken = client.post("/console/users", data={"username": "ＯＰＳ", "password": "long-enough-1"})
    assert taken.status_code == 409
    assert row_counts(factory) == before
    client.cookies.clear()
    signed_in = client.post(
        "/console/login", data={"username": "Ops", "password": PASSWORD}, follow_redirects=False
    )
    assert signed_in.status_code == 303


@pytest.mark.parametrize(
    ("username", "display_name", "code"),
    [
        ("o" * 65, None, "invalid_username"),
        (" " + "o" * 65 + " ", None, "invalid_username"),
        ("\ufdfa" * 15, None, "invalid_username"),  # 15 characters, but a key of 270 (NFKC expands each)
        ("ops", "名" * 121, "invalid_display_name"),
    ],
)
def test_a_name_longer_than_its_column_is_refused(
    factory: sessionmaker[Session], username: str, display_name: str | None, code: str
) -> None:
    before = row_counts(factory)
    with pytest.raises(Invalid) as refused, transaction(factory) as session:
        auth.create_user(
            session, username=username, display_name=display_name, password=PASSWORD, actor=TEST_ACTOR
        )
    assert refused.value.code == code
    assert row_counts(factory) == before


def test_the_longest_names_are_kept_whole(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        user = auth.create_user(
            session,
            username=" " + "o" * 64 + " ",
            display_name="名" * 120,
            password=PASSWORD,
            actor=TEST_ACTOR,
        )
        assert (user.username, user.display_name) == ("o" * 64, "名" * 120)


def test_the_console_refuses_a_long_username_beside_its_field(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    console_sign_in(client, factory)
    before = row_counts(factory)
    refused = client.post("/console/users", data={"username": "o" * 65, "password": "long-enough-1"})
    assert refused.status_code == 422
    assert 'data-code="invalid_username"' in refused.text
    assert "用户名最多 64 个字符。" in refused.text
    assert 'maxlength="64"' in refused.text
    assert row_counts(factory) == before
