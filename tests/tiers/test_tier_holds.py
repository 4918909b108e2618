"""A tier evaluation or override holds its program against the other (and a ladder replacement) for as
long as it runs, but never against the program's own traffic: a member joining, a claim or a refund
inserts a row referencing the program (``FOR KEY SHARE``), which ``FOR NO KEY UPDATE`` lets through
while ``FOR UPDATE`` held a large program's joins for the whole run."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from neigou.programs import repository as programs_repo
from neigou.programs.models import Program
from tests.factories import create_program


@pytest.mark.postgres_only
def test_a_held_program_still_takes_rows_that_reference_it(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program_id = create_program(client, operator)["id"]
    with factory() as holder, factory() as other:
        programs_repo.hold_tier_changes(holder, program_id)  # an evaluation's hold, not yet committed
        other.execute(text("SET LOCAL lock_timeout = '2s'"))
        # what every insert referencing the program takes: granted beside the hold
        other.execute(
            select(Program.id).where(Program.id == program_id).with_for_update(read=True, key_share=True)
        )
        other.rollback()
        # a second hold (an override during the run) waits for the first
        other.execute(text("SET LOCAL lock_timeout = '200ms'"))
        with pytest.raises(OperationalError):
            programs_repo.hold_tier_changes(other, program_id)
        other.rollback()
        holder.rollback()
