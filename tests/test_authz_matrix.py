"""Every endpoint against every kind of caller: anonymous, wrong role, other member, right role, and
each role of another organization (tenant).

The world lives in one organization and is reached by that organization's scoped operator,
integration and members; a second organization has its own program, member and tokens. Another
organization's caller finds nothing: ids answer 404 (nothing leaks that they exist), lists are
empty. A denied or hidden call changes nothing: every table keeps its row count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from tests.campaigns import builders as campaigns
from tests.conftest import TokenMaker, bearer, row_counts
from tests.crm import builders as crm
from tests.crm import push_matrix as crm_push
from tests.events import builders as events
from tests.factories import PARTNER_TIERS, create_member, create_program
from tests.feed import matrix as feed
from tests.groups import builders as groups
from tests.links import builders as links
from tests.offers import factories as offers
from tests.orders import matrix as orders
from tests.risk import builders as risk
from tests.tiers import matrix as tiers


@dataclass(frozen=True)
class Case:
    """One endpoint: who may call it, and whether a member may only reach their own records."""

    method: str
    path: str
    allowed: frozenset[Role]
    body: Any = None
    member_scoped: bool = False
    # Another member's record answers 404 (its id is not theirs to learn about), not 403.
    member_hidden: bool = False
    ok: frozenset[int] = field(default_factory=lambda: frozenset({200, 201, 204}))
    files: Any = None
    # What another organization's caller (of an allowed role) gets: "hidden" (404: the ids are
    # this organization's), "empty" (a list without this organization's rows) or "own" (the call
    # acts in the caller's own organization, or on the caller alone).
    other: str = ""

    @property
    def other_organization(self) -> str:
        """The expectation for another organization's caller."""
        if self.other:
            return self.other
        return "hidden" if "{" in self.path or self.method != "GET" else "empty"


