"""A network world for team and leaderboard tests: the order tests' mentor → owner → seller chain,
four recruits who joined around the March/April boundary of Asia/Shanghai, and orders through the
API on both sides of it (one partly and one fully refunded)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import create_member
from tests.orders.builders import SKU, World, build, order_body, post_order

MARCH_LAST_SECOND = "2026-03-31T23:59:59+08:00"
APRIL_FIRST_MIDNIGHT = "2026-04-01T00:00:00+08:00"
MARCH_FIRST_MIDNIGHT = "2026-03-01T00:00:00+08:00"


@dataclass
class NetWorld:
    """The chain, the recruits by name, and the program id."""

    base: World
    r1: int  # under owner, joined 23:59:59 on 31 March (Shanghai)
    r2: int  # under owner, joined 00:00 on 1 April (Shanghai)
    r3: int  # under mentor, joined in March
    r4: int  # under seller (level 3 from the mentor), joined in March

    @property
    def program_id(self) -> int:
        return self.base.program_id


def _refund(client: TestClient, operator: dict[str, str], ext: str, amount_fen: int, at: str) -> None:
    response = client.post(
        f"/api/v1/orders/{ext}/refunds",
        json={"refund_id": f"R-{ext}", "amount_fen": amount_fen, "at": at},
        headers=operator,
    )
    assert response.status_code in {200, 201}, response.text


def build_network(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], *, max_levels: int = 2
) -> NetWorld:
    """The world described above; seller's March: 3 orders, ¥320.00; owner's March: 1 order, ¥50.00."""
    w = build(client, operator, factory, max_levels=max_levels)

    def recruit(name: str, inviter: int, joined_at: str) -> int:
        return int(
            create_member(client, operator, w.program_id, name, inviter_id=inviter, joined_at=joined_at)["id"]
        )

    def order(ext: str, paid_fen: int, at: str, link: str) -> None:
        body = order_body(w, ext, (SKU, 1, paid_fen), link=link, customer=f"shopper-{ext}")
        body["paid_at"] = at
        post_order(client, operator, body)

    net = NetWorld(
        base=w,
        r1=recruit("新人甲", w.owner, MARCH_LAST_SECOND),
        r2=recruit("新人乙", w.owner, APRIL_FIRST_MIDNIGHT),
        r3=recruit("新人丙", w.mentor, "2026-03-05T10:00:00+08:00"),
        r4=recruit("新人丁", w.seller, "2026-03-06T10:00:00+08:00"),
    )
    order("S-A", 10_000, "2026-03-01T12:00:00+00:00", w.link)
    order("S-B", 20_000, MARCH_LAST_SECOND, w.link)
    _refund(client, operator, "S-B", 5_000, "2026-04-02T10:00:00+08:00")
    order("S-C", 30_000, "2026-03-15T10:00:00+08:00", w.link)
    _refund(client, operator, "S-C", 30_000, "2026-03-16T10:00:00+08:00")
    order("S-D", 40_000, APRIL_FIRST_MIDNIGHT, w.link)
    order("S-E", 7_000, MARCH_FIRST_MIDNIGHT, w.link)
    order("O-F", 5_000, "2026-03-10T10:00:00+08:00", w.owner_link)
    return net


def get_team(client: TestClient, headers: dict[str, str], member_id: int, period: str) -> dict[str, Any]:
    """A member's team for a month (``GET /api/v1/members/{id}/team``), asserted 200."""
    response = client.get(f"/api/v1/members/{member_id}/team?period={period}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
