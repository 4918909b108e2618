"""A push written on another connection at the moment a customer it reaches opts out:
whichever comes first, no message keeps its text.

The push takes its customers' advisory locks (``privacy.repository.lock_customers``) before it holds
their rows and checks them. A push that came first holds the opt-out back until it commits, and the
opt-out then blanks the message it wrote; an opt-out that came first holds the push back, which then
skips the customer (``opted_out``). Each test holds the first side's transaction open after its
work until the other side waits for its lock or ran to its end (``tests.lock_waits``). Without the
lock the opt-out blanks no message of a push that came first (the customer row the push holds makes
an opt-out that came first wait anyway). On SQLite the lock is the database's write lock
(``kit.db.hold_write_lock``).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm import pushes
from neigou.crm.models import PushMessage, PushSkip, SkipReason
from neigou.kit.clock import utcnow
from neigou.kit.ids import ERASED
from neigou.programs.models import Member
from tests.campaigns import builders as fb
from tests.conftest import TEST_ACTOR, TokenMaker
from tests.crm import push_builders as pb
from tests.crm.push_builders import AT
from tests.lock_waits import lock_waits
from tests.privacy.races import lock_width, opt_out, race  # noqa: F401 - fixtures


def _race(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    *,
    push_first: bool,
) -> tuple[dict[str, int], list[str], list[str]]:
    """A push to 王女士 and her opt-out on two connections, the second started once the first did its
    work, which then holds its transaction open until the second waits for it (or ended); the
    opt-out's counts, the texts of the messages to her and the reasons she was skipped."""
    world = pb.build(client, operator, make_token, factory)
    secret = client.app.state.settings.secret_key  # type: ignore[attr-defined]
    waits = lock_waits(factory, 2)

    def push(session: Session) -> str:
        member = session.get(Member, world.feed.owner)
        assert member is not None
        pushes.create_push(
            session,
            member=member,
            ask=pushes.PushRequest(
                customer_ids=[world.wang], skus=[fb.TEE], template=None, due=AT, request_id="race"
            ),
            base_url="https://n.example",
            actor=TEST_ACTOR,
            now=utcnow(),
        )
        return "pushed"

    def opting_out(session: Session) -> dict[str, int]:
        return opt_out(
            session, secret_key=secret, customer_ref=world.refs[world.wang], program_id=world.feed.program_id
        )

    erased, _ = race(
        factory,
        writer=push,
        opt_out=opting_out,
        writer_first=push_first,
        waits=waits,
        pause_after_first=True,
    )
    with factory() as session:
        texts = list(session.scalars(select(PushMessage.text).where(PushMessage.customer_id == world.wang)))
        skips = list(session.scalars(select(PushSkip.reason).where(PushSkip.customer_id == world.wang)))
    return erased, texts, skips


@pytest.mark.usefixtures("lock_width")
def test_a_message_pushed_before_the_opt_out_is_blanked_by_it(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
) -> None:
    erased, texts, skips = _race(client, operator, make_token, factory, push_first=True)
    # The opt-out waited for the push's commit and blanked the message it wrote.
    assert (erased["push_messages"], texts, skips) == (1, [ERASED], [])


@pytest.mark.usefixtures("lock_width")
def test_a_push_made_during_the_opt_out_waits_and_skips_her(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
) -> None:
    erased, texts, skips = _race(client, operator, make_token, factory, push_first=False)
    # The push waited for the opt-out's commit, then found it: no message, a skip with the reason.
    assert (erased["push_messages"], texts, skips) == (0, [], [SkipReason.OPTED_OUT.value])
