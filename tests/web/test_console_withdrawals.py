"""The console's withdrawals page pages each of its lists (requests, approved ones waiting for a batch,
batches) with real counts, and finds the approved withdrawals in no batch in its statement: cutting the
newest approved ones first and dropping the batched after lost older unbatched ones, and with them the
"Create payout batch" button. Two rows a page keep the world small."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.web import console_orders
from tests.conftest import TokenMaker
from tests.orders.builders import settled_world
from tests.sign_in import console_sign_in, member_sign_in


def _total(page: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>([^<]*)<', page)
    assert match is not None, testid
    return match.group(1).strip()


def _links(page: str, testid: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(rf'<a href="([^"]*)" data-testid="{testid}"', page)]


def test_each_list_is_paged_and_an_older_approved_withdrawal_stays_batchable(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(console_orders, "WITHDRAWALS_PER_PAGE", 2)
    w, _order = settled_world(client, operator, factory)
    made = [
        client.post(
            f"/api/v1/members/{w.seller}/withdrawals",
            json={"amount_fen": 100 + n, "request_id": f"p{n}"},
            headers=operator,
        ).json()["id"]
        for n in range(7)
    ]
    console_sign_in(client, factory)
    for withdrawal in made[1:4]:  # three batches, each of one newer withdrawal
        assert client.post(f"/console/withdrawals/{withdrawal}/approve").status_code == 200
        assert client.post(f"/console/programs/{w.program_id}/payout-batches").status_code == 200
    client.post(f"/console/withdrawals/{made[0]}/approve")  # the oldest, approved last, in no batch

    page = client.get(f"/console/withdrawals?program_id={w.program_id}")
    assert page.status_code == 200
    # the two newest approved withdrawals are batched: the oldest is still listed, with its batch button
    assert _total(page.text, "approved-total") == "1"
    assert page.text.count('data-testid="approved-row"') == 1
    assert f'action="/console/programs/{w.program_id}/payout-batches"' in page.text
    assert _total(page.text, "requested-total") == "3"
    assert page.text.count('data-testid="withdrawal-row"') == 2
    assert page.text.count('data-testid="batch-row"') == 2
    next_links = _links(page.text, "pager-next")
    assert next_links == [
        f"/console/withdrawals?program_id={w.program_id}&requested_page=2#to-review",
        f"/console/withdrawals?program_id={w.program_id}&batches_page=2#batches",
    ]
    later = client.get(next_links[0].split("#")[0] + "&batches_page=2").text
    assert later.count('data-testid="withdrawal-row"') == 1  # the third request
    assert later.count('data-testid="batch-row"') == 1  # the first batch
    assert _total(later, "requested-total") == "3"

    client.post(f"/console/programs/{w.program_id}/payout-batches")
    done = client.get(f"/console/withdrawals?program_id={w.program_id}").text
    assert _total(done, "approved-total") == "0"
    assert "payout-batches" not in done.split('id="batches"')[0]  # nothing left to batch: no button


def test_the_page_and_its_page_numbers_need_an_operator(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w, _order = settled_world(client, operator, factory)
    url = "/console/withdrawals?requested_page=2&approved_page=3&batches_page=4"
    anonymous = client.get(url, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/console/login")
    member_sign_in(client, make_token(Role.MEMBER, w.seller))
    assert client.get(url, follow_redirects=False).status_code == 403
    console_sign_in(client, factory)
    assert client.get(url).status_code == 200
    for bad in ("requested_page=0", "approved_page=x", "batches_page=100001"):
        assert client.get(f"/console/withdrawals?{bad}").status_code == 422, bad
