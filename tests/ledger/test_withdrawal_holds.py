"""A member a risk case holds (an open high-severity case) or suspended withdraws nothing: the request
is refused, and so is the approval of one made before the hold; a payout batch leaves such withdrawals
out, and a batch paid after the hold arrived pays the others and gives the held ones back, unpaid and
approved, with nothing posted; the console marks them."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select, update
from sqlalchemy.event import listen
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.db import transaction
from neigou.kit.sealed import Sealer
from neigou.kit.settings import Settings
from neigou.ledger import payouts
from neigou.ledger.models import Withdrawal, WithdrawalStatus
from neigou.risk.models import CaseStatus, RiskCase, Severity, Suspension
from tests.conftest import row_counts
from tests.ledger.test_withdrawals import _earn
from tests.orders.builders import PAID_AT, World, assert_ledger_balanced, balance, build
from tests.sign_in import console_sign_in

HOLDS = {
    "withdrawals_held": (
        "Withdrawals are held while risk case {case} is under review.",
        "风控案件 {case} 审核期间暂停提现。",
    ),
    "member_suspended": (
        "Member {member} is suspended after a confirmed risk case.",
        "成员 {member} 因风控案件确认已被停用。",
    ),
}


# The finance file's hold column, as the console words it.
HOLD_WORDS = {
    "member_suspended": "Suspended after a confirmed risk case",
    "withdrawals_held": "Held while a risk case is under review",
}
HOLD_WORDS_ZH = {"member_suspended": "因风控案件确认已停用", "withdrawals_held": "风控案件审核期间暂停提现"}


def _hold(factory: sessionmaker[Session], w: World, member_id: int, code: str) -> int:
    """Hold the member: an open high-severity case, or a confirmed one that suspended them."""
    suspend = code == "member_suspended"
    with transaction(factory) as session:
        case = RiskCase(
            program_id=w.program_id,
            rule="order_brushing",
            subject=f"member:{member_id}",
            severity=Severity.HIGH,
            member_id=member_id,
            status=CaseStatus.CONFIRMED if suspend else CaseStatus.OPEN,
            evidence={},
            explanation={"msgid": "Brushing", "values": {}},
            opened_at=PAID_AT,
        )
        session.add(case)
        session.flush()
        if suspend:
            session.add(Suspension(member_id=member_id, program_id=w.program_id, case_id=case.id, at=PAID_AT))
        return case.id


def _clear(factory: sessionmaker[Session], case_id: int) -> None:
    with transaction(factory) as session:
        session.execute(update(RiskCase).where(RiskCase.id == case_id).values(status=CaseStatus.CLEARED))


def _request(client: TestClient, headers: dict[str, str], member_id: int, amount_fen: int, key: str) -> int:
    made = client.post(
        f"/api/v1/members/{member_id}/withdrawals",
        json={"amount_fen": amount_fen, "request_id": key},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _approve(client: TestClient, operator: dict[str, str], withdrawal_id: int) -> None:
    approved = client.post(f"/api/v1/withdrawals/{withdrawal_id}/approve", headers=operator)
    assert approved.status_code == 200, approved.text


def _two_approved(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> tuple[World, int, int]:
    """The seller's and the owner's withdrawals, both approved: (world, seller's, owner's)."""
    w = build(client, operator, factory, max_levels=2)
    _earn(client, operator, w)  # seller 4000, owner 1000 available
    seller = _request(client, operator, w.seller, 3000, "s-1")
    owner = _request(client, operator, w.owner, 500, "o-1")
    _approve(client, operator, seller)
    _approve(client, operator, owner)
    return w, seller, owner


def _status(factory: sessionmaker[Session], withdrawal_id: int) -> tuple[WithdrawalStatus, int | None]:
    with factory() as session:
        w = session.get(Withdrawal, withdrawal_id)
        assert w is not None
        return w.status, w.batch_id


@pytest.mark.parametrize("code", sorted(HOLDS))
def test_a_request_made_before_the_hold_is_not_approved(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], code: str
) -> None:
    w = build(client, operator, factory, max_levels=2)
    _earn(client, operator, w)
    withdrawal_id = _request(client, operator, w.seller, 3000, "w-1")
    case_id = _hold(factory, w, w.seller, code)
    before = row_counts(factory)
    for language, detail in zip(("en", "zh-CN"), HOLDS[code], strict=True):
        refused = client.post(
            f"/api/v1/withdrawals/{withdrawal_id}/approve", headers={**operator, "Accept-Language": language}
        )
        assert (refused.status_code, refused.json()["code"]) == (409, code), refused.text
        assert refused.json()["detail"] == detail.format(case=case_id, member=w.seller)
    assert row_counts(factory) == before
    assert _status(factory, withdrawal_id) == (WithdrawalStatus.REQUESTED, None)
    if code == "withdrawals_held":  # cleared: the request is approved
        _clear(factory, case_id)
        _approve(client, operator, withdrawal_id)
        assert _status(factory, withdrawal_id) == (WithdrawalStatus.APPROVED, None)


@pytest.mark.parametrize("code", sorted(HOLDS))
def test_a_batch_leaves_a_held_members_withdrawal_out(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], code: str
) -> None:
    w, seller, owner = _two_approved(client, operator, factory)
    case_id = _hold(factory, w, w.seller, code)
    made = client.post(f"/api/v1/programs/{w.program_id}/payout-batches", headers=operator)
    assert made.status_code == 201, made.text
    batch = made.json()
    assert (batch["count"], batch["total_net_fen"]) == (1, 500)
    assert _status(factory, owner) == (WithdrawalStatus.APPROVED, batch["id"])
    assert _status(factory, seller) == (WithdrawalStatus.APPROVED, None)
    again = client.post(f"/api/v1/programs/{w.program_id}/payout-batches", headers=operator)
    assert (again.status_code, again.json()["code"]) == (409, "nothing_to_pay"), again.text
    if code == "withdrawals_held":
        _clear(factory, case_id)
        later = client.post(f"/api/v1/programs/{w.program_id}/payout-batches", headers=operator)
        assert later.status_code == 201, later.text
        assert (later.json()["count"], later.json()["total_net_fen"]) == (1, 3000)


@pytest.mark.parametrize("code", sorted(HOLDS))
def test_a_batch_paid_after_a_hold_gives_the_held_withdrawal_back_unpaid(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], code: str
) -> None:
    w, seller, owner = _two_approved(client, operator, factory)
    batch = client.post(f"/api/v1/programs/{w.program_id}/payout-batches", headers=operator).json()
    assert batch["count"] == 2
    case_id = _hold(factory, w, w.seller, code)
    path = f"/api/v1/payout-batches/{batch['id']}/paid"
    paid = client.post(path, headers=operator)
    assert paid.status_code == 200, paid.text
    body = paid.json()
    assert (body["count"], body["total_net_fen"], body["held_withdrawal_ids"]) == (1, 500, [seller])
    assert body["paid_at"] is not None
    assert _status(factory, owner) == (WithdrawalStatus.PAID, batch["id"])
    assert _status(factory, seller) == (WithdrawalStatus.APPROVED, None)
    assert balance(client, operator, w.seller) == {
        "pending_fen": 0,
        "frozen_fen": 0,
        "available_fen": 1000,  # the 3000 stays withdrawing
        "withdrawn_fen": 0,
    }
    assert balance(client, operator, w.owner)["withdrawn_fen"] == 500
    assert_ledger_balanced(factory)
    before = row_counts(factory)
    repeat = client.post(path, headers=operator)  # idempotent: the paid batch, nothing written
    assert repeat.status_code == 200, repeat.text
    assert (repeat.json()["count"], repeat.json()["held_withdrawal_ids"]) == (1, [])
    assert row_counts(factory) == before
    if code == "withdrawals_held":
        _clear(factory, case_id)
        later = client.post(f"/api/v1/programs/{w.program_id}/payout-batches", headers=operator).json()
        assert client.post(f"/api/v1/payout-batches/{later['id']}/paid", headers=operator).status_code == 200
        assert balance(client, operator, w.seller)["withdrawn_fen"] == 3000
    else:  # a suspended member's withdrawal is rejected: the money goes back to available
        rejected = client.post(
            f"/api/v1/withdrawals/{seller}/reject", json={"reason": "risk"}, headers=operator
        )
        assert rejected.status_code == 200, rejected.text
        assert balance(client, operator, w.seller)["available_fen"] == 4000
    assert_ledger_balanced(factory)


def _marks(text: str, testid: str) -> list[tuple[str, str]]:
    """Each row's hold mark (its code, or empty) and whether it has an approve button."""
    rows = re.findall(rf'<tr data-testid="{testid}">(.*?)</tr>', text, re.S)
    return [
        (
            (re.findall(r'data-testid="held" data-code="([a-z_]+)"', row) or [""])[0],
            "approve" if 'data-testid="approve"' in row else "",
        )
        for row in rows
    ]


