"""The customer's rights: their data exported (access), and erased by the opt-out (the book keeps no
personal data of an opted-out shopper and no longer lists them)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TokenMaker
from tests.crm.builders import add_customer, build


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