ALL = frozenset(Role)
OPERATOR = frozenset({Role.OPERATOR})
OPERATOR_OR_MEMBER = frozenset({Role.OPERATOR, Role.MEMBER})
OPERATOR_OR_INTEGRATION = frozenset({Role.OPERATOR, Role.INTEGRATION})
OPERATOR_OR_MERCHANT = frozenset({Role.OPERATOR, Role.MERCHANT})
NOT_MERCHANT = frozenset({Role.OPERATOR, Role.MEMBER, Role.INTEGRATION})
# Organizations are managed by platform administrators (operators of no organization) alone: an
# organization's own operator is refused (403), like a wrong role.
PLATFORM: frozenset[Role] = frozenset()
CASES = [
    Case("POST", "/api/v1/programs", OPERATOR, {"code": "new-program", "name": "New"}, other="own"),
    Case("GET", "/api/v1/programs", OPERATOR, other="own"),
    Case("GET", "/api/v1/programs/{program}", frozenset({Role.OPERATOR, Role.MEMBER}), member_scoped=True),
    Case("PATCH", "/api/v1/programs/{program}", OPERATOR, {"name": "改名计划"}),
    Case("PUT", "/api/v1/programs/{program}/tiers", OPERATOR, PARTNER_TIERS),
    Case(
        "GET", "/api/v1/programs/{program}/tiers", frozenset({Role.OPERATOR, Role.MEMBER}), member_scoped=True
    ),
    Case(
        "POST",
        "/api/v1/programs/{program}/members",
        frozenset({Role.OPERATOR, Role.INTEGRATION}),
        {"name": "recruit"},
    ),
    Case("GET", "/api/v1/programs/{program}/members", OPERATOR),
    Case("GET", "/api/v1/members/{member}", frozenset({Role.OPERATOR, Role.MEMBER}), member_scoped=True),
    Case("PUT", "/api/v1/members/{member}/inviter", OPERATOR, {"inviter_id": None}),
    Case("GET", "/api/v1/me", ALL, other="own"),
    Case("POST", "/api/v1/tokens", OPERATOR, {"role": "integration", "label": "shop"}, other="own"),
    Case("DELETE", "/api/v1/tokens/{token}", OPERATOR),
    Case("GET", "/api/v1/audit-log", OPERATOR),
    Case("POST", "/api/v1/brands", OPERATOR, {"code": "matrix-brand", "name": "品牌"}, other="own"),
    Case("GET", "/api/v1/brands", ALL),
    Case("POST", "/api/v1/categories", OPERATOR, {"code": "matrix-category", "name": "类目"}, other="own"),
    Case("GET", "/api/v1/categories", ALL),
    Case("POST", "/api/v1/products", OPERATOR_OR_MERCHANT, offers.MATRIX_PRODUCT, other="own"),
    Case("GET", "/api/v1/products", ALL),
    Case("GET", "/api/v1/products/{merchant_product_id}", ALL),
    Case("PATCH", "/api/v1/products/{merchant_product_id}", OPERATOR_OR_MERCHANT, {"title": "改名"}),
    Case("POST", "/api/v1/products/import", OPERATOR, files=offers.MATRIX_IMPORT, other="own"),
    Case("POST", "/api/v1/coupons", OPERATOR_OR_MERCHANT, offers.MATRIX_COUPON, other="own"),
    Case("GET", "/api/v1/coupons", ALL),
    Case("GET", "/api/v1/coupons/{merchant_coupon_id}", ALL),
    Case("PATCH", "/api/v1/coupons/{merchant_coupon_id}", OPERATOR_OR_MERCHANT, {"name": "改名"}),
    Case("POST", "/api/v1/promotions", OPERATOR_OR_MERCHANT, offers.MATRIX_PROMOTION, other="own"),
    Case("GET", "/api/v1/promotions", ALL),
    Case("GET", "/api/v1/promotions/{merchant_promotion_id}", ALL),
    Case("PATCH", "/api/v1/promotions/{merchant_promotion_id}", OPERATOR_OR_MERCHANT, {"name": "改名"}),
    Case("POST", "/api/v1/quotes", NOT_MERCHANT, {"items": [{"sku": offers.MATRIX_SKU, "quantity": 2}]}),
    Case("POST", "/api/v1/links", OPERATOR_OR_MEMBER, {"sku": offers.MATRIX_SKU}),
    Case("GET", "/api/v1/links", OPERATOR_OR_MEMBER),
    Case("GET", "/api/v1/links/{code}", OPERATOR_OR_MEMBER, member_scoped=True),
    Case("PATCH", "/api/v1/links/{code}", OPERATOR_OR_MEMBER, {"active": False}, member_scoped=True),
    Case("GET", "/api/v1/links/{code}/poster.png", OPERATOR_OR_MEMBER, member_scoped=True),
    Case("POST", "/api/v1/coupons/{claim_coupon_id}/claims", OPERATOR_OR_INTEGRATION, links.MATRIX_CLAIM),
    Case("POST", "/api/v1/groups", OPERATOR_OR_MEMBER, {"name": "新群", "platform": "wechat"}, other="own"),
    Case("GET", "/api/v1/groups", OPERATOR_OR_MEMBER),
    Case("GET", "/api/v1/groups/{group_id}", OPERATOR_OR_MEMBER, member_scoped=True),
    Case("PATCH", "/api/v1/groups/{group_id}", OPERATOR_OR_MEMBER, {"name": "改名群"}, member_scoped=True),
    Case("POST", "/api/v1/groups/{group_id}/counts", NOT_MERCHANT, groups.MATRIX_COUNT, member_scoped=True),
    Case("GET", "/api/v1/groups/{group_id}/counts", OPERATOR_OR_MEMBER, member_scoped=True),
    Case("POST", "/api/v1/groups/{group_id}/counts/{count_id}/review", OPERATOR, {"accept": True}),
    Case("PUT", "/api/v1/programs/{program}/group-targets", OPERATOR, groups.FIELD_SCHEDULE),
    Case("GET", "/api/v1/programs/{program}/group-targets", OPERATOR_OR_MEMBER, member_scoped=True),
    Case("GET", "/api/v1/programs/{program}/group-compliance", OPERATOR_OR_MEMBER, member_scoped=True),
    Case("GET", "/api/v1/programs/{program}/group-alerts", OPERATOR_OR_MEMBER, member_scoped=True),
    Case("GET", "/api/v1/programs/{program}/group-sales", OPERATOR_OR_MEMBER, member_scoped=True),
    Case("GET", "/api/v1/programs/{program}/group-leaderboard", OPERATOR),
    Case(
        "POST",
        "/api/v1/programs/{program}/group-alerts/run",
        OPERATOR,
        {"date": "2026-03-24"},
        ok=frozenset({202}),
    ),
    Case("GET", "/api/v1/programs/{program}/group-settings", OPERATOR),
    Case("PUT", "/api/v1/programs/{program}/group-settings", OPERATOR, {"jump_members_per_day": 60}),
    Case(
        "POST",
        "/api/v1/programs/{program}/group-counts/import",
        OPERATOR_OR_INTEGRATION,
        groups.MATRIX_IMPORT,
    ),
    Case("GET", "/api/v1/programs/{program}/group-counts/needs-review", OPERATOR),
    Case("POST", "/api/v1/orders", OPERATOR_OR_INTEGRATION, orders.MATRIX_ORDER),
    Case("GET", "/api/v1/orders/{external_id}", OPERATOR_OR_INTEGRATION),
    Case("POST", "/api/v1/orders/{external_id}/complete", OPERATOR_OR_INTEGRATION, {}),
    Case("POST", "/api/v1/orders/{external_id}/refunds", OPERATOR_OR_INTEGRATION, orders.MATRIX_REFUND),
    Case("POST", "/api/v1/programs/{program}/settlements", OPERATOR, {}),
    Case("PUT", "/api/v1/sku-commissions/{sku}", OPERATOR, {"fixed_commission_fen": 10}),
    Case("GET", "/api/v1/sku-commissions", OPERATOR),
    Case("POST", "/api/v1/programs/{program}/integrations", OPERATOR, {"name": "新商城"}),
    Case("GET", "/api/v1/programs/{program}/integrations", OPERATOR),
    Case("GET", "/api/v1/integrations/{integration_id}/deliveries", OPERATOR),
    Case(
        "POST",
        "/api/v1/integrations/{integration_id}/feeds/{platform}",
        OPERATOR_OR_INTEGRATION,
        {"rows": []},
    ),
    Case("GET", "/api/v1/programs/{program}/reconciliation?platform=jd_union&month=2026-11", OPERATOR),
    Case("GET", "/api/v1/programs/{program}/reconciliation.xlsx?platform=pdd&month=2026-11", OPERATOR),
    Case("GET", "/api/v1/members/{member}/balance", OPERATOR_OR_MEMBER, member_scoped=True),
    Case("GET", "/api/v1/members/{member}/statement", OPERATOR_OR_MEMBER, member_scoped=True),
    Case(
        "POST",
        "/api/v1/members/{member}/withdrawals",
        OPERATOR_OR_MEMBER,
        orders.MATRIX_WITHDRAWAL,
        member_scoped=True,
    ),
    Case("GET", "/api/v1/members/{member}/withdrawals", OPERATOR_OR_MEMBER, member_scoped=True),
    Case(
        "PUT",
        "/api/v1/members/{member}/payee",
        OPERATOR_OR_MEMBER,
        {"kind": "alipay", "account": "13812345678", "holder_name": "王小美"},
        member_scoped=True,
    ),
    Case(
        "GET",
        "/api/v1/members/{member}/payee",
        OPERATOR_OR_MEMBER,
        member_scoped=True,
        ok=frozenset({200, 404}),  # 404 payee_not_set: the world's member has not said yet
    ),
    Case("GET", "/api/v1/withdrawals", OPERATOR),
    Case("POST", "/api/v1/withdrawals/{withdrawal_id}/approve", OPERATOR),
    Case("POST", "/api/v1/withdrawals/{withdrawal_id}/reject", OPERATOR, {"reason": "账户信息不全"}),
    Case("GET", "/api/v1/programs/{program}/payout-settings", OPERATOR),
    Case(
        "PUT",
        "/api/v1/programs/{program}/payout-settings",
        OPERATOR,
        {"min_withdrawal_fen": 100, "fee_bp": 50},
    ),
    Case("POST", "/api/v1/programs/{program}/payout-batches", OPERATOR),
    Case("GET", "/api/v1/payout-batches/{batch_id}/export", OPERATOR),
    Case("POST", "/api/v1/payout-batches/{batch_id}/paid", OPERATOR, {}),
    Case("GET", "/api/v1/members/{member}/team", OPERATOR_OR_MEMBER, member_scoped=True),
    Case("GET", "/api/v1/members/{member}/recruiting-link", OPERATOR_OR_MEMBER, member_scoped=True),
    Case("GET", "/api/v1/members/{member}/recruiting-poster.png", OPERATOR_OR_MEMBER, member_scoped=True),
    Case("GET", "/api/v1/programs/{program}/leaderboard", OPERATOR_OR_MEMBER, member_scoped=True),
    Case("POST", "/api/v1/programs/{program}/tier-evaluations", OPERATOR, tiers.MATRIX_EVALUATION),
    Case("GET", "/api/v1/programs/{program}/tier-evaluations", OPERATOR),
    Case("GET", "/api/v1/programs/{program}/tier-evaluations/{period}", OPERATOR),
    Case("PUT", "/api/v1/members/{member}/tier", OPERATOR, tiers.MATRIX_OVERRIDE),
    Case("GET", "/api/v1/members/{member}/tier-progress", OPERATOR_OR_MEMBER, member_scoped=True),
    Case(
        "POST",
        "/api/v1/privacy/opt-outs",
        OPERATOR_OR_INTEGRATION,
        {"customer_ref": "matrix-shopper", "program_id": 1, "request_id": "mx-opt-out"},
    ),
    Case("GET", "/api/v1/privacy/opt-outs", OPERATOR),
    Case("POST", "/api/v1/organizations", PLATFORM, {"code": "matrix-org", "name": "租户"}),
    Case("GET", "/api/v1/organizations", PLATFORM),
    Case("POST", "/api/v1/merchants", OPERATOR, {"code": "matrix-shop", "name": "店"}, other="own"),
    Case("GET", "/api/v1/merchants", OPERATOR, other="own"),
    Case("DELETE", "/api/v1/merchants/{doomed_merchant}", OPERATOR),
    Case("GET", "/api/v1/merchants/{merchant}/sales?from=2026-03-01&to=2026-03-31", OPERATOR_OR_MERCHANT),
    Case(
        "GET",
        "/api/v1/merchants/{merchant}/sales.xlsx?from=2026-03-01&to=2026-03-31&by=day",
        OPERATOR_OR_MERCHANT,
    ),
    Case("GET", "/api/v1/merchant-reviews", OPERATOR_OR_MERCHANT),
    Case("GET", "/api/v1/merchant-reviews/{merchant_review}", OPERATOR_OR_MERCHANT),
    Case("POST", "/api/v1/merchant-reviews/{merchant_review}/approve", OPERATOR, {}),
    Case("POST", "/api/v1/merchant-reviews/{doomed_review}/reject", OPERATOR, {}),
    Case("PATCH", "/api/v1/organizations/{organization}", OPERATOR, {"review_merchant_changes": True}),
    Case("DELETE", "/api/v1/organizations/{doomed_organization}", PLATFORM),
    Case("POST", "/api/v1/analytics/refresh", OPERATOR, other="own"),
    Case(
        "GET",
        "/api/v1/programs/{program}/analytics/repeat?from=2026-03-01&to=2026-03-31&window_days=30",
        OPERATOR_OR_MEMBER,
        member_scoped=True,
    ),
    Case(
        "GET",
        "/api/v1/programs/{program}/analytics/cohorts?from=2026-03-01&to=2026-03-31",
        OPERATOR_OR_MEMBER,
        member_scoped=True,
    ),
    Case(
        "GET",
        "/api/v1/programs/{program}/analytics/economics?from=2026-03-01&to=2026-03-31",
        OPERATOR_OR_MEMBER,
        member_scoped=True,
    ),
    Case(
        "GET",
        "/api/v1/programs/{program}/analytics/fission?period=2026-03",
        OPERATOR_OR_MEMBER,
        member_scoped=True,
    ),
    Case("GET", "/api/v1/programs/{program}/analytics/customers?from=2026-03-01&to=2026-03-31", OPERATOR),
    Case(
        "GET",
        "/api/v1/programs/{program}/analytics/prices?from=2026-03-01&to=2026-03-31",
        OPERATOR_OR_MEMBER,
        member_scoped=True,
    ),
    Case(
        "GET",
        "/api/v1/programs/{program}/analytics/funnel?from=2026-03-01&to=2026-03-31&by=member",
        OPERATOR_OR_MEMBER,
        member_scoped=True,
    ),
    Case(
        "POST",
        "/api/v1/programs/{program}/analytics/simulations",
        OPERATOR_OR_MEMBER,
        {
            "from": "2026-03-01",
            "to": "2026-03-31",
            "tiers": [{"code": "mentor", "share_bp": 3500, "override_bp": 1000}],
        },
        member_scoped=True,
    ),
    Case("POST", "/api/v1/events", OPERATOR, events.MATRIX_EVENT),
    Case("GET", "/api/v1/events", OPERATOR),
    Case("GET", "/api/v1/events/{event_id}", OPERATOR),
    Case("GET", "/api/v1/events/{event_id}/items", OPERATOR_OR_INTEGRATION),
    Case("POST", "/api/v1/events/{event_id}/employees", OPERATOR, [{"employee_no": "E2", "name": "二"}]),
    Case("POST", "/api/v1/events/{event_id}/invitations", OPERATOR, {"employee_no": "E1", "count": 1}),
    Case(
        "POST", "/api/v1/events/{event_id}/reservations", OPERATOR_OR_INTEGRATION, events.MATRIX_RESERVATION
    ),
    Case("GET", "/api/v1/events/{event_id}/board", OPERATOR),
    Case("GET", "/api/v1/events/{event_id}/leaderboard", OPERATOR),
    Case(
        "GET",
        "/api/v1/events/{event_id}/leaderboard/{member}",
        OPERATOR_OR_MEMBER,
        member_scoped=True,
        ok=frozenset({200, 404}),
    ),
    Case("GET", "/api/v1/events/{event_id}/report", OPERATOR),
    Case(
        "POST",
        "/api/v1/campaigns",
        OPERATOR_OR_MERCHANT,
        lambda ids: campaigns.matrix_campaign(ids["program"]),
    ),
    Case("GET", "/api/v1/campaigns", OPERATOR_OR_MERCHANT),
    Case("GET", "/api/v1/campaigns/{merchant_campaign_id}", OPERATOR_OR_MERCHANT),
    Case("PATCH", "/api/v1/campaigns/{merchant_campaign_id}", OPERATOR_OR_MERCHANT, {"name": "矩阵活动改"}),
    Case("GET", "/api/v1/members/{member}/feed", OPERATOR_OR_MEMBER, member_scoped=True),
    Case("POST", "/api/v1/members/{member}/posts", OPERATOR_OR_MEMBER, feed.matrix_posts, member_scoped=True),
    Case("GET", "/api/v1/members/{member}/posts", OPERATOR_OR_MEMBER, member_scoped=True),
    Case("POST", "/api/v1/members/{member}/posts/{post_id}/copied", OPERATOR_OR_MEMBER, member_scoped=True),
    Case("PUT", "/api/v1/groups/{group_id}/robot", OPERATOR_OR_MEMBER, feed.MATRIX_ROBOT, member_scoped=True),
    Case("POST", "/api/v1/groups/live-codes", OPERATOR_OR_MEMBER, feed.matrix_live_code, member_scoped=True),
    Case("GET", "/api/v1/members/{member}/live-codes", OPERATOR_OR_MEMBER, member_scoped=True),
    Case(
        "PUT",
        "/api/v1/groups/live-codes/{live_code}/groups/{group_id}/qr",
        OPERATOR_OR_MEMBER,
        files=feed.MATRIX_QR,
        member_scoped=True,
    ),
    Case("POST", "/api/v1/programs/{program}/risk/scan", OPERATOR, {}),
    Case("GET", "/api/v1/programs/{program}/risk/cases", OPERATOR),
    Case("GET", "/api/v1/risk/cases/{risk_case_id}", OPERATOR),
    Case("POST", "/api/v1/risk/cases/{risk_case_id}/resolve", OPERATOR, {"decision": "clear"}),
    Case("GET", "/api/v1/programs/{program}/risk/thresholds", OPERATOR),
    Case("PUT", "/api/v1/programs/{program}/risk/thresholds", OPERATOR, {"hoarding_min_refs": 6}),
    Case(
        "POST",
        "/api/v1/members/{member}/customers",
        OPERATOR_OR_MEMBER,
        crm.MATRIX_CUSTOMER,
        member_scoped=True,
    ),
    Case("GET", "/api/v1/members/{member}/customers", OPERATOR_OR_MEMBER, member_scoped=True),
    Case(
        "POST",
        "/api/v1/members/{member}/customers/import",
        OPERATOR_OR_MEMBER,
        files=crm.MATRIX_IMPORT,
        member_scoped=True,
    ),
    Case("GET", "/api/v1/customers/{customer_id}", OPERATOR_OR_MEMBER, member_hidden=True),
    Case("PATCH", "/api/v1/customers/{customer_id}", OPERATOR_OR_MEMBER, {"job": "教师"}, member_hidden=True),
    Case("GET", "/api/v1/customers/{customer_id}/consents", OPERATOR_OR_MEMBER, member_hidden=True),
    Case("POST", "/api/v1/customers/{customer_id}/consents", OPERATOR_OR_MEMBER, {}, member_hidden=True),
    Case(
        "POST",
        "/api/v1/customers/{customer_id}/consents/withdrawal",
        OPERATOR_OR_MEMBER,
        {},
        member_hidden=True,
    ),
    Case("GET", "/api/v1/customers/{customer_id}/export", OPERATOR_OR_MEMBER, member_hidden=True),
    Case("POST", "/api/v1/programs/{program}/customers/derive", OPERATOR),
    Case(
        "POST",
        "/api/v1/members/{member}/segments",
        OPERATOR_OR_MEMBER,
        crm.MATRIX_SEGMENT,
        member_scoped=True,
    ),
    Case("GET", "/api/v1/members/{member}/segments", OPERATOR_OR_MEMBER, member_scoped=True),
    Case("GET", "/api/v1/segments/{segment_id}", OPERATOR_OR_MEMBER, member_hidden=True),
    Case("PUT", "/api/v1/segments/{segment_id}", OPERATOR_OR_MEMBER, crm.MATRIX_SEGMENT, member_hidden=True),
    Case("DELETE", "/api/v1/segments/{doomed_segment}", OPERATOR_OR_MEMBER, member_hidden=True),
    Case("GET", "/api/v1/segments/{segment_id}/customers", OPERATOR_OR_MEMBER, member_hidden=True),
    Case("GET", "/api/v1/customers/{customer_id}/recommendations", OPERATOR_OR_MEMBER, member_hidden=True),
    Case(
        "POST",
        "/api/v1/members/{member}/pushes",
        OPERATOR_OR_MEMBER,
        crm_push.matrix_push,
        member_scoped=True,
    ),
    Case("GET", "/api/v1/members/{member}/pushes", OPERATOR_OR_MEMBER, member_scoped=True),
    Case("GET", "/api/v1/pushes/{push_id}", OPERATOR_OR_MEMBER, member_hidden=True),
    Case(
        "POST", "/api/v1/pushes/{push_id}/messages/{message_id}/sent", OPERATOR_OR_MEMBER, member_hidden=True
    ),
    Case("GET", "/api/v1/programs/{program}/crm/settings", OPERATOR),
    Case("PUT", "/api/v1/programs/{program}/crm/settings", OPERATOR, crm_push.MATRIX_SETTINGS),
    Case("GET", "/api/v1/programs/{program}/crm/figures", OPERATOR),
    Case("GET", "/api/v1/programs/{program}/crm/dormant-customers", OPERATOR),
    Case("GET", "/api/v1/programs/{program}/crm/muted-groups", OPERATOR),
]


