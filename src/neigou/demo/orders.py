"""Demo orders and money: four months of sales (growing, busier at weekends, in the shoppers' hours in
the program's zone, a third of them from a returning shopper) through the owners' share links (a
link made for a group gives that group its sales; an owner who joined during those months makes their
links on joining, and an order goes through a link made by the time it is paid), completions, refunds,
weekly settlements, monthly withdrawals paid in batches, and this week's requests waiting for review.

Whatever hour it is built at, every member's available balance stays at or above zero (a refund that
would take more than its owner has available does not happen), the sample owner has been paid out
before, and one other owner shows a refund after payout on purpose: they asked to withdraw all they had,
then their biggest released order came back, so their available balance is negative by its commission
(``DemoWorld.clawed_back_member_id``, the console's ledger explains it).

Played day by day through the services, so every fen follows the same rules as production; nothing
is dated after ``now`` (what would fall later has not happened yet).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.demo.hours import CLOSES, OPENS
from neigou.groups import repository as groups_repo
from neigou.groups.models import GroupStatus
from neigou.kit.actor import Actor
from neigou.kit.errors import ProblemError
from neigou.ledger import payouts, withdrawals
from neigou.ledger import repository as ledger
from neigou.ledger.models import Account, PayoutSettings, WithdrawalStatus
from neigou.links import repository as links_repo
from neigou.links import service as links
from neigou.links.schemas import LinkCreate
from neigou.offers import repository as offers
from neigou.orders import service, settlement
from neigou.orders.ingest import ingest
from neigou.orders.inputs import ItemIn, OrderIn
from neigou.orders.models import CommissionState, Order, OrderSource
from neigou.programs.models import Member
from neigou.programs.service import require_program

DEMO_ACTOR = Actor(kind="cli", ref="demo", label="neigou demo")
DAYS = 120
# The shoppers' hours of a day, in minutes after its midnight (``demo.hours``).
SHOPPING_MINUTES = (OPENS.hour * 60 + OPENS.minute, CLOSES.hour * 60 + CLOSES.minute)
SKUS = [
    "LQ-SHAMPOO-500",
    "LQ-CONDITIONER-400",
    "YD-TEE-CREW",
    "YD-JEANS-HW",
    "HS-NUTS-30",
    "MM-WIPES-80",
    "HS-PODS-52",
]


def _links(
    session: Session, owners: list[Member], sample_owner_id: int, rng: random.Random, start: datetime
) -> list[tuple[datetime, str]]:
    """The links orders go through, each with when it was made: the sample owner's, then each owner's,
    made at the start of the history or, for an owner who joined later, when they joined (a group's link
    once the group was registered)."""
    codes = [
        (link.created_at, link.code) for link in links_repo.list_links(session, member_id=sample_owner_id)
    ]
    for owner in owners:
        # Owners who run groups post their links in them: those links' sales are the groups' sales.
        # Each of an owner's groups gets a link of its own, so sales spread over most groups.
        # A group's link is made once the group exists (registered on the owner's joining day).
        own = groups_repo.list_groups(session, owner_member_id=owner.id, status=GroupStatus.ACTIVE, limit=100)
        targets: list[tuple[int | None, datetime]] = [(g.id, g.created_at) for g in own] or [
            (None, owner.joined_at),
            (None, owner.joined_at),
        ]
        for group_id, since in targets:
            made = max(start, owner.joined_at, since)
            link = links.create_link(
                session,
                data=LinkCreate(member_id=owner.id, sku=rng.choice(SKUS), group_id=group_id),
                actor=DEMO_ACTOR,
                at=made,
            )
            codes.append((made, link.code))
    return codes


class Shoppers:
    """Who buys: mostly new shoppers, and about a third of the orders from someone who bought in the
    last weeks (so repeat purchase and cohorts have something to show)."""

    RECENT = 250  # buyers a repeat order is drawn from

    def __init__(self) -> None:
        self._recent: list[str] = []

    def next(self, rng: random.Random) -> str:
        if self._recent and rng.random() < 0.33:
            return rng.choice(self._recent)
        phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
        self._recent = [*self._recent[-(self.RECENT - 1) :], phone]
        return phone


def _orders_of_day(
    day: datetime,
    *,
    count: int,
    codes: list[tuple[datetime, str]],
    program_id: int,
    prices: dict[str, int],
    rng: random.Random,
    serial: int,
    shoppers: Shoppers,
) -> list[OrderIn]:
    out: list[OrderIn] = []
    for n in range(count):
        items = []
        for sku in rng.sample(SKUS, rng.randint(1, 3)):
            qty = rng.choice([1, 1, 1, 2, 3])
            items.append(ItemIn(sku, qty, prices[sku] * qty * rng.randint(60, 100) // 100))
        paid_at = day + timedelta(minutes=rng.randrange(*SHOPPING_MINUTES))  # 08:00–22:30 there
        made = [code for at, code in codes if at <= paid_at]  # no order through a link not made yet
        out.append(
            OrderIn(
                external_id=f"JD{day:%Y%m%d}{serial + n:05d}",
                program_id=program_id,
                customer_ref=shoppers.next(rng),
                link_code=rng.choice(made) if rng.random() < 0.9 and made else None,
                items=tuple(items),
                paid_at=paid_at,
            )
        )
    return out


def seed_orders(
    session: Session,
    *,
    program_id: int,
    owner_ids: list[int],
    sample_owner_id: int,
    now: datetime,
    secret_key: str,
) -> int:
    """Four months of the partner program's orders, refunds, settlements and payouts; the id of the
    owner whose available balance a refund after payout made negative."""
    rng = random.Random(20260501)
    program = require_program(session, program_id)
    zone = ZoneInfo(program.timezone)
    today = now.astimezone(zone).date()
    start = _midnight(today - timedelta(days=DAYS), zone)
    session.add(
        PayoutSettings(
            program_id=program.id, min_withdrawal_fen=1000, fee_fixed_fen=0, fee_bp=60, updated_at=start
        )
    )
    members = {m.id: m for m in session.scalars(select(Member).where(Member.program_id == program.id))}
    codes = _links(session, [members[o] for o in owner_ids], sample_owner_id, rng, start)
    catalog = offers.products_by_sku(session, SKUS, organization_id=program.organization_id)
    prices = {p.sku: p.price_fen for p in catalog.values()}
    completions: dict[int, datetime] = {}
    refunds: list[tuple[datetime, int, bool]] = []
    serial = 0
    shoppers = Shoppers()
    for offset in range(DAYS + 1):
        day = _midnight(today - timedelta(days=DAYS - offset), zone)
        horizon = min(day + timedelta(days=1), now)  # what has happened by the end of the day
        batch = _orders_of_day(
            day,
            count=_orders_on(day.date(), offset, rng),
            codes=codes,
            program_id=program.id,
            prices=prices,
            rng=rng,
            serial=serial,
            shoppers=shoppers,
        )
        serial += len(batch)
        batch = [o for o in batch if o.paid_at < now - timedelta(minutes=5)]  # nothing from the future
        taken = ingest(session, batch, secret_key=secret_key, source=OrderSource.IMPORT, now=horizon)
        for result in taken.created:
            order = session.get(Order, result)
            assert order is not None
            completions[order.id] = order.paid_at + timedelta(days=rng.randint(2, 6))
            if rng.random() < 0.12:
                refunds.append(
                    (order.paid_at + timedelta(days=rng.randint(1, 30)), order.id, rng.random() < 0.4)
                )
        for order_id, at in sorted(completions.items()):
            if at <= horizon:
                order = session.get(Order, order_id)
                assert order is not None
                service.complete(session, order=order, at=at, actor=DEMO_ACTOR)
                del completions[order_id]
        for due in [r for r in refunds if r[0] <= horizon]:
            refunds.remove(due)
            _refund(session, due, rng)
        if day.weekday() == 0:
            # Today's settlement goes before the requests of the last half hour (a withdrawal is never
            # dated before the money it takes became available) when the day began only just now.
            as_of = min(day, now - timedelta(hours=1))
            settlement.settle(session, program=program, as_of=as_of, actor=DEMO_ACTOR, now=as_of)
        if day.day == 5 or offset == DAYS:
            _withdrawals(session, members, day, rng, pay=offset < DAYS - 3, now=now, sample=sample_owner_id)
    others = [o for o in owner_ids if o != sample_owner_id]
    return _clawback(session, [members[o] for o in others], now - timedelta(minutes=20))


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _orders_on(day: date, offset: int, rng: random.Random) -> int:
    """A day's orders: the program grows over the months, weekends sell more, and no two days match."""
    growth = 60 + 40 * offset // DAYS  # percent of today's pace
    weekend = 135 if day.weekday() >= 5 else 100
    return max(2, rng.randint(7, 15) * growth * weekend // 10_000)


def _clawback(session: Session, owners: list[Member], at: datetime) -> int:
    """A refund after payout, shown on purpose: an owner asks to withdraw all they have available, then
    their biggest released order comes back in full, and their available balance is negative by its
    commission. The owner is the first, biggest order first, whom that leaves negative (not one whose
    withdrawals a risk hold stops, say); their id."""
    by_id = {o.id: o for o in owners}
    released = session.scalars(
        select(Order)
        .where(Order.member_id.in_(by_id), Order.commission_state == CommissionState.AVAILABLE)
        .where(Order.refunded_fen == 0)
        .order_by(Order.commission_fen.desc(), Order.id)
    ).all()
    for order in released:
        assert order.member_id is not None
        member = by_id[order.member_id]
        available = ledger.account_total(session, member.id, Account.AVAILABLE)
        try:
            withdrawals.request(
                session,
                member=member,
                amount_fen=available,
                request_id=f"WD{order.external_id}-all",
                actor=DEMO_ACTOR,
                at=at,
            )
            available = 0
        except ProblemError:  # too little to withdraw, or a risk hold stops it
            pass
        if order.commission_fen <= available:
            continue
        service.refund(
            session,
            order=order,
            refund_id=f"RF{order.external_id}-late",
            amount_fen=order.paid_fen,
            at=at + timedelta(minutes=10),
            actor=DEMO_ACTOR,
        )
        return member.id
    raise AssertionError("no owner of the demo has a released order to refund after payout")


def _refund(session: Session, due: tuple[datetime, int, bool], rng: random.Random) -> None:
    """A shopper's refund, unless its order's commission was released and its owner has less than that
    available (it was withdrawn): the demo's one refund after payout is ``_clawback``'s."""
    at, order_id, full = due
    order = session.get(Order, order_id)
    assert order is not None
    left = order.paid_fen - order.refunded_fen
    amount = left if full else max(1, left * rng.randint(20, 60) // 100)
    owner = order.member_id if order.commission_state == CommissionState.AVAILABLE else None
    if owner is not None and ledger.account_total(session, owner, Account.AVAILABLE) < order.commission_fen:
        return
    if left > 0:
        service.refund(
            session,
            order=order,
            refund_id=f"RF{order.external_id}",
            amount_fen=amount,
            at=max(at, order.paid_at),
            actor=DEMO_ACTOR,
        )


def _withdrawals(
    session: Session,
    members: dict[int, Member],
    day: datetime,
    rng: random.Random,
    *,
    pay: bool,
    now: datetime,
    sample: int,
) -> None:
    """The month's requests (most members with ¥50 available ask for part of it), approved or, for a
    few, rejected, and paid in a batch; the sample owner asks whenever they can and is never rejected,
    so their workspace shows money paid out."""
    for member in members.values():
        available = ledger.account_total(session, member.id, Account.AVAILABLE)
        if available < 5000 or (member.id != sample and rng.random() < 0.3):
            continue
        amount = available * rng.randint(50, 90) // 100
        try:
            withdrawals.request(
                session,
                member=member,
                amount_fen=amount,
                request_id=f"WD{day:%Y%m%d}-{member.id}",
                actor=DEMO_ACTOR,
                at=min(day + timedelta(hours=10), now - timedelta(minutes=30)),
            )
        except ProblemError:
            continue
    if not pay:
        return
    program_id = next(iter(members.values())).program_id
    requested = ledger.list_withdrawals(session, program_id=program_id, status=WithdrawalStatus.REQUESTED)
    for w in requested:
        if w.member_id != sample and rng.random() < 0.08:
            withdrawals.reject(
                session,
                withdrawal_id=w.id,
                reason="收款账户信息不全",
                actor=DEMO_ACTOR,
                at=day + timedelta(days=1),
            )
        else:
            try:  # a member a risk case came to hold since the request waits
                withdrawals.approve(session, withdrawal_id=w.id, actor=DEMO_ACTOR, at=day + timedelta(days=1))
            except ProblemError:
                continue
    if withdrawals.ids_approved_unbatched(session, program_id):
        batch = payouts.create_batch(
            session, program_id=program_id, actor=DEMO_ACTOR, at=day + timedelta(days=2)
        )
        payouts.pay_batch(session, batch_id=batch.id, actor=DEMO_ACTOR, at=day + timedelta(days=3))
