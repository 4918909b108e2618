"""A withdrawal is paid to the payee account it was requested with (its own sealed copy), which the
console shows when the operator reviews it: a member who changes their account after that does not
redirect money already requested or approved; a request asked with no account takes the first one set
while it still waits for review; the copy is sealed as the member's account is and opens with any
configured key after a rotation."""

from __future__ import annotations

import csv
import io
from typing import Any

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.kit.sealed import Sealer, derived_key
from neigou.ledger import payouts
from neigou.ledger.models import Withdrawal
from tests.orders.builders import settled_world
from tests.sign_in import console_sign_in

FIRST = "6222 0212 3456 7894"  # passes the Luhn check
FIRST_WHOLE, FIRST_MASKED = "6222021234567894", "**** 7894"
SECOND_WHOLE, SECOND_MASKED = "13912345678", "139****5678"


def _put(client: TestClient, operator: dict[str, str], member_id: int, account: str, holder: str) -> None:
    kind = "bank_card" if " " in account else "alipay"
    body = {"kind": kind, "account": account, "holder_name": holder}
    put = client.put(f"/api/v1/members/{member_id}/payee", json=body, headers=operator)
    assert put.status_code == 200, put.text


def _ask(client: TestClient, operator: dict[str, str], member_id: int, request_id: str) -> int:
    asked = client.post(
        f"/api/v1/members/{member_id}/withdrawals",
        json={"amount_fen": 100, "request_id": request_id},
        headers=operator,
    )
    assert asked.status_code == 201, asked.text
    made: int = asked.json()["id"]
    return made


def _approve(client: TestClient, operator: dict[str, str], withdrawal_id: int) -> None:
    approved = client.post(f"/api/v1/withdrawals/{withdrawal_id}/approve", headers=operator)
    assert approved.status_code == 200, approved.text


def _paid_to(client: TestClient, operator: dict[str, str], program_id: int) -> dict[int, tuple[str, ...]]:
    """Batch the approved withdrawals; each one's (kind, account, holder) in the CSV, checked against
    the Excel file."""
    batch = client.post(f"/api/v1/programs/{program_id}/payout-batches", headers=operator)
    assert batch.status_code in (200, 201), batch.text
    url = f"/api/v1/payout-batches/{batch.json()['id']}/export"
    exported = client.get(f"{url}?format=csv", headers=operator)
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    found: dict[int, tuple[str, ...]] = {
        int(r["withdrawal_id"]): (r["payee_kind"], r["payee_account"], r["payee_name"]) for r in rows
    }
    sheet = load_workbook(io.BytesIO(client.get(f"{url}?format=xlsx", headers=operator).content)).active
    assert sheet is not None
    at = {name: n for n, name in enumerate(payouts.COLUMNS)}
    in_xlsx = {
        int(str(r[0])): tuple(str(r[at[c]] or "") for c in ("payee_kind", "payee_account", "payee_name"))
        for r in list(sheet.iter_rows(values_only=True))[1:]
    }
    assert in_xlsx == found
    return found


def test_an_account_changed_after_the_review_does_not_redirect_the_payout(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w, _order = settled_world(client, operator, factory)
    _put(client, operator, w.seller, FIRST, "王小美")
    approved = _ask(client, operator, w.seller, "a")
    _approve(client, operator, approved)
    waiting = _ask(client, operator, w.seller, "b")

    _put(client, operator, w.seller, SECOND_WHOLE, "李雷")  # after the approval, and while b waits
    console_sign_in(client, factory)
    page = client.get("/console/withdrawals")
    assert page.status_code == 200
    assert page.text.count(FIRST_MASKED) == 2  # what the operator reviews: a approved, b requested
    assert SECOND_MASKED not in page.text
    assert FIRST_WHOLE not in page.text
    _approve(client, operator, waiting)
    later = _ask(client, operator, w.seller, "c")  # asked after the change: the new account
    _approve(client, operator, later)

    assert _paid_to(client, operator, w.program_id) == {
        approved: ("bank_card", FIRST_WHOLE, "王小美"),
        waiting: ("bank_card", FIRST_WHOLE, "王小美"),
        later: ("alipay", SECOND_WHOLE, "李雷"),
    }
    with factory() as session:
        for row in session.scalars(select(Withdrawal)):
            assert row.payee_account_sealed is not None
            assert FIRST_WHOLE not in row.payee_account_sealed
            assert SECOND_WHOLE not in row.payee_account_sealed
            assert "王小美" not in (row.payee_holder_sealed or "")


def test_a_request_asked_with_no_account_takes_the_first_one_set_while_it_waits(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w, _order = settled_world(client, operator, factory)
    approved_bare = _ask(client, operator, w.seller, "a")
    _approve(client, operator, approved_bare)  # approved with no account: it keeps none
    waiting = _ask(client, operator, w.seller, "b")
    _put(client, operator, w.seller, FIRST, "王小美")
    _put(client, operator, w.seller, SECOND_WHOLE, "李雷")  # b has one now: this one does not reach it
    _approve(client, operator, waiting)

    assert _paid_to(client, operator, w.program_id) == {
        approved_bare: ("", "", ""),
        waiting: ("bank_card", FIRST_WHOLE, "王小美"),
    }
    with factory() as session:
        afters: list[Any] = list(
            session.scalars(
                select(AuditEntry.after).where(AuditEntry.action == "payee.put").order_by(AuditEntry.id)
            )
        )
    assert [a.get("withdrawals") for a in afters] == [[waiting], None]
    assert FIRST_WHOLE not in repr(afters)


def test_the_copy_opens_with_any_configured_key_after_a_rotation(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w, _order = settled_world(client, operator, factory)
    _put(client, operator, w.seller, FIRST, "王小美")
    made = _ask(client, operator, w.seller, "a")
    _approve(client, operator, made)
    settings = client.app.state.settings  # type: ignore[attr-defined]
    sealing = settings.sealing_keys or [derived_key(settings.secret_key)]
    batch = client.post(f"/api/v1/programs/{w.program_id}/payout-batches", headers=operator).json()
    newer = Fernet.generate_key().decode()

    def cells(keys: list[str]) -> list[tuple[object, ...]]:
        with factory() as session:
            rows = payouts.batch_rows(session, batch["id"], Sealer(keys), "en")
            return [row[9:12] for row in rows]

    assert cells([newer, *sealing]) == [("bank_card", FIRST_WHOLE, "王小美")]  # rotated: old keys open
    assert cells([newer]) == [("bank_card", "", "")]  # sealed: no other key opens it