def test_the_console_marks_held_members_withdrawals(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
) -> None:
    w = build(client, operator, factory, max_levels=2)
    _earn(client, operator, w)
    seller = _request(client, operator, w.seller, 1000, "s-1")
    _approve(client, operator, seller)
    _request(client, operator, w.seller, 1000, "s-2")
    _request(client, operator, w.owner, 500, "o-1")
    _hold(factory, w, w.seller, "withdrawals_held")
    console_sign_in(client, factory)
    page = client.get("/console/withdrawals")
    assert page.status_code == 200
    assert sorted(_marks(page.text, "withdrawal-row")) == [("", "approve"), ("withdrawals_held", "")]
    assert _marks(page.text, "approved-row") == [("withdrawals_held", "")]
    assert "风控案件审核期间暂停提现" in html.unescape(page.text)
    english = client.get("/console/withdrawals?lang=en")
    assert "Held while a risk case is under review" in english.text
    _hold(factory, w, w.owner, "member_suspended")
    suspended = client.get("/console/withdrawals?lang=en")
    assert sorted(_marks(suspended.text, "withdrawal-row")) == [
        ("member_suspended", ""),
        ("withdrawals_held", ""),
    ]
    assert "Suspended after a confirmed risk case" in suspended.text
    with factory() as session:
        assert session.scalar(select(Withdrawal.batch_id).where(Withdrawal.id == seller)) is None


