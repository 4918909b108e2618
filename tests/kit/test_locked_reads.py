"""A locking read (``kit.db.get_or_404(lock=True)``) decides on the row as the lock finds it: a copy the
session loaded before the lock, then changed and committed by someone else, is refreshed, not returned
as it was (SQLAlchemy's ``Session.get`` emits the ``FOR UPDATE`` but keeps the loaded attributes unless
told to populate them)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.db import get_or_404
from neigou.kit.i18n import Message
from neigou.programs.models import Program
from tests.factories import create_program


def test_a_locked_read_sees_the_change_committed_after_the_first_read(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program_id = int(create_program(client, operator)["id"])
    with factory() as session:
        first = get_or_404(session, Program, program_id, code="x", detail=Message("x"))
        assert first.name == "Program partners"
        with factory.begin() as other:
            other.execute(update(Program).where(Program.id == program_id).values(name="Renamed"))
        locked = get_or_404(session, Program, program_id, code="x", detail=Message("x"), lock=True)
        assert locked is first
        assert locked.name == "Renamed"
        session.rollback()
