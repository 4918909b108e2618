"""The console's risk thresholds: each by its name in the reader's language, money in yuan, rates in
percent, a factor as a multiple; the form converts what is typed to fen and basis points, shows each
error beside its field and saves nothing when one is wrong; other organizations' programs are hidden."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.models import Role
from neigou.kit.db import transaction
from neigou.offers.amounts import AmountError, bp_to_multiple_text, multiple_to_bp
from tests.conftest import TEST_ACTOR, TokenMaker, bearer, row_counts
from tests.factories import create_member, create_program
from tests.sign_in import PASSWORD, console_sign_in, member_sign_in


def _shown(page: str, name: str) -> str:
    match = re.search(rf'data-testid="risk-threshold-{name}">([^<]*)<', page)
    assert match is not None, name
    return match.group(1).strip()


def _value(page: str, name: str) -> str:
    match = re.search(rf'<input name="{name}" value="([^"]*)"', page)
    assert match is not None, name
    return match.group(1)


def test_thresholds_are_shown_by_name_in_yuan_and_percent(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator, code="risky")
    console_sign_in(client, factory)
    page = client.get(f"/console/risk?program_id={program['id']}").text
    assert "刷单：单笔实付上限" in page
    assert "brushing_max_paid_fen" not in re.sub(r'data-testid="[^"]*"', "", page)
    assert _shown(page, "brushing_max_paid_fen") == "¥5.00"
    assert _shown(page, "refund_abuse_min_rate_bp") == "20%"
    assert _shown(page, "refund_abuse_factor_bp") == "×3"
    assert _shown(page, "brushing_min_orders") == "10"
    assert _shown(page, "brushing_window_minutes") == "60 分钟"
    english = client.get(f"/console/risk?program_id={program['id']}&lang=en").text
    assert "Order brushing: most paid per order" in english
    assert _shown(english, "lookback_days") == "35 days"
    form = client.get(f"/console/programs/{program['id']}/risk/thresholds")
    assert form.status_code == 200
    assert _value(form.text, "brushing_max_paid_fen") == "5"
    assert _value(form.text, "refund_abuse_min_rate_bp") == "20"
    assert _value(form.text, "refund_abuse_factor_bp") == "3"


def test_the_form_converts_yuan_and_percent_and_refuses_in_place(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator, code="risky")
    console_sign_in(client, factory)
    url = f"/console/programs/{program['id']}/risk/thresholds"
    before = row_counts(factory)
    typed = {"brushing_max_paid_fen": "12.5", "refund_abuse_min_rate_bp": "abc", "lookback_days": "400"}
    refused = client.post(f"{url}?lang=en", data=typed)
    assert refused.status_code == 422
    assert 'data-testid="form-errors"' in refused.text
    assert "<strong>Refund abuse: lowest refund rate</strong>:" in refused.text  # by its name, not its key
    assert 'data-testid="error-refund_abuse_min_rate_bp" data-code="invalid_amount"' in refused.text
    assert _value(refused.text, "refund_abuse_min_rate_bp") == "abc"  # what was typed is kept
    assert _value(refused.text, "brushing_max_paid_fen") == "12.5"
    assert row_counts(factory) == before
    too_long = client.post(url, data={"lookback_days": "400", "hoarding_min_refs": "0"})
    assert too_long.status_code == 422
    assert 'data-testid="error-lookback_days" data-code="out_of_range"' in too_long.text
    assert 'data-testid="error-hoarding_min_refs" data-code="out_of_range"' in too_long.text
    assert row_counts(factory) == before
    saved = client.post(
        url,
        data={
            "brushing_max_paid_fen": "12.5",
            "refund_abuse_min_rate_bp": "12.5%",
            "refund_abuse_factor_bp": "2.5",
            "hoarding_min_refs": "7",
            "ring_burst_hours": "",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    stored = client.get(f"/api/v1/programs/{program['id']}/risk/thresholds", headers=operator).json()
    assert stored["brushing_max_paid_fen"] == 1250
    assert stored["refund_abuse_min_rate_bp"] == 1250
    assert stored["refund_abuse_factor_bp"] == 25_000
    assert stored["hoarding_min_refs"] == 7
    assert stored["ring_burst_hours"] == 24  # left empty: kept
    again = client.get(saved.headers["location"]).text
    assert 'data-testid="thresholds-saved"' in again
    assert _value(again, "brushing_max_paid_fen") == "12.5"
    assert (
        _shown(client.get(f"/console/risk?program_id={program['id']}").text, "refund_abuse_factor_bp")
        == "×2.5"
    )


def test_only_the_programs_operators_see_its_thresholds(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    rival = client.post("/api/v1/organizations", json={"code": "rival", "name": "对手"}, headers=operator)
    theirs = create_program(
        client, bearer(make_token(Role.OPERATOR, organization_id=rival.json()["id"])), code="r"
    )
    mine = client.post(
        "/api/v1/organizations", json={"code": "mine", "name": "我方"}, headers=operator
    ).json()
    url = f"/console/programs/{theirs['id']}/risk/thresholds"
    assert client.get(url, follow_redirects=False).status_code == 303  # anonymous: to the sign-in
    assert client.post(url, data={"hoarding_min_refs": "7"}, follow_redirects=False).status_code in {303, 403}
    member = create_member(client, operator, theirs["id"], name="成员")
    member_sign_in(client, make_token(Role.MEMBER, member["id"]))  # a member is not an operator
    assert client.get(url).status_code == 403
    assert client.post(url, data={"hoarding_min_refs": "7"}).status_code == 403
    with transaction(factory) as session:
        auth.create_user(
            session, username="mine-ops", password=PASSWORD, actor=TEST_ACTOR, organization_id=mine["id"]
        )
    assert (
        client.post("/console/login", data={"username": "mine-ops", "password": PASSWORD}).status_code == 200
    )
    hidden = client.get(url)
    assert hidden.status_code == 404
    assert client.post(url, data={"hoarding_min_refs": "7"}).status_code == 404
    assert client.get(f"/console/programs/{2**70}/risk/thresholds").status_code in {404, 422}


def test_a_factor_is_read_as_a_multiple() -> None:
    assert multiple_to_bp("3") == 30_000
    assert multiple_to_bp("1.5×") == 15_000
    assert bp_to_multiple_text(25_000) == "2.5"
    assert bp_to_multiple_text(12_345) == "1.2345"
    for bad in ("x", "-1", "1.234"):
        try:
            multiple_to_bp(bad)
        except AmountError:
            continue
        raise AssertionError(bad)
