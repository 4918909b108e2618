"""A salesperson's customer book in the brand program: the store's VIP customers with jobs, spending
power, taste tags, birthdays and marketing consent, their orders through the guide's links, and the
brand's winter line (new this season, with taste tags), so the customer pages and suggestions have
content. Built through the services; the book's derived fields come from ``crm.derive``."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from neigou.crm import derive
from neigou.crm import service as crm
from neigou.crm.models import ConsentPurpose, CrmSettings, CustomerSource, SpendingPower
from neigou.crm.schemas import ConsentGiven, CustomerCreate
from neigou.demo.hours import in_daytime
from neigou.kit.actor import Actor
from neigou.links import service as links
from neigou.links.schemas import LinkCreate
from neigou.offers import catalog_service
from neigou.offers.models import Product
from neigou.offers.schemas import ProductCreate
from neigou.orders.ingest import ingest
from neigou.orders.inputs import ItemIn, OrderIn
from neigou.orders.models import OrderSource
from neigou.programs.models import Member, Program

DEMO_ACTOR = Actor(kind="cli", ref="demo", label="neigou demo")
# sku, title, price (fen), taste tags, days since added (the winter line is new this season)
WINTER_LINE = [
    ("YD-WOOL-COAT", "衣朵 双面羊毛呢大衣 中长款", 89900, ["羊毛", "通勤", "简约"], 6),
    ("YD-CASHMERE-SCARF", "衣朵 纯羊绒围巾 经典格纹", 29900, ["羊绒", "简约"], 10),
    ("YD-DOWN-LIGHT", "衣朵 轻薄白鸭绒羽绒服", 49900, ["保暖", "通勤"], 3),
    ("YD-KNIT-TURTLE", "衣朵 高领羊毛针织衫", 25900, ["羊毛", "简约"], 20),
    ("YD-SILK-SHIRT", "衣朵 真丝衬衫 职场款", 59900, ["真丝", "通勤", "职场"], 200),
    ("YD-CHELSEA", "衣朵 切尔西短靴 头层牛皮", 69900, ["通勤", "皮革"], 150),
]
GARMENT_TAGS = {
    "YD-TEE-CREW": ["休闲", "纯棉"],
    "YD-JEANS-HW": ["休闲", "牛仔"],
    "YD-HOODIE": ["休闲", "保暖"],
    "YD-SUNCOAT": ["防晒", "休闲"],
    "YD-SOCKS-5": ["纯棉"],
}
# job, spending power (None: derived from orders), tags, consent (True, False, "withdrawn"), days known,
# baskets bought: (days ago, skus), each after its winter-line items were added
BOOK: list[tuple[str, SpendingPower | None, list[str], bool | str, int, list[tuple[int, list[str]]]]] = [
    ("律师", SpendingPower.HIGH, ["通勤", "羊毛", "M码"], True, 150, [(40, ["YD-SILK-SHIRT", "YD-CHELSEA"])]),
    (
        "医生",
        SpendingPower.HIGH,
        ["简约", "羊绒"],
        True,
        140,
        [(70, ["YD-SILK-SHIRT"]), (5, ["YD-WOOL-COAT"])],
    ),
    ("设计师", SpendingPower.MID, ["简约", "休闲", "S码"], True, 130, [(50, ["YD-JEANS-HW", "YD-TEE-CREW"])]),
    ("中学教师", SpendingPower.MID, ["通勤", "保暖"], True, 120, [(95, ["YD-HOODIE"])]),
    (
        "会计",
        None,
        ["通勤", "职场"],
        True,
        120,
        [(60, ["YD-SILK-SHIRT", "YD-CHELSEA"]), (4, ["YD-WOOL-COAT"])],
    ),
    ("程序员", SpendingPower.MID, ["休闲", "纯棉", "L码"], True, 110, [(45, ["YD-TEE-CREW", "YD-SOCKS-5"])]),
    ("护士", SpendingPower.LOW, ["纯棉", "休闲"], True, 100, [(100, ["YD-SOCKS-5"])]),
    ("公务员", None, ["职场", "简约"], True, 90, [(35, ["YD-SILK-SHIRT"]), (15, ["YD-KNIT-TURTLE"])]),
    (
        "销售经理",
        SpendingPower.HIGH,
        ["通勤", "皮革"],
        True,
        90,
        [(75, ["YD-CHELSEA"]), (3, ["YD-WOOL-COAT"])],
    ),
    ("大学生", SpendingPower.LOW, ["休闲", "牛仔"], False, 60, [(30, ["YD-JEANS-HW"])]),
    ("全职妈妈", SpendingPower.MID, ["保暖", "纯棉"], True, 45, []),
    ("瑜伽教练", None, ["休闲", "简约"], "withdrawn", 80, [(55, ["YD-SUNCOAT"])]),
    ("建筑师", SpendingPower.HIGH, ["简约", "羊毛"], True, 20, []),
    ("咖啡店主", SpendingPower.MID, ["休闲"], True, 12, [(5, ["YD-JEANS-HW", "YD-HOODIE"])]),
]
BIRTHDAYS_THIS_WEEK = {0: 2, 2: 5}  # book index: days from today


def _products(session: Session, *, organization_id: int, now: datetime) -> dict[str, Product]:
    # The rest of the catalog has been on sale since before this season.
    session.execute(
        update(Product)
        .where(Product.created_at > now - timedelta(days=90))
        .values(created_at=now - timedelta(days=90))
    )
    made = {}
    for sku, title, price, tags, days in WINTER_LINE:
        made[sku] = catalog_service.create_product(
            session,
            data=ProductCreate(
                sku=sku,
                title=title,
                price_fen=price,
                commission_rate_bp=2500,
                brand_code="yiduo",
                category_code="apparel",
                tags=tags,
            ),
            actor=DEMO_ACTOR,
            at=now - timedelta(days=days),
        )
    for sku, tags in GARMENT_TAGS.items():
        owned = Product.organization_id == organization_id
        session.execute(update(Product).where(owned, Product.sku == sku).values(tags=tags))
    return made


def seed_customers(
    session: Session,
    *,
    brand: Program,
    guide: Member,
    take_name: Callable[[], str],
    now: datetime,
    secret_key: str,
) -> None:
    """The guide's book: fourteen VIP customers, their orders and consent, and the program's push rules."""
    rng = random.Random(20261201)
    session.add(CrmSettings(program_id=brand.id, updated_at=now))
    products = _products(session, organization_id=brand.organization_id, now=now)
    prices = dict(
        session.execute(
            select(Product.sku, Product.price_fen).where(
                Product.organization_id == brand.organization_id, Product.sku.in_([*products, *GARMENT_TAGS])
            )
        ).all()
    )
    link_of: dict[str, str] = {}
    today = now.astimezone(ZoneInfo(brand.timezone)).date()
    orders: list[OrderIn] = []
    for index, (job, power, tags, consent, known, baskets) in enumerate(BOOK):
        phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
        known_at = now - timedelta(days=known)
        birthday = _birthday(rng, today, BIRTHDAYS_THIS_WEEK.get(index))
        customer = crm.add_customer(
            session,
            member=guide,
            new=crm.NewCustomer.of(
                secret_key,
                CustomerCreate(
                    customer_ref=phone,
                    name=take_name(),
                    job=job,
                    spending_power=power,
                    tags=tags,
                    birthday=birthday,
                    consent=ConsentGiven(marketing=consent is not False, source="store_vip_form"),
                ),
            ),
            source=CustomerSource.IMPORT if known > 60 else CustomerSource.MANUAL,
            actor=DEMO_ACTOR,
            at=known_at,
        )
        if consent == "withdrawn":
            crm.withdraw(
                session, customer=customer, purpose=ConsentPurpose.MARKETING, at=now - timedelta(days=10)
            )
        for n, (days, skus) in enumerate(baskets):
            paid_at = in_daytime(
                now - timedelta(days=days, minutes=rng.randrange(600)), ZoneInfo(brand.timezone), latest=now
            )
            for sku in skus:
                if sku not in link_of:
                    # Four months back, or when a winter-line item was added if that is later.
                    made = now - timedelta(days=120)
                    link_of[sku] = links.create_link(
                        session,
                        data=LinkCreate(member_id=guide.id, sku=sku),
                        actor=DEMO_ACTOR,
                        at=max(made, products[sku].created_at) if sku in products else made,
                    ).code
            orders.append(
                OrderIn(
                    external_id=f"YDVIP{index:02d}{n}",
                    program_id=brand.id,
                    customer_ref=phone,
                    link_code=link_of[skus[0]],
                    items=tuple(ItemIn(sku, 1, prices[sku] * 9 // 10) for sku in skus),
                    paid_at=paid_at,
                )
            )
    ingest(session, orders, secret_key=secret_key, source=OrderSource.IMPORT, now=now)
    derive.derive_program(session, program_id=brand.id, at=now)


def _birthday(rng: random.Random, today: date, in_days: int | None) -> date | None:
    if in_days is None:
        # Two to eleven months away: only the chosen customers have a birthday this week.
        month = (today.month + 1 + rng.randrange(10)) % 12 + 1
        return date(rng.randrange(1975, 2002), month, rng.randrange(1, 29)) if rng.random() < 0.7 else None
    soon = today + timedelta(days=in_days)
    return date(1988, soon.month, soon.day)  # a leap year: every day of the calendar exists
