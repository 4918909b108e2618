"""The demo's JD 联盟 feed: the partner program's integration and two months of the platform's order rows
(``jd.union.open.order.row.query``) whose ``subUnionId`` carries the owners' share-link codes, applied
through the feed service day by day as the platform reported them: each order paid, most completed a few
days later and many settled (``actualFee``, one in a few below the estimate, so the reconciliation shows
an ``amount`` difference), two with a unit returned, one cancelled after payment (无效, validCode 3), one
through a code of a retired promotion site that no link has (``missing``), and one owner's burst of a
dozen ¥3.90 orders within an hour, which the risk scan at the end of the seed finds as order brushing.

Every order is paid in the shoppers' daytime hours (``demo.hours``) after its link was made (so after
its member joined), and nothing is reported after ``now``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from neigou.demo.hours import in_daytime
from neigou.integrations import service as integrations
from neigou.integrations.models import Integration
from neigou.integrations.schemas import IntegrationBody
from neigou.kit.actor import Actor
from neigou.kit.sealed import Sealer, derived_key
from neigou.links import repository as links_repo
from neigou.links.models import ShareLink
from neigou.platforms import feeds
from neigou.platforms.rows import BEIJING, Platform
from neigou.programs.service import require_program

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison

DAYS = 60
ORDERS = 40
BURST = 12  # over the order_brushing threshold (10 small orders of one member within an hour)
BURST_DAYS_AGO = 9  # within the risk scan's 35-day look-back
RETIRED_CODE = "fx-oldsite-07"  # a code of the program's former promotion site: no link has it
SKUS = [
    (100012, "洗发水 500ml"),
    (100031, "护发素 400ml"),
    (200418, "坚果礼盒 30 袋"),
    (300077, "湿巾 80 抽"),
]


@dataclass
class _Order:
    """One platform order and the rows the platform reports on it over time."""

    order_id: int
    sku: tuple[int, str]
    code: str
    paid_at: datetime
    paid_fen: int
    fee_fen: int
    quantity: int = 1
    rows: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)

    def report(self, at: datetime, *, valid_code: int, **changes: Any) -> None:
        """A row as the platform reports the order at ``at``."""
        row: dict[str, Any] = {
            "id": f"{self.order_id}-{self.sku[0]}",
            "orderId": self.order_id,
            "parentId": 0,
            "orderTime": _wall(self.paid_at),
            "finishTime": "",
            "modifyTime": _wall(at),
            "skuId": self.sku[0],
            "skuName": self.sku[1],
            "skuNum": self.quantity,
            "skuReturnNum": 0,
            "skuFrozenNum": 0,
            "price": _yuan(self.paid_fen // self.quantity),
            "estimateCosPrice": _yuan(self.paid_fen),
            "actualCosPrice": 0,
            "commissionRate": 20,
            "finalRate": 100,
            "estimateFee": _yuan(self.fee_fen),
            "actualFee": 0,
            "validCode": valid_code,
            "positionId": 3003477075,
            "subUnionId": self.code,
            "unionId": 1000383,
            "payMonth": 0,
        }
        row.update(changes)
        self.rows.append((at, row))


def _wall(at: datetime) -> str:
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def seed_platform_feeds(
    session: Session,
    *,
    program_id: int,
    sample_owner_id: int,
    now: datetime,
    secret_key: str,
    actor: Actor,
) -> int:
    """The integration and its applied JD 联盟 rows; returns the integration's id."""
    rng = random.Random(20261105)
    zone = ZoneInfo(require_program(session, program_id).timezone)
    latest = now - timedelta(minutes=1)
    start = datetime.combine((now - timedelta(days=DAYS + 1)).astimezone(zone).date(), time(0), tzinfo=zone)
    integration = integrations.create(
        session,
        program_id=program_id,
        data=IntegrationBody(name="京东联盟 JD Union"),
        sealer=Sealer([derived_key(secret_key)]),
        allow_private=False,  # no outbound URL
        actor=actor,
        at=start,
    ).row
    links = links_repo.list_links(session, program_id=program_id, limit=1000)
    last_month = _month_before(now.astimezone(zone).date())
    orders = list(_orders(rng, links, zone=zone, now=now, latest=latest, last_month=last_month))
    orders.extend(_burst(links, sample_owner_id, zone=zone, now=now, latest=latest))
    apply_day_by_day(
        session,
        integration=integration,
        platform=Platform.JD_UNION,
        rows=[reported for order in orders for reported in order.rows],
        modified=lambda row: str(row["modifyTime"]),
        zone=zone,
        now=now,
        secret_key=secret_key,
        actor=actor,
    )
    return integration.id


