"""The customer's rights: their data exported (access), and erased by the opt-out (the book keeps no
personal data of an opted-out shopper and no longer lists them)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm.derive import derive_program
from neigou.crm.models import Customer
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.links.models import ShareLink
from tests.conftest import TokenMaker
from tests.crm.builders import add_customer, build
from tests.offers import factories as offers


def test_export_then_opt_out_erases_the_customer(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    book = build(client, operator, make_token)
    h = book.member_headers
    made = add_customer(
        client,
        h,
        book.member,
        "13800000061",
        name="王女士",
        job="律师",
        consent={"marketing": True, "source": "form"},
    )
    kept = add_customer(client, h, book.member, "13800000062", name="李先生")
    exported = client.get(f"/api/v1/customers/{made['id']}/export", headers=h)
    assert exported.status_code == 200, exported.text
    body = exported.json()
    assert (body["customer"]["name"], body["customer"]["job"], body["customer"]["marketing_consent"]) == (
        "王女士",
        "律师",
        True,
    )
    assert [(c["granted"], c["source"]) for c in body["consents"]] == [(True, "form")]
    assert body["messages"] == []
    opted = client.post(
        "/api/v1/privacy/opt-outs",
        json={"customer_ref": "138-0000-0061", "program_id": book.program_id, "request_id": "crm-1"},
        headers=operator,
    )
    assert opted.status_code == 201, opted.text
    assert {k: opted.json()["erased"][k] for k in ("customers", "consents", "push_messages")} == {
        "customers": 1,
        "consents": 1,
        "push_messages": 0,
    }
    listed = client.get(f"/api/v1/members/{book.member}/customers", headers=h).json()
    assert [c["id"] for c in listed] == [kept["id"]]
    for path in ("", "/export", "/consents"):
        gone = client.get(f"/api/v1/customers/{made['id']}{path}", headers=operator)
        assert (gone.status_code, gone.json()["code"]) == (404, "customer_not_found")


def test_the_opt_out_clears_what_the_shopper_did(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    """Their last purchase and click, when those were derived, and the link that brought them go too."""
    book = build(client, operator, make_token)
    made = add_customer(client, book.member_headers, book.member, "13800000071", name="赵女士")
    product = offers.product(client, operator, "PRIV-TEE", 5900)
    at = utcnow()
    with transaction(factory) as session:
        link = ShareLink(
            program_id=book.program_id,
            member_id=book.member,
            product_id=product["id"],
            sku="PRIV-TEE",
            code="PrivTee1",
            active=True,
            created_at=at,
            updated_at=at,
        )
        session.add(link)
        session.flush()
        session.execute(
            update(Customer)
            .where(Customer.id == made["id"])
            .values(last_purchase_at=at, last_click_at=at, derived_at=at, source_link_id=link.id)
        )
    opted = client.post(
        "/api/v1/privacy/opt-outs",
        json={"customer_ref": "13800000071", "program_id": book.program_id, "request_id": "crm-2"},
        headers=operator,
    )
    assert opted.status_code == 201, opted.text
    with factory() as session:
        row = session.get(Customer, made["id"])
        assert row is not None
        assert row.erased_at is not None
        assert (row.last_purchase_at, row.last_click_at, row.derived_at, row.source_link_id) == (
            None,
            None,
            None,
            None,
        )
        derive_program(session, program_id=book.program_id, at=utcnow())
        session.flush()
        session.refresh(row)
        assert (row.last_purchase_at, row.last_click_at, row.derived_at) == (None, None, None)