@dataclass
class World:
    """Two programs and a member in each, in one organization, with a token per role; a second
    organization with a program, a member and its own tokens; platform administrator headers."""

    ids: dict[str, Any]
    tokens: dict[str, str]
    other_tokens: dict[str, str]
    admin: dict[str, str]


pytestmark = pytest.mark.world_per_module


@pytest.fixture(scope="module")
def world(module_client: TestClient, module_operator: dict[str, str], module_make_token: TokenMaker) -> World:
    client, admin, make_token = module_client, module_operator, module_make_token
    home = client.post("/api/v1/organizations", json={"code": "home", "name": "本租户"}, headers=admin).json()
    operator = bearer(make_token(Role.OPERATOR, organization_id=home["id"]))
    own_program = create_program(client, operator, code="own")
    other_program = create_program(client, operator, code="other")
    own = create_member(client, operator, own_program["id"], name="own")
    other = create_member(client, operator, other_program["id"], name="other")
    spare = client.post("/api/v1/tokens", json={"role": "integration"}, headers=operator).json()
    shop = client.post("/api/v1/merchants", json={"code": "shop", "name": "店"}, headers=operator).json()
    doomed_shop = client.post(
        "/api/v1/merchants", json={"code": "doomed-shop", "name": "店"}, headers=operator
    )
    merchant = bearer(make_token(Role.MERCHANT, merchant_id=shop["id"]))
    merchant_product = client.post(
        "/api/v1/products",
        json={"sku": "SHOP-SKU", "title": "店品", "price_fen": 500, "commission_rate_bp": 1000},
        headers=merchant,
    ).json()
    merchant_coupon = client.post(
        "/api/v1/coupons", json={**offers.MATRIX_COUPON, "skus": ["SHOP-SKU"]}, headers=merchant
    ).json()
    merchant_promotion = client.post(
        "/api/v1/promotions", json={**offers.MATRIX_PROMOTION, "skus": ["SHOP-SKU"]}, headers=merchant
    ).json()
    reviews = _merchant_reviews(client, operator, merchant, home["id"])
    merchant_campaign = client.post(
        "/api/v1/campaigns",
        # Open until 2099: an ended campaign can no longer be edited.
        json={
            **campaigns.matrix_campaign(own_program["id"]),
            "skus": ["SHOP-SKU"],
            "ends_at": "2099-01-01T00:00:00+00:00",
        },
        headers=merchant,
    ).json()
    neighbour = client.post("/api/v1/merchants", json={"code": "next-door", "name": "邻店"}, headers=operator)
    elsewhere = client.post(
        "/api/v1/organizations", json={"code": "elsewhere", "name": "他租户"}, headers=admin
    )
    doomed = client.post("/api/v1/organizations", json={"code": "doomed", "name": "将删"}, headers=admin)
    stranger_program = create_program(client, admin, code="stranger", organization_id=elsewhere.json()["id"])
    stranger = create_member(client, admin, stranger_program["id"], name="stranger")
    stranger_shop = client.post(
        "/api/v1/merchants",
        json={"code": "stranger-shop", "name": "店", "organization_id": elsewhere.json()["id"]},
        headers=admin,
    ).json()
    elsewhere_id = elsewhere.json()["id"]
    ids: dict[str, Any] = {
        "program": own_program["id"],
        "member": own["id"],
        "token": spare["id"],
        "platform": "taobao",
        "doomed_organization": doomed.json()["id"],
        "merchant": shop["id"],
        "doomed_merchant": doomed_shop.json()["id"],
        "merchant_product_id": merchant_product["id"],
        "merchant_coupon_id": merchant_coupon["id"],
        "merchant_promotion_id": merchant_promotion["id"],
        "organization": home["id"],
        "neighbour": neighbour.json()["id"],
        "merchant_campaign_id": merchant_campaign["id"],
        **reviews,
        **offers.matrix_world(client, operator),
        **groups.matrix_world(client, operator, own["id"]),
        **links.matrix_world(client, operator, own["id"], offers.MATRIX_SKU),
        **orders.matrix_world(client, operator, own_program["id"], own["id"]),
        **tiers.matrix_world(client, operator, own_program["id"]),
        **events.matrix_world(client, operator, own_program["id"]),
        **risk.matrix_world(client, operator, own_program["id"]),
        **crm.matrix_world(client, operator, own["id"]),
    }
    return World(
        ids={
            **ids,
            **feed.matrix_world(client, operator, ids),
            **crm_push.matrix_world(client, operator, ids),
        },
        tokens={
            "operator": operator["Authorization"].removeprefix("Bearer "),
            "integration": make_token(Role.INTEGRATION, organization_id=home["id"]),
            "member": make_token(Role.MEMBER, own["id"]),
            "other_member": make_token(Role.MEMBER, other["id"]),
            "merchant": merchant["Authorization"].removeprefix("Bearer "),
            "neighbour": make_token(Role.MERCHANT, merchant_id=neighbour.json()["id"]),
        },
        other_tokens={
            "operator": make_token(Role.OPERATOR, organization_id=elsewhere_id),
            "integration": make_token(Role.INTEGRATION, organization_id=elsewhere_id),
            "member": make_token(Role.MEMBER, stranger["id"]),
            "merchant": make_token(Role.MERCHANT, merchant_id=stranger_shop["id"]),
        },
        admin=admin,
    )


