"""Deleting a merchant twice at once on two connections (both databases): the second delete waits at its
locking read for the first one's commit, then finds the merchant deleted and, like a repeat, changes
nothing — one audit entry, the first deletion's time kept. The first side holds in its audit write
(``tests.lock_waits``): without the lock both read a live merchant and both audit and write the time."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit import service as audit
from neigou.audit.models import AuditEntry
from neigou.merchants import service
from neigou.organizations.models import Merchant
from tests.conftest import TEST_ACTOR
from tests.lock_waits import lock_waits, paused, two_sides


def _deletes(factory: sessionmaker[Session], merchant_id: int) -> int:
    with factory() as session:
        found = select(func.count()).where(
            AuditEntry.action == "merchant.delete", AuditEntry.entity_id == str(merchant_id)
        )
        return int(session.scalar(found) or 0)


def test_two_deletes_at_once_delete_and_audit_once(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = client.post("/api/v1/merchants", json={"code": "twice", "name": "两次"}, headers=operator)
    assert made.status_code == 201, made.text
    merchant_id = made.json()["id"]
    waits = lock_waits(factory, 2)
    monkeypatch.setattr(audit, "record", paused(audit.record, waits))

    def delete(session: Session) -> Any:
        return service.delete_merchant(session, merchant_id=merchant_id, actor=TEST_ACTOR).deleted_at

    first, second = two_sides(factory, delete, delete, waits)
    assert not isinstance(first, Exception), first
    assert not isinstance(second, Exception), second
    assert _deletes(factory, merchant_id) == 1
    with factory() as session:
        assert session.get_one(Merchant, merchant_id).deleted_at == first


def test_a_repeated_delete_changes_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    made = client.post("/api/v1/merchants", json={"code": "again", "name": "再删"}, headers=operator)
    merchant_id = made.json()["id"]
    deleted = client.delete(f"/api/v1/merchants/{merchant_id}", headers=operator)
    assert deleted.status_code == 200, deleted.text
    again = client.delete(f"/api/v1/merchants/{merchant_id}", headers=operator)
    assert again.status_code == 200, again.text
    assert again.json() == deleted.json()
    assert _deletes(factory, merchant_id) == 1
    missing = client.delete("/api/v1/merchants/999999", headers=operator)
    assert (missing.status_code, missing.json()["code"]) == (404, "merchant_not_found")
