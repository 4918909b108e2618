"""The authorization matrix: every API route with who may call it, grouped by domain. The test modules
of ``tests/authz`` each take a few groups (and build the world once for them, so xdist spreads the
matrix over its workers); ``ALL_CASES`` is the whole matrix, and ``test_completeness.py`` checks that it
names every route of the API, once."""

from __future__ import annotations

from neigou.auth.models import Role
from tests.authz.matrix import (
    ALL,
    NOT_MERCHANT,
    OPERATOR,
    OPERATOR_OR_INTEGRATION,
    OPERATOR_OR_MEMBER,
    OPERATOR_OR_MERCHANT,
    PLATFORM,
    Case,
)
from tests.campaigns import builders as campaigns
from tests.crm import builders as crm
from tests.crm import push_matrix as crm_push
from tests.events import builders as events
from tests.factories import PARTNER_TIERS
from tests.feed import matrix as feed
from tests.groups import builders as groups
from tests.links import builders as links
from tests.offers import factories as offers
from tests.orders import matrix as orders
from tests.tiers import matrix as tiers

# Programs, members, tokens, the audit log, privacy, organizations and merchants.
CORE = [
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
]

# Brands, categories, products, coupons, promotions, quotes, share links, claims and campaigns.
CATALOG = [
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
    Case("GET", "/api/v1/coupons/{claim_coupon_id}/claims/{claim_id}", NOT_MERCHANT, member_scoped=True),
    Case(
        "POST",
        "/api/v1/campaigns",
        OPERATOR_OR_MERCHANT,
        lambda ids: campaigns.matrix_campaign(ids["program"]),
    ),
    Case("GET", "/api/v1/campaigns", OPERATOR_OR_MERCHANT),
    Case("GET", "/api/v1/campaigns/{merchant_campaign_id}", OPERATOR_OR_MERCHANT),
    Case("PATCH", "/api/v1/campaigns/{merchant_campaign_id}", OPERATOR_OR_MERCHANT, {"name": "矩阵活动改"}),
]

# Groups and their counts, targets, alerts and settings; the member's feed, posts, robots and live codes.
GROUPS = [
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
]

# Orders, settlement, integrations, reconciliation, balances, withdrawals, payouts, the team and tiers.
MONEY = [
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
]

# Analytics reports and live events.
ANALYTICS = [
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
]

# Risk cases and the CRM: customers, consents, segments, recommendations and pushes.
CRM = [
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

ALL_CASES = CORE + CATALOG + GROUPS + MONEY + ANALYTICS + CRM