def _merchant_reviews(
    client: TestClient, operator: dict[str, str], merchant: dict[str, str], organization_id: int
) -> dict[str, int]:
    """Two coupons of the merchant held for review (the organization reviews while they are made)."""
    setting = f"/api/v1/organizations/{organization_id}"
    client.patch(setting, json={"review_merchant_changes": True}, headers=operator)
    held = [
        client.post(
            "/api/v1/coupons", json={**offers.MATRIX_COUPON, "skus": ["SHOP-SKU"]}, headers=merchant
        ).json()["id"]
        for _ in range(2)
    ]
    client.patch(setting, json={"review_merchant_changes": False}, headers=operator)
    found = client.get("/api/v1/merchant-reviews", headers=operator).json()
    ids = sorted(r["id"] for r in found if r["coupon_id"] in held)
    return {"merchant_review": ids[0], "doomed_review": ids[1]}


def _filled(body: Any, ids: dict[str, int]) -> Any:
    """A body whose values written "{name}" take the world's id of that name."""
    if isinstance(body, dict):
        return {
            k: ids[v[1:-1]] if isinstance(v, str) and v.startswith("{") and v[1:-1] in ids else v
            for k, v in body.items()
        }
    return body


def _call(client: TestClient, case: Case, world: World, headers: dict[str, str]) -> Any:
    body = case.body(world.ids) if callable(case.body) else case.body
    return client.request(
        case.method,
        case.path.format(**world.ids),
        json=_filled(body, world.ids),
        files=case.files,
        headers=headers,
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.path}")
def test_authorization_matrix(
    client: TestClient, world: World, factory: sessionmaker[Session], case: Case
) -> None:
    before = row_counts(factory)
    anonymous = _call(client, case, world, {})
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    garbage = _call(client, case, world, bearer("ngt_not-a-real-token"))
    assert (garbage.status_code, garbage.json()["code"]) == (401, "invalid_token")
    for role in sorted(set(Role) - case.allowed):
        denied = _call(client, case, world, bearer(world.tokens[role.value]))
        assert denied.status_code == 403, (role, denied.text)
        assert denied.json()["code"] == "forbidden"
    if case.member_scoped:
        other = _call(client, case, world, bearer(world.tokens["other_member"]))
        assert other.status_code == 403
        assert other.json()["code"] in {"other_member", "other_program"}
    if case.member_hidden:
        other = _call(client, case, world, bearer(world.tokens["other_member"]))
        assert other.status_code == 404, other.text
        assert other.json()["code"] in {"customer_not_found", "segment_not_found", "push_not_found"}
    _other_organization(client, case, world)
    assert row_counts(factory) == before, "a denied call changed the database"
    if not case.allowed:
        allowed = _call(client, case, world, world.admin)
        assert allowed.status_code in case.ok, allowed.text
        return
    for role in sorted(case.allowed, key=lambda r: (r is Role.MERCHANT, r.value)):
        allowed = _call(client, case, world, bearer(world.tokens[role.value]))
        assert allowed.status_code in case.ok, (role, allowed.text)
        if case.method != "GET":
            break  # one successful write is enough; a second may legitimately conflict
    if case.method == "GET" and Role.OPERATOR in case.allowed:
        admin = _call(client, case, world, world.admin)  # a platform administrator sees every organization
        assert admin.status_code in case.ok, admin.text