def apply_day_by_day(
    session: Session,
    *,
    integration: Integration,
    platform: Platform,
    rows: Iterable[tuple[datetime, dict[str, Any]]],
    modified: Callable[[dict[str, Any]], SupportsRichComparison],
    zone: ZoneInfo,
    now: datetime,
    secret_key: str,
    actor: Actor,
    after_day: Callable[[datetime], None] | None = None,
) -> None:
    """Platform rows (each with the time it was reported) applied as a fetcher would have taken them in:
    each day's as fetched that evening (or now, for today's), oldest day first, in the order the platform
    modified them (``modified``, the row's modification time as the platform writes it). ``after_day``
    runs after each day, with the time that day was fetched."""
    days: dict[date, list[dict[str, Any]]] = {}
    for at, row in rows:
        days.setdefault(at.astimezone(zone).date(), []).append(row)
    for day in sorted(days):
        fetched = min(datetime.combine(day, time(23), tzinfo=zone).astimezone(UTC), now)
        reported = sorted(days[day], key=modified)
        feeds.apply_rows(
            session,
            integration=integration,
            platform=platform,
            rows=reported,
            secret_key=secret_key,
            now=fetched,
            latest=fetched,
            actor=actor,
        )
        if after_day is not None:
            after_day(fetched)


def _month_before(day: date) -> tuple[int, int]:
    first = day.replace(day=1) - timedelta(days=1)
    return first.year, first.month


def _orders(
    rng: random.Random,
    links: list[ShareLink],
    *,
    zone: ZoneInfo,
    now: datetime,
    latest: datetime,
    last_month: tuple[int, int],
) -> Iterator[_Order]:
    """The orders spread over the last ``DAYS`` days, each through a link made before it was paid."""
    differs_last_month = False
    returns = in_last_month_so_far = 0
    for n in range(ORDERS):
        paid_at = in_daytime(
            now - timedelta(days=DAYS) * (ORDERS - n) / ORDERS + timedelta(minutes=rng.randint(0, 600)),
            zone,
            latest=latest,
        ).replace(microsecond=0)
        made = [link for link in links if link.created_at < paid_at]
        if not made:
            continue
        link = made[rng.randrange(len(made))]
        local = paid_at.astimezone(zone)
        in_last_month = (local.year, local.month) == last_month
        in_last_month_so_far += in_last_month
        quantity = 2 if returns < 2 and n % 9 == 4 else 1
        price = rng.choice([2990, 4590, 5990, 8900, 12900])
        order = _Order(
            order_id=2_608_000_000 + n * 7919,
            sku=rng.choice(SKUS),
            # The third order of last month came through the retired site: never taken in (``missing``).
            code=RETIRED_CODE if in_last_month and in_last_month_so_far == 3 else link.code,
            paid_at=paid_at,
            paid_fen=price * quantity,
            fee_fen=price * quantity * rng.choice([10, 15, 20]) // 100 // 2 * 2,  # even: halves exactly
            quantity=quantity,
        )
        order.report(paid_at, valid_code=16)
        if n == ORDERS // 2:
            order.report(paid_at + timedelta(hours=20), valid_code=3)  # cancelled by the shopper: 无效
            yield order
            continue
        finished = in_daytime(paid_at + timedelta(days=rng.randint(3, 6)), zone, latest=latest)
        if finished <= paid_at or finished > latest:
            yield order
            continue
        finish = {"finishTime": _wall(finished)}
        order.report(finished, valid_code=17, **finish)
        if quantity == 2:
            returns += 1
            back = in_daytime(finished + timedelta(days=2), zone, latest=latest)
            if finished < back <= latest:
                half = {"estimateFee": _yuan(order.fee_fen // 2), "skuReturnNum": 1}
                order.report(back, valid_code=17, **finish, **half)
            yield order
            continue
        settled_on = (finished + timedelta(days=10)).astimezone(BEIJING).date()
        settled_from = datetime.combine(settled_on, time(0), tzinfo=BEIJING)
        reported = in_daytime(settled_from + timedelta(hours=10), zone, latest=latest)
        if not settled_from <= reported <= latest:
            yield order
            continue
        actual = order.fee_fen
        if (in_last_month and not differs_last_month and order.code != RETIRED_CODE) or n % 7 == 0:
            # The platform took part of the fee back (a price protection refund to the shopper).
            actual = order.fee_fen * 8 // 10
            differs_last_month = differs_last_month or in_last_month
        order.report(
            reported,
            valid_code=17,
            **finish,
            actualCosPrice=_yuan(order.paid_fen),
            actualFee=_yuan(actual),
            payMonth=settled_on.strftime("%Y%m%d"),
        )
        yield order


def _burst(
    links: list[ShareLink], sample_owner_id: int, *, zone: ZoneInfo, now: datetime, latest: datetime
) -> list[_Order]:
    """A dozen ¥3.90 orders through one owner's link within 40 minutes of an afternoon."""
    day = (now - timedelta(days=BURST_DAYS_AGO)).astimezone(zone).date()
    begins = datetime.combine(day, time(14, 5), tzinfo=zone).astimezone(UTC)
    own = sorted(
        (link for link in links if link.member_id != sample_owner_id and link.created_at < begins),
        key=lambda link: link.id,
    )
    if not own or begins > latest:
        return []
    orders = []
    for n in range(BURST):
        paid_at = begins + timedelta(minutes=3 * n, seconds=17 * n)
        order = _Order(2_609_500_000 + n, SKUS[3], own[0].code, paid_at, 390, 38)
        order.report(paid_at, valid_code=16)
        orders.append(order)
    return orders
