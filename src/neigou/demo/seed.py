"""The demo world, drawn from the field: a partner program with super members and mentors,
and a brand's salesperson network. Built through the services so every rule applies."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from neigou.auth import service as auth
from neigou.auth import sign_in_codes
from neigou.auth.models import Role
from neigou.demo.brand_sales import seed_brand_sales
from neigou.demo.customers import seed_customers
from neigou.demo.feed import seed_feed
from neigou.demo.groups import seed_groups
from neigou.demo.links import seed_links
from neigou.demo.merchants import seed_merchant
from neigou.demo.network import seed_network
from neigou.demo.offers import seed_offers
from neigou.demo.orders import seed_orders
from neigou.demo.pdd_feed import seed_pdd_feed
from neigou.demo.platform_feeds import seed_platform_feeds
from neigou.demo.pushes import seed_pushes
from neigou.demo.tiers import seed_tiers
from neigou.demo.traffic import seed_traffic
from neigou.kit.actor import Actor
from neigou.programs import service as programs
from neigou.programs.models import Member
from neigou.programs.schemas import AttributionIn, ConditionIn, MemberCreate, ProgramCreate, TierIn, UpgradeIn
from neigou.risk import service as risk

DEMO_ACTOR = Actor(kind="cli", ref="demo", label="neigou demo")
DEMO_USERNAME = "operator"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁沈"
GIVEN = [
    "小美",
    "阿强",
    "丽丽",
    "建国",
    "芳芳",
    "晓东",
    "婷婷",
    "志明",
    "静",
    "海燕",
    "磊",
    "雪",
    "宁宁",
    "伟",
    "霞",
    "佳怡",
    "子涵",
    "浩然",
    "思琪",
    "欣怡",
    "雨桐",
    "梓萱",
    "一鸣",
    "俊杰",
    "嘉豪",
    "诗涵",
    "晓彤",
    "可欣",
    "宇航",
    "明轩",
    "语嫣",
    "秀英",
    "桂兰",
    "玉梅",
    "建华",
    "国强",
    "红梅",
    "丽娟",
    "春燕",
    "文博",
]


class Names:
    """Realistic Chinese names, each used once in a world (no role prefixes, no repeats)."""

    def __init__(self, rng: random.Random) -> None:
        pool = [surname + given for surname in SURNAMES for given in GIVEN]
        rng.shuffle(pool)
        self._pool = pool

    def take(self) -> str:
        """The next unused name."""
        return self._pool.pop()


DEMO_SIGN_IN_MINUTES = 7 * 24 * 60
# The programs opened when their first members joined, before everything dated in them (campaigns,
# the group target schedule).
PROGRAM_DAYS = 200


@dataclass(frozen=True)
class DemoWorld:
    """What the demo prints: the sign-in and the ids worth trying."""

    username: str
    password: str
    operator_token: str
    # The shop's console account (the merchant portal), with the same password.
    merchant_username: str
    partner_program_id: int
    brand_program_id: int
    sample_member_id: int
    sample_member_token: str
    # A one-time workspace sign-in for the sample member, valid for a week (the demo is local).
    sample_member_sign_in_code: str
    # The brand program's salesperson who keeps a customer book, and their one-time workspace sign-in.
    salesperson_member_id: int
    salesperson_sign_in_code: str
    # The partner program's owner whose available balance is negative: a refund after payout, on purpose
    # (``demo.orders``); every other member's is at or above zero.
    clawed_back_member_id: int


def seed(
    session: Session,
    *,
    now: datetime,
    password: str,
    secret_key: str,
    public_base: str = "http://127.0.0.1:8000",
) -> DemoWorld:
    """Create the demo world in an empty database; ``public_base`` is where its links point."""
    rng = random.Random(20260324)
    names = Names(rng)
    auth.create_user(
        session, username=DEMO_USERNAME, password=password, display_name="演示运营", actor=DEMO_ACTOR
    )
    _, op_token = auth.create_token(session, role=Role.OPERATOR, label="demo operator", actor=DEMO_ACTOR)
    opened = now - timedelta(days=PROGRAM_DAYS)
    partner = programs.create_program(
        session,
        data=ProgramCreate(
            code="fenxiang-partners",
            name="芬香合伙人计划 Partner program",
            timezone="Asia/Shanghai",
            attribution=AttributionIn(model="last_click", window_days=15),
            freeze_days=7,
            max_levels=2,
            self_purchase_commission=True,
        ),
        default_timezone="Asia/Shanghai",
        actor=DEMO_ACTOR,
        at=opened,
    )
    programs.replace_tiers(
        session,
        program_id=partner.id,
        actor=DEMO_ACTOR,
        tiers=[
            TierIn(code="super_member", name="超级会员", rank=1, share_bp=2000, override_bp=500),
            TierIn(
                code="mentor",
                name="导师",
                rank=2,
                share_bp=3000,
                override_bp=1000,
                upgrade=UpgradeIn(
                    all=[
                        ConditionIn(metric="direct_recruits", gte=10, tier="super_member"),
                        ConditionIn(metric="orders", gte=100),
                    ]
                ),
            ),
        ],
    )
    founders = [
        _join(
            session,
            program_id=partner.id,
            name=names.take(),
            inviter_id=None,
            tier="mentor",
            joined_at=opened,
            secret_key=secret_key,
            rng=rng,
        )
        for _ in range(3)
    ]
    owners: list[Member] = []
    for index in range(24):
        inviter = founders[index % len(founders)]
        owners.append(
            _join(
                session,
                program_id=partner.id,
                name=names.take(),
                inviter_id=inviter.id,
                tier="super_member",
                joined_at=now - timedelta(days=150 - index * 3),
                secret_key=secret_key,
                rng=rng,
            )
        )
    recruits = dict.fromkeys((o.id for o in owners), 0)
    for index in range(36):
        joined_at = now - timedelta(days=90 - index * 2)
        # Brought in by an owner who had joined by then.
        inviters = [o for o in owners if o.joined_at <= joined_at]
        inviter = inviters[rng.randrange(len(inviters))]
        recruits[inviter.id] += 1
        _join(
            session,
            program_id=partner.id,
            name=names.take(),
            inviter_id=inviter.id,
            tier=None,
            joined_at=joined_at,
            secret_key=secret_key,
            rng=rng,
        )

    brand = programs.create_program(
        session,
        data=ProgramCreate(
            code="brand-yundian",
            name="品牌云店导购 Brand salespeople",
            timezone="Asia/Shanghai",
            attribution=AttributionIn(model="locked", window_days=30),
            freeze_days=14,
            max_levels=1,
            self_purchase_commission=False,
        ),
        default_timezone="Asia/Shanghai",
        actor=DEMO_ACTOR,
        at=opened,
    )
    programs.replace_tiers(
        session,
        program_id=brand.id,
        actor=DEMO_ACTOR,
        tiers=[
            TierIn(code="guide", name="导购", rank=1, share_bp=1500),
            TierIn(
                code="gold_guide",
                name="金牌导购",
                rank=2,
                share_bp=2500,
                upgrade=UpgradeIn(all=[ConditionIn(metric="gmv_fen", gte=5_000_000)]),
            ),
        ],
    )
    # The first guide, who keeps the customer book, joined before their oldest orders and links (four
    # months back, ``demo.customers``); the others over the months since, each before last month.
    guides = [
        _join(
            session,
            program_id=brand.id,
            name=names.take(),
            inviter_id=None,
            tier="gold_guide" if index < 3 else "guide",
            joined_at=now - timedelta(days=180 - index * 10),
            secret_key=secret_key,
            rng=rng,
        )
        for index in range(12)
    ]

    # The workspace link goes to the busiest group owner, so the team view has people in it.
    sample = max(owners, key=lambda o: (recruits[o.id], -o.id))
    _, member_token = auth.create_token(
        session, role=Role.MEMBER, member_id=sample.id, label=sample.name, actor=DEMO_ACTOR
    )
    sign_in_code = sign_in_codes.issue(
        session,
        member_id=sample.id,
        minutes=DEMO_SIGN_IN_MINUTES,
        label=sample.name,
        actor=DEMO_ACTOR,
        at=now,
    )
    offers_demo = seed_offers(session, now=now, actor=DEMO_ACTOR)
    merchant_username = seed_merchant(session, now=now, password=password, actor=DEMO_ACTOR)
    seed_groups(
        session, program_id=partner.id, owner_ids=[o.id for o in owners], sample_owner_id=sample.id, now=now
    )
    seed_links(
        session,
        member_id=sample.id,
        hidden_coupon_id=offers_demo.hidden_coupon_id,
        now=now,
        secret_key=secret_key,
    )
    seed_feed(
        session,
        program_id=partner.id,
        sample_owner_id=sample.id,
        hidden_coupon_id=offers_demo.hidden_coupon_id,
        now=now,
        actor=DEMO_ACTOR,
    )
    clawed_back = seed_orders(
        session,
        program_id=partner.id,
        owner_ids=[o.id for o in owners],
        sample_owner_id=sample.id,
        now=now,
        secret_key=secret_key,
    )
    seed_traffic(
        session,
        program_id=partner.id,
        coupon_id=offers_demo.welcome_coupon_id,
        now=now,
        secret_key=secret_key,
    )
    seed_network(
        session,
        program_id=partner.id,
        inviter_id=sample.id,
        other_inviter_ids=[o.id for o in owners if o.id != sample.id],
        now=now,
        secret_key=secret_key,
    )
    seed_brand_sales(session, program_id=brand.id, now=now, secret_key=secret_key)
    seed_tiers(session, partner_id=partner.id, brand_id=brand.id, now=now, secret_key=secret_key)
    guide = guides[0]
    seed_customers(session, brand=brand, guide=guide, take_name=names.take, now=now, secret_key=secret_key)
    guide_code = sign_in_codes.issue(
        session, member_id=guide.id, minutes=DEMO_SIGN_IN_MINUTES, label=guide.name, actor=DEMO_ACTOR, at=now
    )
    seed_pushes(
        session, brand_id=brand.id, base_url=public_base, take_name=names.take, now=now, secret_key=secret_key
    )
    seed_platform_feeds(
        session,
        program_id=partner.id,
        sample_owner_id=sample.id,
        now=now,
        secret_key=secret_key,
        actor=DEMO_ACTOR,
    )
    seed_pdd_feed(session, program_id=partner.id, now=now, secret_key=secret_key, actor=DEMO_ACTOR)
    # The nightly scan, run once over what was seeded: the review queue shows what the rules find.
    for program in (partner, brand):
        risk.scan(session, program=program, as_of=now, actor=DEMO_ACTOR, now=now)
    return DemoWorld(
        username=DEMO_USERNAME,
        password=password,
        operator_token=op_token,
        merchant_username=merchant_username,
        partner_program_id=partner.id,
        brand_program_id=brand.id,
        sample_member_id=sample.id,
        sample_member_token=member_token,
        sample_member_sign_in_code=sign_in_code,
        salesperson_member_id=guide.id,
        salesperson_sign_in_code=guide_code,
        clawed_back_member_id=clawed_back,
    )


def _join(
    session: Session,
    *,
    program_id: int,
    name: str,
    inviter_id: int | None,
    tier: str | None,
    joined_at: datetime,
    secret_key: str,
    rng: random.Random,
) -> Member:
    phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    return programs.create_member(
        session,
        program_id=program_id,
        secret_key=secret_key,
        actor=DEMO_ACTOR,
        data=MemberCreate(
            name=name, customer_ref=phone, inviter_id=inviter_id, tier=tier, joined_at=joined_at
        ),
    )
