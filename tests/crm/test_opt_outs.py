"""A shopper who opted out is not put back into a customer book by hand: the single add (API and the
workspace form) is refused with 409 ``customer_opted_out`` for every scope of opt-out and every way of
writing the number, the import leaves their rows out with the reason and adds the others; another
program's opt-out blocks nothing; a refusal writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.crm.models import Consent, Customer
from neigou.organizations.models import DEFAULT_ORGANIZATION_CODE, Organization
from tests.conftest import TokenMaker, bearer, row_counts
from tests.crm.builders import Book, add_customer, build
from tests.factories import create_program
from tests.phone_forms import written_forms
from tests.sign_in import member_sign_in

SHOPPER = "13900007001"
# The same mobile number as the shop, the salesperson or a spreadsheet may write it.
FORMS = (
    "13900007001",
    "+86 139 0000 7001",
    "0086 13900007001",
    "139-0000-7001",
    "+8613900007001",
    *written_forms(SHOPPER),
)
REFUSED_ZH = "该顾客已申请停止处理其个人信息，无法添加。"
REFUSED_EN = "This customer has opted out of personal information processing and cannot be added."
SCOPES = ("program", "organization", "platform", "other_organization")


def _opt_out(client: TestClient, headers: dict[str, str], key: str, **body: Any) -> None:
    answer = client.post(
        "/api/v1/privacy/opt-outs",
        json={"customer_ref": SHOPPER, "request_id": key, **body},
        headers=headers,
    )
    assert answer.status_code == 201, answer.text


def _organization_operator(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    scope: str,
) -> dict[str, str]:
    """An operator of the book's organization, or of another one."""
    if scope == "other_organization":
        made = client.post("/api/v1/organizations", json={"code": "brand-b", "name": "B"}, headers=operator)
        assert made.status_code == 201, made.text
        return bearer(make_token(Role.OPERATOR, organization_id=made.json()["id"]))
    with factory() as session:
        own = session.scalar(select(Organization.id).where(Organization.code == DEFAULT_ORGANIZATION_CODE))
    return bearer(make_token(Role.OPERATOR, organization_id=own))


def opted_out(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    scope: str,
) -> Book:
    """A book whose program the shopper opted out of: of the program alone (a platform administrator
    records it), of every program of the organization (its operator), platform-wide (a platform
    administrator), or of every program by another organization's operator."""
    book = build(client, operator, make_token)
    if scope == "program":
        _opt_out(client, operator, "crm-out", program_id=book.program_id)
    elif scope == "platform":
        _opt_out(client, operator, "crm-out")
    else:
        _opt_out(client, _organization_operator(client, operator, make_token, factory, scope), "crm-out")
    return book


def _upload(
    client: TestClient,
    book: Book,
    content: bytes,
    query: str = "",
    *,
    other: bool = False,
    headers: dict[str, str] | None = None,
) -> Any:
    """The file imported into the salesperson's book (or their colleague's)."""
    member, own = (book.other, book.other_headers) if other else (book.member, book.member_headers)
    return client.post(
        f"/api/v1/members/{member}/customers/import{query}",
        files={"file": ("vip.csv", content)},
        headers={**own, **(headers or {})},
    )


@pytest.mark.parametrize("scope", SCOPES)
def test_a_shopper_who_opted_out_is_not_added_in_any_form_of_the_number(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    scope: str,
) -> None:
    book = opted_out(client, operator, make_token, factory, scope)
    before = row_counts(factory)
    for form in FORMS:
        for headers in (book.member_headers, operator):
            refused = client.post(
                f"/api/v1/members/{book.member}/customers",
                json={"customer_ref": form, "name": "王女士", "consent": {"marketing": True}},
                headers=headers,
            )
            assert refused.status_code == 409, (form, refused.text)
            assert refused.headers["content-type"] == "application/problem+json"
            body = refused.json()
            assert (body["code"], body["detail"], body["field"]) == (
                "customer_opted_out",
                REFUSED_ZH,
                "customer_ref",
            )
    english = client.post(
        f"/api/v1/members/{book.member}/customers",
        json={"customer_ref": SHOPPER},
        headers={**book.member_headers, "Accept-Language": "en"},
    )
    assert (english.status_code, english.json()["detail"]) == (409, REFUSED_EN)
    # The answer names no scope, time or recorder, and never the number.
    assert set(english.json()) == {"type", "title", "status", "detail", "code", "field"}
    assert row_counts(factory) == before


