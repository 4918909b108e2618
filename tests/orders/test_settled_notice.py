"""The console's orders page shows a settlement's notice from its query, and ignores a query it did
not write (edited by hand, cut short, or guessed) instead of failing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.web.console_orders import settled_notice
from tests.sign_in import console_sign_in

BAD = [
    "abc",
    "",
    ":",
    "1",
    "1:",
    ":2",
    "1:2:3",
    "-1:2",
    "1:-2",
    "1.5:2",
    "1:2 ",
    " 1:2",
    "１:２",
    "٣:4",
    "1:" + "9" * 16,
]


def test_a_settlement_notice_reads_only_what_a_settlement_writes(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    console_sign_in(client, factory)
    good = client.get("/console/orders", params={"settled": "3:12345", "lang": "en"})
    assert good.status_code == 200
    assert 'data-testid="settled"' in good.text
    assert "Settled 3 orders" in good.text
    for value in BAD:
        page = client.get("/console/orders", params={"settled": value})
        assert page.status_code == 200, value
        assert 'data-testid="settled"' not in page.text, value


@pytest.mark.no_database
def test_the_notice_is_parsed_or_dropped() -> None:
    assert settled_notice("0:0") == (0, 0)
    assert settled_notice("12:" + "9" * 15) == (12, 10**15 - 1)
    assert [settled_notice(v) for v in [None, *BAD]] == [None] * (len(BAD) + 1)