def _other_organization(client: TestClient, case: Case, world: World) -> None:
    """Another organization's callers of an allowed role find none of this organization's rows."""
    for role in sorted(case.allowed):
        if case.other_organization == "own":
            break  # acts in the caller's own organization: checked in tests/organizations
        answer = _call(client, case, world, bearer(world.other_tokens[role.value]))
        if case.other_organization == "empty":
            assert answer.status_code == 200, (role, answer.text)
            assert answer.json() in ([], {}) or answer.headers.get("x-total-count") == "0", (
                role,
                answer.text,
            )
        elif role is Role.MEMBER and case.member_scoped:
            assert answer.status_code in {403, 404}, (role, answer.text)
        else:
            # 404; a sku named in the body is as unknown (422) as one that does not exist
            assert answer.status_code in {404, 422}, (role, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"


# Path ids of the home merchant's rows; another merchant of the same organization finds none of them.
MERCHANT_OWNED = ("{merchant}", "{merchant_product_id}", "{merchant_coupon_id}", "{merchant_promotion_id}")
MERCHANT_OWNED_TOO = ("{merchant_review}", "{merchant_campaign_id}")


@pytest.mark.parametrize(
    "case", [c for c in CASES if Role.MERCHANT in c.allowed], ids=lambda c: f"{c.method} {c.path}"
)
def test_another_merchant_of_the_organization_finds_nothing(
    client: TestClient, world: World, factory: sessionmaker[Session], case: Case
) -> None:
    before = row_counts(factory)
    neighbour = bearer(world.tokens["neighbour"])
    if any(p in case.path for p in MERCHANT_OWNED + MERCHANT_OWNED_TOO):
        answer = _call(client, case, world, neighbour)
        assert answer.status_code == 404, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
    elif case.method == "GET":
        answer = _call(client, case, world, neighbour)
        assert answer.status_code == 200, answer.text
        rows = answer.json() if isinstance(answer.json(), list) else [answer.json()]
        assert all(r.get("merchant_id", world.ids["neighbour"]) == world.ids["neighbour"] for r in rows)
    elif case.path in {"/api/v1/coupons", "/api/v1/promotions"}:
        body = {**case.body, "skus": ["SHOP-SKU"]}  # the home merchant's sku
        answer = client.post(case.path, json=body, headers=neighbour)
        assert (answer.status_code, answer.json()["code"]) == (404, "product_not_found")
    else:
        return  # acts for the caller's own merchant (POST /products)
    assert row_counts(factory) == before


def test_every_api_route_is_in_the_matrix(app: FastAPI) -> None:
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/api/v1")
        for method in operations
    }
    assert routes, "no API routes found"
    covered = {
        (
            c.method,
            c.path.split("?")[0]
            .replace("{program}", "{program_id}")
            .replace("{member}", "{member_id}")
            .replace("{token}", "{token_id}")
            .replace("{claim_coupon_id}", "{coupon_id}")
            .replace("{doomed_organization}", "{organization_id}")
            .replace("{doomed_merchant}", "{merchant_id}")
            .replace("{merchant_review}", "{review_id}")
            .replace("{merchant_campaign_id}", "{campaign_id}")
            .replace("{doomed_review}", "{review_id}")
            .replace("{organization}", "{organization_id}")
            .replace("{merchant}", "{merchant_id}")
            .replace("{merchant_product_id}", "{product_id}")
            .replace("{merchant_coupon_id}", "{coupon_id}")
            .replace("{merchant_promotion_id}", "{promotion_id}")
            .replace("{live_code}", "{code}")
            .replace("{risk_case_id}", "{case_id}")
            .replace("{doomed_segment}", "{segment_id}"),
        )
        for c in CASES
    }
    assert routes == covered
