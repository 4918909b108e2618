"""A member's earnings since several instants (the workspace home's today and this month), in one
statement: each figure counts the commission posted from its own start on."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.ledger import repository as ledger
from tests.orders.builders import SKU, build, order_body, post_order
from tests.statements import statements


def test_each_start_counts_what_was_earned_from_it_on(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    now = utcnow()
    post_order(client, operator, order_body(w, "EARLIER-1", (SKU, 1, 30_000), at=now - timedelta(days=3)))
    post_order(client, operator, order_body(w, "NOW-1", (SKU, 2, 50_000), at=now))
    starts = [now - timedelta(hours=1), now - timedelta(days=4), now + timedelta(hours=1)]
    with factory() as session:
        (recent,) = ledger.earned_since(session, w.seller, starts[:1])
        (both,) = ledger.earned_since(session, w.seller, starts[1:2])
        with statements(session.get_bind().engine) as sent:
            figures = ledger.earned_since(session, w.seller, starts)
        assert ledger.earned_since(session, w.seller, []) == []
    assert 0 < recent < both
    assert figures == [recent, both, 0]
    assert len(sent) == 1
