"""A PUT of a one-per-key row (settings, a payee, a robot) that loses the race to insert that row applies
its change to the row the winner inserted, as a PUT sent after it would (never a 500), on both databases."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.auth.models import Role
from tests.conftest import TokenMaker, bearer
from tests.factories import create_member, create_program
from tests.lost_race import lost_race
from tests.offers import factories as offers

WEBHOOK = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key="


def _put_losing(
    client: TestClient,
    engine: Engine,
    table: str,
    url: str,
    *,
    first: Any,
    second: Any,
    headers: dict[str, str],
) -> Any:
    """PUT ``second`` to ``url`` while a PUT of ``first`` inserts the row first; the loser's answer."""
    loser = TestClient(client.app, raise_server_exceptions=False)
    with lost_race(engine, table, lambda: client.put(url, json=first, headers=headers)) as inner:
        answer = loser.put(url, json=second, headers=headers)
    assert inner == [200]
    assert answer.status_code == 200, answer.text
    return answer.json()


def _befores(factory: sessionmaker[Session], action: str) -> list[Any]:
    with factory() as session:
        return list(
            session.scalars(
                select(AuditEntry.before).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


def test_payout_settings(
    client: TestClient, operator: dict[str, str], engine: Engine, factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator)
    url = f"/api/v1/programs/{program['id']}/payout-settings"
    first = {"min_withdrawal_fen": 100, "fee_fixed_fen": 0, "fee_bp": 0}
    second = {"min_withdrawal_fen": 200, "fee_fixed_fen": 5, "fee_bp": 10}
    terms = {**second, "program_id": program["id"]}
    assert (
        _put_losing(
            client, engine, "program_payout_settings", url, first=first, second=second, headers=operator
        )
        == terms
    )
    assert client.get(url, headers=operator).json() == terms
    assert _befores(factory, "payout_settings.put")[1] == first  # the loser saw the winner's terms


def test_sku_commission(client: TestClient, operator: dict[str, str], engine: Engine) -> None:
    offers.matrix_world(client, operator)
    url = f"/api/v1/sku-commissions/{offers.MATRIX_SKU}"
    first, second = {"fixed_commission_fen": 100}, {"fixed_commission_fen": 250}
    assert (
        _put_losing(client, engine, "sku_commissions", url, first=first, second=second, headers=operator)[
            "fixed_commission_fen"
        ]
        == 250
    )
    listed = client.get("/api/v1/sku-commissions", headers=operator).json()
    assert [row["fixed_commission_fen"] for row in listed] == [250]


def test_payee_put_by_the_member(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, engine: Engine
) -> None:
    program = create_program(client, operator)
    member = create_member(client, operator, program["id"], name="m")
    token = bearer(make_token(Role.MEMBER, member["id"]))
    url = f"/api/v1/members/{member['id']}/payee"
    first = {"kind": "alipay", "account": "13800138000", "holder_name": "张三"}
    second = {"kind": "alipay", "account": "13900139000", "holder_name": "李四"}
    # A payee change takes the member's wallet lock before it reads the account (ledger.wallets): two
    # changes run one after the other, so the loser is the one whose lock comes second, the winner's
    # account row committed before it reads.
    _put_losing(client, engine, "ledger_wallets", url, first=first, second=second, headers=token)
    shown = client.get(url, headers=token).json()
    assert shown["account_masked"].endswith("9000")


def test_group_robot(client: TestClient, operator: dict[str, str], engine: Engine) -> None:
    program = create_program(client, operator)
    member = create_member(client, operator, program["id"], name="m")
    body = {"owner_member_id": member["id"], "name": "g", "platform": "wechat"}
    group = client.post("/api/v1/groups", json=body, headers=operator).json()
    url = f"/api/v1/groups/{group['id']}/robot"
    second = {"webhook_url": WEBHOOK + "second"}
    _put_losing(
        client,
        engine,
        "group_robots",
        url,
        first={"webhook_url": WEBHOOK + "first"},
        second=second,
        headers=operator,
    )


def test_group_settings_merge_onto_the_winners_row(
    client: TestClient, operator: dict[str, str], engine: Engine
) -> None:
    program = create_program(client, operator)
    url = f"/api/v1/programs/{program['id']}/group-settings"
    first, second = {"jump_members_per_day": 50}, {"jump_bp_per_day": 300}
    answer = _put_losing(client, engine, "group_settings", url, first=first, second=second, headers=operator)
    assert (answer["jump_members_per_day"], answer["jump_bp_per_day"]) == (50, 300)


def test_crm_settings_keep_the_winners_target_and_secret(
    client: TestClient, operator: dict[str, str], engine: Engine
) -> None:
    program = create_program(client, operator)
    url = f"/api/v1/programs/{program['id']}/crm/settings"
    first = {"channel": "webhook", "target": "https://hooks.example.com/crm"}
    answer = _put_losing(
        client, engine, "crm_settings", url, first=first, second={"channel": "webhook"}, headers=operator
    )
    assert answer["channel"] == "webhook"
    assert answer["target_masked"] is not None
    assert answer["webhook_secret"] is None  # the winner made the signing secret; the loser keeps it


def test_group_targets(
    client: TestClient, operator: dict[str, str], engine: Engine, factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator)
    url = f"/api/v1/programs/{program['id']}/group-targets"
    first = {"points": [{"date": "2026-03-24", "min_members": 250}], "daily_increase_after": 3}
    second = {"points": [{"date": "2026-03-24", "min_members": 300}], "daily_increase_after": 4}
    _put_losing(client, engine, "group_target_schedules", url, first=first, second=second, headers=operator)
    listed = client.get(url, headers=operator).json()
    assert [(s["points"][0]["min_members"], s["daily_increase_after"]) for s in listed] == [(300, 4)]
    with factory() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "group.targets.put")
            )
            == 2
        )


def test_risk_thresholds_merge_onto_the_winners_row(
    client: TestClient, operator: dict[str, str], engine: Engine
) -> None:
    program = create_program(client, operator)
    url = f"/api/v1/programs/{program['id']}/risk/thresholds"
    first, second = {"hoarding_min_refs": 6}, {"hoarding_min_refs": 7}
    answer = _put_losing(client, engine, "risk_settings", url, first=first, second=second, headers=operator)
    assert answer["hoarding_min_refs"] == 7
