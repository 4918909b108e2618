"""The public join page: a signed recruiting code binds the inviter; the same phone joins once;
forged or tampered codes and bad input get a friendly bilingual page, and change nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import ApiToken
from neigou.kit.ids import keyed_hash
from neigou.network.recruit_codes import recruit_code
from neigou.programs.models import Member
from tests.conftest import SECRET, row_counts
from tests.factories import create_member, create_program

PHONE = "13812340000"


@pytest.fixture
def inviter(client: TestClient, operator: dict[str, str]) -> dict[str, int]:
    program = create_program(client, operator)
    other = create_program(client, operator, code="other")
    owner = create_member(client, operator, program["id"], "群主·王小美", customer_ref="13900000001")
    return {"program": program["id"], "member": owner["id"], "other_program": other["id"]}


def _code(member_id: int) -> str:
    return recruit_code(SECRET, member_id)


def test_join_binds_the_inviter_and_opens_the_workspace(
    client: TestClient, inviter: dict[str, int], factory: sessionmaker[Session]
) -> None:
    code = _code(inviter["member"])
    page = client.get(f"/j/{code}")
    assert page.status_code == 200
    assert "群主·王小美 邀请你加入" in page.text
    assert "Program partners" in page.text
    joined = client.post(f"/j/{code}", data={"name": " 新人  小李 ", "phone": PHONE})
    assert joined.status_code == 201, joined.text
    assert joined.headers["cache-control"] == "no-store"
    with factory() as session:
        member = session.scalars(select(Member).where(Member.name == "新人 小李")).one()
        assert (member.program_id, member.inviter_id) == (inviter["program"], inviter["member"])
        assert member.tier_code == "super_member"
        assert member.customer_ref_hash == keyed_hash(SECRET, PHONE)
        assert member.customer_ref_masked == "138****0000"
        assert PHONE not in str([member.name, member.customer_ref_masked])
    assert 'data-testid="member-name">新人 小李<' in client.get("/m/").text  # signed in on this phone already
    client.cookies.clear()
    login = joined.text.split('data-testid="open-workspace"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert login.startswith("http://testserver/m/login?code=ngc_")  # a one-time code, no API token
    assert "ngt_" not in joined.text
    asked = client.get(login.removeprefix("http://testserver"), follow_redirects=False)
    assert asked.status_code == 200, asked.text  # the confirmation page: nothing spent yet
    one_time = login.split("code=", 1)[1]
    signed_in = client.post("/m/login", data={"code": one_time}, follow_redirects=False)
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/m/")
    assert client.get(login.removeprefix("http://testserver"), follow_redirects=False).status_code == 401
    home = client.get("/m/")
    assert 'data-testid="member-name">新人 小李<' in home.text
    team = client.get("/m/team")
    assert team.status_code == 200


def test_joining_twice_is_idempotent(
    client: TestClient, inviter: dict[str, int], factory: sessionmaker[Session]
) -> None:
    code = _code(inviter["member"])
    assert client.post(f"/j/{code}", data={"name": "小李", "phone": PHONE}).status_code == 201
    before = row_counts(factory)
    again = client.post(f"/j/{code}", data={"name": "别的名字", "phone": PHONE})
    assert again.status_code == 200
    assert 'data-testid="already-member"' in again.text
    assert "ngc_" not in again.text  # a phone number alone never hands out a sign-in link
    assert row_counts(factory) == before
    with factory() as session:
        assert session.scalars(select(Member.name).where(Member.inviter_id == inviter["member"])).all() == [
            "小李"
        ]
        assert len(session.scalars(select(ApiToken)).all()) == before["api_tokens"]


def test_the_same_phone_written_another_way_is_the_same_member(
    client: TestClient, inviter: dict[str, int], factory: sessionmaker[Session]
) -> None:
    code = _code(inviter["member"])
    first = client.post(f"/j/{code}", data={"name": "小李", "phone": "１３８１２３４００００"})
    assert first.status_code == 201, first.text
    before = row_counts(factory)
    for written in ("+86 138-1234-0000", "0086 13812340000", " 138 1234 0000 ", PHONE):
        again = client.post(f"/j/{code}", data={"name": "小李", "phone": written})
        assert again.status_code == 200, written
        assert 'data-testid="already-member"' in again.text
    assert row_counts(factory) == before
    with factory() as session:
        member = session.scalars(select(Member).where(Member.inviter_id == inviter["member"])).one()
        assert member.customer_ref_hash == keyed_hash(SECRET, PHONE)
        assert member.customer_ref_masked == "138****0000"


def test_the_inviter_joining_their_own_link_creates_nothing(
    client: TestClient, inviter: dict[str, int], factory: sessionmaker[Session]
) -> None:
    before = row_counts(factory)
    own = client.post(f"/j/{_code(inviter['member'])}", data={"name": "我自己", "phone": "13900000001"})
    assert own.status_code == 200
    assert 'data-testid="already-member"' in own.text
    assert row_counts(factory) == before


def test_forged_and_tampered_codes_get_the_friendly_page(
    client: TestClient, inviter: dict[str, int], factory: sessionmaker[Session]
) -> None:
    good = _code(inviter["member"])
    forged = recruit_code("not-the-secret", inviter["member"])
    tampered = good[:-1] + ("A" if good[-1] != "A" else "B")
    missing = _code(999_999)
    before = row_counts(factory)
    for code in (forged, tampered, missing, str(inviter["member"]), "x" * 300, "%00", "<script>"):
        page = client.get(f"/j/{code}")
        assert page.status_code == 404, code
        assert 'data-testid="join-invalid"' in page.text
        assert "邀请链接无效" in page.text
        posted = client.post(f"/j/{code}", data={"name": "小李", "phone": PHONE})
        assert posted.status_code == 404
        assert 'data-testid="join-invalid"' in posted.text
    english = client.get(f"/j/{forged}?lang=en")
    assert "Invalid recruiting link" in english.text
    assert row_counts(factory) == before


@pytest.mark.parametrize(
    ("name", "phone", "error"),
    [
        ("小李", "12345", "invalid_phone"),
        ("小李", "１３８１２３４０００", "invalid_phone"),  # ten digits, full width
        ("小李", "+852 9123 4567", "invalid_phone"),  # a mobile, but not a mainland one
        ("小李", "oAbc13812340000", "invalid_phone"),
        ("小李", "", "invalid_phone"),
        ("", PHONE, "invalid_name"),
        ("   ", PHONE, "invalid_name"),
        ("名" * 41, PHONE, "invalid_name"),
        ("a\x00b", PHONE, "invalid_name"),
        ("x" * 5000, PHONE, "invalid_name"),
    ],
)
def test_bad_input_is_shown_not_stored(
    client: TestClient,
    inviter: dict[str, int],
    factory: sessionmaker[Session],
    *,
    name: str,
    phone: str,
    error: str,
) -> None:
    before = row_counts(factory)
    response = client.post(f"/j/{_code(inviter['member'])}", data={"name": name, "phone": phone})
    assert response.status_code == 422
    assert f'data-code="{error}"' in response.text
    assert 'data-testid="join-form"' in response.text
    assert row_counts(factory) == before
    english = client.post(f"/j/{_code(inviter['member'])}?lang=en", data={"name": name, "phone": phone})
    assert "Enter" in english.text


def test_missing_fields_are_a_page_not_json(client: TestClient, inviter: dict[str, int]) -> None:
    response = client.post(f"/j/{_code(inviter['member'])}")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")


def test_joins_are_rate_limited(
    client: TestClient, inviter: dict[str, int], factory: sessionmaker[Session]
) -> None:
    code = _code(inviter["member"])
    statuses = [
        client.post(f"/j/{code}", data={"name": "小李", "phone": "123"}).status_code for _ in range(21)
    ]
    assert statuses[:20] == [422] * 20
    assert statuses[20] == 429
    before = row_counts(factory)
    limited = client.post(f"/j/{code}", data={"name": "小李", "phone": PHONE})
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert 'data-code="limited"' in limited.text
    assert row_counts(factory) == before
