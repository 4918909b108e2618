"""A salesperson's pushes in the brand program: a few VIP customers in a guide's book (one without
marketing consent), a push sent yesterday by the task list with an order through one of its links,
and today's push still to send, so the push pages and the console's figures have content."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.crm import pushes
from neigou.crm import service as crm
from neigou.crm.models import CustomerSource
from neigou.crm.schemas import ConsentGiven, CustomerCreate
from neigou.demo.hours import in_daytime
from neigou.demo.offers import GARMENTS
from neigou.kit.actor import Actor
from neigou.links.models import ShareLink
from neigou.orders.ingest import ingest
from neigou.orders.inputs import ItemIn, OrderIn
from neigou.orders.models import OrderSource
from neigou.programs.models import Member
from neigou.programs.service import require_program

DEMO_ACTOR = Actor(kind="cli", ref="demo", label="neigou demo")
# phone, job, consent
BOOK = [
    ("13911110001", "财务经理", True),
    ("13911110002", "外企白领", True),
    ("13911110003", "小学老师", True),
    ("13911110004", "自由职业", False),
    ("13911110005", "牙医", True),
]
TEMPLATE = "{name}您好，店里新到的{product}您穿一定好看：群内价¥{group_price}（App ¥{app_price}），{link}"


def seed_pushes(
    session: Session,
    *,
    brand_id: int,
    base_url: str,
    take_name: Callable[[], str],
    now: datetime,
    secret_key: str,
) -> Member:
    """The book of the brand's second guide and two pushes; returns the guide."""
    guide = list(session.scalars(select(Member).where(Member.program_id == brand_id).order_by(Member.id)))[1]
    customers = []
    for phone, job, consent in BOOK:
        customers.append(
            crm.add_customer(
                session,
                member=guide,
                new=crm.NewCustomer.of(
                    secret_key,
                    CustomerCreate(
                        customer_ref=phone,
                        name=take_name(),
                        job=job,
                        consent=ConsentGiven(marketing=consent, source="store_vip_form"),
                    ),
                ),
                source=CustomerSource.MANUAL,
                actor=DEMO_ACTOR,
                at=now - timedelta(days=40),
            )
        )
    # A day ago in the shoppers' hours, early enough that the sale two hours later is too.
    zone = ZoneInfo(require_program(session, brand_id).timezone)
    yesterday = in_daytime(now - timedelta(days=1), zone, latest=now - timedelta(hours=2), closes=time(20))
    first = pushes.create_push(
        session,
        member=guide,
        ask=pushes.PushRequest(
            customer_ids=[c.id for c in customers[:4]],
            skus=[GARMENTS[2]],
            template=None,
            due=yesterday,
            request_id="demo-push-1",
        ),
        base_url=base_url,
        actor=DEMO_ACTOR,
        now=yesterday,
    )
    for message in first.messages[:2]:
        pushes.mark_sent(session, made=first, message_id=message.id, at=yesterday + timedelta(minutes=20))
    bought = first.messages[0]
    code = session.scalar(select(ShareLink.code).where(ShareLink.id == bought.link_id))
    price = 15900
    ingest(
        session,
        [
            OrderIn(
                external_id="YDPUSH001",
                program_id=brand_id,
                customer_ref=BOOK[0][0],
                link_code=code,
                items=(ItemIn(GARMENTS[2], 1, price),),
                paid_at=yesterday + timedelta(hours=2),
            )
        ],
        secret_key=secret_key,
        source=OrderSource.IMPORT,
        now=now,
    )
    pushes.create_push(
        session,
        member=guide,
        ask=pushes.PushRequest(
            customer_ids=[c.id for c in customers[1:]],
            skus=[GARMENTS[0], GARMENTS[1]],
            template=TEMPLATE,
            due=now,
            request_id="demo-push-2",
        ),
        base_url=base_url,
        actor=DEMO_ACTOR,
        now=now,
    )
    return guide
