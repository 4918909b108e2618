"""The same phone joining from two phones at once: one member, both answers name it.

On PostgreSQL the joins run in parallel threads with their own transactions, so the unique
(program_id, customer_ref_hash) index decides and the loser finds the winner's member. SQLite
serialises writers, so there the joins run one after another (the outcome is still checked).
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.network import joins
from neigou.network.recruit_codes import recruit_code
from neigou.programs.models import Member
from tests.conftest import BACKEND, SECRET
from tests.factories import create_member, create_program
from tests.parallel import in_parallel

THREADS = 8 if BACKEND == "postgresql" else 1


def test_parallel_joins_with_one_phone_make_one_member(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator)
    inviter = create_member(client, operator, program["id"], "群主")
    code = recruit_code(SECRET, inviter["id"])
    counter = iter(range(THREADS * 2))

    def attempt(session: Session) -> tuple[int, bool]:
        result = joins.join(
            session, code=code, name=f"新人{next(counter)}", phone="13812340000", secret_key=SECRET
        )
        return result.member.id, result.created

    # PostgreSQL: every join at once; SQLite serialises writers: two joins, one after the other.
    rounds = [THREADS] if THREADS > 1 else [1, 1]
    results = [r for n in rounds for r in in_parallel(factory, attempt, n)]
    joined = [r for r in results if isinstance(r, tuple)]
    assert len(joined) == len(results) == max(THREADS, 2), results
    assert len({member_id for member_id, _ in joined}) == 1
    assert [created for _, created in joined].count(True) == 1
    with factory() as session:
        count = session.scalar(select(func.count(Member.id)).where(Member.inviter_id == inviter["id"]))
    assert count == 1
