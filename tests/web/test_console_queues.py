"""What waits for an operator, counted on the console's home and beside each queue: merchant changes
to review (the operator's organization only), member counts held for review, withdrawals to approve
and to pay, risk cases; a decision posted from a queue answers with the whole page, so the counts
around the list follow."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.models import Role
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from tests.conftest import TEST_ACTOR, TokenMaker, bearer
from tests.factories import create_program
from tests.groups.builders import create_group, post_count
from tests.orders.builders import settled_world
from tests.sign_in import PASSWORD, console_sign_in


def _testid(page: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>([^<]*)<', page)
    assert match is not None, testid
    return match.group(1).strip()


def _href(page: str, testid: str) -> str:
    match = re.search(rf'<a href="([^"]*)" data-testid="{testid}"', page)
    assert match is not None, testid
    return match.group(1).replace("&amp;", "&")


def test_home_counts_withdrawals_to_approve_and_to_pay_and_counts_held(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w, _order = settled_world(client, operator, factory)
    made = [
        client.post(
            f"/api/v1/members/{w.seller}/withdrawals",
            json={"amount_fen": fen, "request_id": f"q{fen}"},
            headers=operator,
        ).json()
        for fen in (1000, 500)
    ]
    group = create_group(client, operator, w.seller, name="待审群")
    held = post_count(client, operator, group["id"], 900, utcnow().isoformat())
    assert held.json()["review"] == "needs_review", held.text
    console_sign_in(client, factory)
    home = client.get(f"/console?program={w.program_id}").text
    assert _testid(home, "queue-approve") == "2 · ¥15.00"
    assert _testid(home, "queue-pay") == "0 · ¥0.00"
    assert _testid(home, "queue-held") == "1"
    assert _href(home, "queue-approve-link") == f"/console/withdrawals?program_id={w.program_id}#to-review"
    assert _href(home, "queue-pay-link") == f"/console/withdrawals?program_id={w.program_id}#approved"
    assert _href(home, "queue-held-link") == f"/console/programs/{w.program_id}/groups?view=alerts#review"
    assert _href(home, "queue-reviews-link") == "/console/reviews?status=pending"
    client.post(f"/console/withdrawals/{made[0]['id']}/approve")
    home = client.get(f"/console?program={w.program_id}").text
    assert _testid(home, "queue-approve") == "1 · ¥5.00"
    assert _testid(home, "queue-pay") == "1 · ¥10.00"
    alerts = client.get(_href(home, "queue-held-link").split("#")[0]).text
    assert _testid(alerts, "review-total") == "1"
    form = re.search(
        r'<form method="post" action="(/console/groups/\d+/counts/\d+/review)" hx-boost="false"', alerts
    )
    assert form is not None  # a full page answers the decision: the figures around the queue follow
    after = client.post(form.group(1), data={"accept": "true"})
    assert after.status_code == 200
    assert _testid(after.text, "review-total") == "0"
    assert _testid(client.get(f"/console?program={w.program_id}").text, "queue-held") == "0"


def _organization_with_a_pending_change(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, code: str
) -> int:
    made = client.post("/api/v1/organizations", json={"code": code, "name": code}, headers=operator)
    assert made.status_code == 201, made.text
    organization: int = made.json()["id"]
    ops = bearer(make_token(Role.OPERATOR, organization_id=organization))
    create_program(client, ops, code=f"{code}-p")
    shop = client.post("/api/v1/merchants", json={"code": f"{code}-shop", "name": "店"}, headers=ops).json()
    merchant = bearer(make_token(Role.MERCHANT, merchant_id=shop["id"]))
    product = {"sku": f"{code.upper()}-1", "title": "店品", "price_fen": 1000, "commission_rate_bp": 1000}
    made = client.post("/api/v1/products", json=product, headers=merchant)
    assert made.status_code == 201, made.text
    on = client.patch(
        f"/api/v1/organizations/{organization}", json={"review_merchant_changes": True}, headers=ops
    )
    assert on.status_code == 200, on.text
    changed = client.patch(
        f"/api/v1/products/{made.json()['id']}", json={"commission_rate_bp": 3000}, headers=merchant
    )
    assert changed.status_code == 200, changed.text
    return organization


def test_merchant_changes_to_review_are_counted_for_the_operators_organization(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    brand = _organization_with_a_pending_change(client, operator, make_token, "brand")
    _organization_with_a_pending_change(client, operator, make_token, "rival")
    with transaction(factory) as session:
        auth.create_user(
            session, username="brand-ops", password=PASSWORD, actor=TEST_ACTOR, organization_id=brand
        )
    answer = client.post("/console/login", data={"username": "brand-ops", "password": PASSWORD})
    assert answer.status_code == 200
    assert _testid(client.get("/console").text, "queue-reviews") == "1"
    queue = client.get(_href(client.get("/console").text, "queue-reviews-link")).text
    assert "(1)" in _testid(queue, "review-tab-pending")
    assert "(0)" in _testid(queue, "review-tab-approved")
    form = re.search(
        r'<form method="post" action="(/console/reviews/\d+/approve)" class="inline" hx-boost="false">', queue
    )
    assert form is not None
    after = client.post(form.group(1), data={"note": "好"})
    assert after.status_code == 200
    assert "(0)" in _testid(after.text, "review-tab-pending")
    assert "(1)" in _testid(after.text, "review-tab-approved")
    assert _testid(client.get("/console").text, "queue-reviews") == "0"


def test_a_link_switched_off_answers_with_the_whole_list_page(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w, _order = settled_world(client, operator, factory)
    console_sign_in(client, factory)
    off = "/console/links?status=off&lang=en"
    listed = client.get(off).text
    assert "0 in all" in _testid(listed, "list-total")
    sort = re.search(r'<a href="([^"]*)" class="sort[^"]*" data-testid="sort-created"', listed)
    assert sort is not None
    assert "status=off" in sort.group(1)  # a sort link keeps the filter and the language
    assert "lang=en" in sort.group(1)
    page = client.get("/console/links?status=on").text
    assert re.search(rf'action="/console/links/{w.link}/active" class="inline" hx-boost="false"', page)
    after = client.post(f"/console/links/{w.link}/active", data={"active": "false", "back": off})
    assert after.status_code == 200
    assert str(after.url).endswith(off)
    assert "1 in all" in _testid(after.text, "list-total")
    assert 'data-testid="links-title"' in after.text


def test_withdrawals_to_pay_leave_the_home_count_once_batched(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w, _order = settled_world(client, operator, factory)
    made = [
        client.post(
            f"/api/v1/members/{w.seller}/withdrawals",
            json={"amount_fen": fen, "request_id": f"b{fen}"},
            headers=operator,
        ).json()
        for fen in (1000, 500)
    ]
    console_sign_in(client, factory)
    client.post(f"/console/withdrawals/{made[0]['id']}/approve")
    batched = client.post(f"/console/programs/{w.program_id}/payout-batches")
    assert batched.status_code == 200, batched.text
    client.post(f"/console/withdrawals/{made[1]['id']}/approve")
    home = client.get(f"/console?program={w.program_id}").text
    assert _testid(home, "queue-pay") == "1 · ¥5.00"  # the batched one waits for the bank, not an operator
    listed = client.get(_href(home, "queue-pay-link").split("#")[0]).text
    assert _testid(listed, "approved-total") == "1"
