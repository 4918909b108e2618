"""The audit log records which of a customer's personal fields an operator changed, never the values;
the opt-out redacts what the customer's earlier entries hold in clear (docs/privacy.md)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.kit.db import transaction
from neigou.kit.ids import ERASED
from tests.conftest import TokenMaker
from tests.crm.builders import add_customer, build

EDIT = {"name": "王丽华", "job": "律师", "birthday": "1990-05-17"}


def _entries(client: TestClient, operator: dict[str, str], customer_id: int) -> list[dict[str, object]]:
    params = {"entity": "customer", "entity_id": str(customer_id)}
    log = client.get("/api/v1/audit-log", params=params, headers=operator)
    assert log.status_code == 200, log.text
    return sorted(log.json(), key=lambda e: str(e["action"]))


def test_an_operators_edit_is_audited_by_field_name_only(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    book = build(client, operator, make_token)
    made = add_customer(client, book.member_headers, book.member, "13800000071", name="王女士")
    changed = client.patch(f"/api/v1/customers/{made['id']}", json=EDIT, headers=operator)
    assert changed.status_code == 200, changed.text
    [update_entry] = [e for e in _entries(client, operator, made["id"]) if e["action"] == "customer.update"]
    assert (update_entry["before"], update_entry["after"]) == (None, dict.fromkeys(EDIT, "changed"))


def test_the_opt_out_redacts_the_customers_earlier_audit_entries(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    book = build(client, operator, make_token)
    made = add_customer(client, book.member_headers, book.member, "13800000071", name="王女士")
    other = add_customer(client, book.member_headers, book.member, "13800000072", name="李先生")
    for customer in (made, other):
        changed = client.patch(f"/api/v1/customers/{customer['id']}", json=EDIT, headers=operator)
        assert changed.status_code == 200, changed.text
    with transaction(factory) as session:  # entries as an older release wrote them, values in clear
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.action == "customer.update")
            .values(before={"name": "王女士", "job": None}, after=EDIT)
        )
    body = {"customer_ref": "13800000071", "program_id": book.program_id, "request_id": "audit-1"}
    answered = client.post("/api/v1/privacy/opt-outs", json=body, headers=operator)
    assert answered.status_code == 201, answered.text
    # The entries rewritten are counted with the rest (a member adding a customer is not audited).
    assert answered.json()["erased"]["audit_entries"] == 1
    [logged] = client.get(
        "/api/v1/audit-log",
        params={"entity": "opt_out", "entity_id": str(answered.json()["id"])},
        headers=operator,
    ).json()
    assert logged["after"]["erased"]["audit_entries"] == 1
    replayed = client.post("/api/v1/privacy/opt-outs", json=body, headers=operator)
    assert replayed.json()["erased"]["audit_entries"] == 1

    entries = _entries(client, operator, made["id"])
    text = str(entries)
    assert not any(kept in text for kept in ("王女士", "王丽华", "律师", "1990-05-17", "0071"))
    [update_entry] = [e for e in entries if e["action"] == "customer.update"]
    assert update_entry["before"] == {"name": ERASED, "job": None}
    assert update_entry["after"] == dict.fromkeys(EDIT, ERASED)
    [others] = [e for e in _entries(client, operator, other["id"]) if e["action"] == "customer.update"]
    assert others["after"] == EDIT  # another customer's entries are not theirs to erase