def test_another_programs_opt_out_blocks_nothing(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    book = build(client, operator, make_token)
    elsewhere = create_program(client, operator, code="elsewhere")
    _opt_out(client, operator, "crm-elsewhere", program_id=elsewhere["id"])
    add_customer(client, book.member_headers, book.member, "+86 139 0000 7001", name="王女士")
    imported = _upload(client, book, f"手机号,姓名\n{SHOPPER},王女士\n".encode(), other=True)
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"rows": 1, "created": 1, "skipped": [], "dry_run": False}
    with factory() as session:
        held = session.scalars(select(Customer.member_id).where(Customer.erased_at.is_(None))).all()
    assert sorted(held) == sorted([book.member, book.other])


@pytest.mark.parametrize("scope", ["program", "platform"])
def test_the_import_leaves_out_opted_out_rows_with_their_reason(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    scope: str,
) -> None:
    book = opted_out(client, operator, make_token, factory, scope)
    content = (
        "手机号,姓名,同意营销\n"
        "+86 139 0000 7001,王女士,是\n"
        "13800000051,李先生,是\n"
        "0086 139-0000-7001,王女士,否\n"
        "13800000052,张女士,\n"
    ).encode()
    before = row_counts(factory)
    dry = _upload(client, book, content, "?dry_run=true")
    assert dry.status_code == 200, dry.text
    skipped = [
        {
            "row": 2,
            "customer": "139****7001",
            "field": "customer_ref",
            "code": "customer_opted_out",
            "message": REFUSED_ZH,
        },
        {
            "row": 4,
            "customer": "139****7001",
            "field": "customer_ref",
            "code": "customer_opted_out",
            "message": REFUSED_ZH,
        },
    ]
    assert dry.json() == {"rows": 4, "created": 2, "skipped": skipped, "dry_run": True}
    assert row_counts(factory) == before
    done = _upload(client, book, content, headers={"Accept-Language": "en"})
    assert done.status_code == 200, done.text
    english = [{**s, "message": REFUSED_EN} for s in skipped]
    assert done.json() == {"rows": 4, "created": 2, "skipped": english, "dry_run": False}
    assert "13900007001" not in done.text
    with factory() as session:
        added = session.execute(select(Customer.id, Customer.name).order_by(Customer.id)).all()
        consents = session.scalars(select(Consent.customer_id)).all()
    assert [name for _, name in added] == ["李先生", "张女士"]
    assert consents == [added[0][0]]


def test_an_import_refused_for_a_bad_row_writes_nothing(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    book = opted_out(client, operator, make_token, factory, "program")
    before = row_counts(factory)
    refused = _upload(
        client, book, f"手机号,姓名,生日\n{SHOPPER},王女士,\n13800000053,李先生,1990-13-01\n".encode()
    )
    assert refused.status_code == 422
    body = refused.json()
    assert body["code"] == "import_invalid"
    assert [(e["row"], e["code"]) for e in body["errors"]] == [(3, "invalid_date")]
    assert row_counts(factory) == before


def test_the_form_shows_the_refusal_at_the_phone_field_and_keeps_the_values(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    book = opted_out(client, operator, make_token, factory, "platform")
    member_sign_in(client, book.member_headers["Authorization"].removeprefix("Bearer "))
    before = row_counts(factory)
    typed = {
        "phone": "+86 139 0000 7001",
        "name": "王女士",
        "job": "律师",
        "spending_power": "high",
        "tags": "通勤, M",
        "birthday": "1990-05-17",
        "consent": "true",
    }
    page = client.post("/m/customers", data=typed, follow_redirects=False)
    assert page.status_code == 409
    phone_field = page.text.split('data-testid="customer-phone"', 1)[1].split("</label>", 1)[0]
    assert 'data-code="customer_opted_out"' in phone_field
    assert REFUSED_ZH in phone_field
    assert page.text.count('data-testid="customer-error"') == 1
    for value in (
        'value="+86 139 0000 7001"',
        'value="王女士"',
        'value="律师"',
        'value="通勤, M"',
        'value="1990-05-17"',
    ):
        assert value in page.text
    assert '<option value="high" selected>' in page.text
    assert 'value="true" checked' in page.text
    assert row_counts(factory) == before
    english = client.post("/m/customers?lang=en", data=typed, follow_redirects=False)
    assert REFUSED_EN in english.text
    # Only a refused add shows the refusal: the empty form takes none from its address.
    empty = client.get("/m/customers/new?error=customer_opted_out")
    assert empty.status_code == 200
    assert 'data-testid="customer-error"' not in empty.text
    assert 'data-code="customer_opted_out"' not in empty.text
