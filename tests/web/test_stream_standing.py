"""The console's live board stream ends once its operator no longer stands: a session revoked (sign-out,
the account stopped) ends the stream within a few ticks, not when the browser goes away. The ticks
are made short here; the stream is a request of the test client, which returns once the stream ends."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import accounts
from neigou.auth import service as auth
from neigou.auth.standing import valid_until
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.web import console_events
from tests.conftest import TEST_ACTOR
from tests.events.builders import create_event
from tests.factories import create_program
from tests.sign_in import console_sign_in

ENDS_WITHIN = 30.0  # seconds: a stall, far beyond the few short ticks the stream needs


def _watch(client: TestClient, path: str) -> tuple[threading.Thread, list[Any]]:
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(client.get(path)), daemon=True)
    thread.start()
    return thread, answers


def _asked(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set once the stream has asked whether its operator stands (it then pushes its first board)."""
    asked = threading.Event()
    ask = valid_until

    def counted(session: Session, token_id: int) -> datetime | None:
        answer = ask(session, token_id)
        asked.set()
        return answer

    monkeypatch.setattr("neigou.web.console_events.valid_until", counted)
    return asked


@pytest.mark.parametrize("how", ["revoked", "deactivated"])
def test_the_board_stream_ends_once_its_session_no_longer_stands(
    how: str,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(console_events, "BOARD_SECONDS", 0.02)
    monkeypatch.setattr(console_events, "STANDING_TICKS", 3)
    program = create_program(client, operator, code="standing")
    event_id = create_event(client, operator, program["id"])
    console_sign_in(client, factory)
    secret = client.cookies["neigou_session"]
    asked = _asked(monkeypatch)
    thread, answers = _watch(client, f"/console/events/{event_id}/board/stream")
    try:
        assert asked.wait(ENDS_WITHIN), answers
        assert thread.is_alive(), answers
        with transaction(factory) as session:
            principal = auth.resolve(session, secret)
            assert principal is not None
            assert principal.user_id is not None
            if how == "revoked":
                auth.revoke(session, token_id=principal.token_id)
            else:
                accounts.set_user_active(
                    session, user_id=principal.user_id, active=False, actor=TEST_ACTOR, at=utcnow()
                )
        thread.join(ENDS_WITHIN)
        assert not thread.is_alive(), "the stream outlived its session"
        assert answers[0].status_code == 200
        assert "event: board" in answers[0].text
    finally:
        client.app.state.streams.close()  # type: ignore[attr-defined]  # ends a stream left open
        thread.join(ENDS_WITHIN)