@pytest.mark.parametrize("code", sorted(HOLDS))
def test_a_batch_whose_every_withdrawal_is_held_is_closed_with_nothing_paid(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], code: str
) -> None:
    """Nothing is paid, and every withdrawal leaves the batch still approved, to be paid in a later batch
    or rejected: a batch kept open would be stuck for good once a member is suspended."""
    w, seller, owner = _two_approved(client, operator, factory)
    batch = client.post(f"/api/v1/programs/{w.program_id}/payout-batches", headers=operator).json()
    _hold(factory, w, w.seller, code)
    _hold(factory, w, w.owner, "withdrawals_held")
    paid = client.post(f"/api/v1/payout-batches/{batch['id']}/paid", headers=operator)
    assert paid.status_code == 200, paid.text
    assert (paid.json()["count"], paid.json()["held_withdrawal_ids"]) == (0, [seller, owner])
    assert _status(factory, seller) == _status(factory, owner) == (WithdrawalStatus.APPROVED, None)
    assert_ledger_balanced(factory)


@pytest.mark.parametrize("code", sorted(HOLDS))
def test_the_finance_file_marks_held_members_withdrawals(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    settings: Settings,
    code: str,
) -> None:
    """Once unmarked: finance transferred money that marking the batch paid then gave back unpaid."""
    w, seller, owner = _two_approved(client, operator, factory)
    batch = client.post(f"/api/v1/programs/{w.program_id}/payout-batches", headers=operator).json()
    _hold(factory, w, w.seller, code)
    path = f"/api/v1/payout-batches/{batch['id']}/export"
    for language, held in (("en", HOLD_WORDS[code]), ("zh-CN", HOLD_WORDS_ZH[code])):
        exported = client.get(f"{path}?format=csv", headers={**operator, "Accept-Language": language})
        rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert [(int(r["withdrawal_id"]), r["hold"]) for r in rows] == [(seller, held), (owner, "")]
        excel = client.get(f"{path}?format=xlsx", headers={**operator, "Accept-Language": language})
        sheet = load_workbook(io.BytesIO(excel.content)).worksheets[0]
        assert [(r[0], r[-1]) for r in sheet.iter_rows(values_only=True)] == [
            ("withdrawal_id", "hold"),
            (seller, held),
            (owner, None),  # an empty cell
        ]
    with factory() as session:  # one statement for the rows and their holds, however many rows
        statements: list[str] = []
        listen(session.connection(), "before_cursor_execute", lambda *a: statements.append(a[2]))
        cells = payouts.batch_rows(session, batch["id"], Sealer.from_settings(settings), "en")
        assert ([r[-1] for r in cells], len(statements)) == ([HOLD_WORDS[code], ""], 1)
