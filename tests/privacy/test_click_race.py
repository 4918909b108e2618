"""A batch of clicks stored on another connection at the moment the shopper opts out, on both
databases: an opt-out that commits after the batch's suppression check does not leave the shopper's
click or touch with her real hash.

The batch takes its customers' lock (``privacy.repository.lock_customers``) before that check, and holds
it to its commit: on SQLite the database's write lock, taken with BEGIN IMMEDIATE, since the driver
runs the check outside any transaction and would open one only at the first INSERT. The batch holds
right after its check (``tests.lock_waits``) until the opt-out waits for the lock; the opt-out then
erases what the batch wrote. Without the lock on SQLite, the opt-out commits in that window and the
batch writes the touch and the click with the hash it checked before.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.links.clicks import store_clicks
from neigou.links.models import LinkClick, ShareLink, Touch
from neigou.links.useragent import UaClass
from neigou.privacy import repository
from tests.conftest import SECRET
from tests.lock_waits import lock_waits
from tests.orders import builders as orders
from tests.privacy.builders import SHOPPER, SHOPPER_HASH
from tests.privacy.races import lock_width, opt_out, paused, race  # noqa: F401 - fixtures


@pytest.mark.usefixtures("lock_width")
def test_a_click_checked_before_the_opt_out_commits_keeps_no_hash_of_hers(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = orders.build(client, operator, factory)
    with factory() as session:
        link_id = session.scalars(select(ShareLink.id).where(ShareLink.code == world.link)).one()
    at = utcnow() - timedelta(minutes=1)
    click = (
        "race-click",
        link_id,
        world.program_id,
        world.seller,
        at,
        None,
        UaClass.MOBILE.value,
        SHOPPER_HASH,
    )
    waits = lock_waits(factory, 2)
    monkeypatch.setattr(repository, "suppressed", paused(repository.suppressed, waits))

    erased, kept = race(
        factory,
        writer=lambda session: store_clicks(session, [click]),
        opt_out=lambda session: opt_out(
            session, secret_key=SECRET, customer_ref=SHOPPER, program_id=world.program_id
        ),
        writer_first=True,
        waits=waits,
    )
    assert kept == 1  # the click is stored
    with factory() as session:
        hashed = [
            session.scalar(
                select(func.count()).select_from(table).where(table.customer_ref_hash == SHOPPER_HASH)
            )
            for table in (LinkClick, Touch)
        ]
        assert session.scalar(select(func.count()).select_from(LinkClick)) == 1
    assert hashed == [0, 0]
    # The opt-out waited for the batch's commit and erased the touch it wrote.
    assert erased["touches"] == 1
