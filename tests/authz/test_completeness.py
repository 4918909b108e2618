"""The matrix names every API route, once; every case runs in one of the modules; the merchant check covers
every route a merchant may call."""

from __future__ import annotations

from fastapi import FastAPI

from tests.authz import test_analytics_and_crm, test_groups_and_money, test_tenants_and_catalog
from tests.authz.cases import ALL_CASES, CATALOG, CORE
from tests.authz.matrix import case_id as case_key
from tests.authz.matrix import merchant_cases


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
        for c in ALL_CASES
    }
    assert routes == covered


def test_no_route_is_in_the_matrix_twice() -> None:
    named = [(c.method, c.path) for c in ALL_CASES]
    assert len(named) == len(set(named))


def test_every_route_a_merchant_may_call_gets_the_other_merchant_check() -> None:
    """``test_another_merchant_of_the_organization_finds_nothing`` runs in test_tenants_and_catalog only."""
    assert merchant_cases(ALL_CASES) == merchant_cases(CORE + CATALOG)


def test_every_case_runs_in_one_module() -> None:
    modules = (test_tenants_and_catalog, test_groups_and_money, test_analytics_and_crm)
    run = [case for module in modules for case in module.CASES]
    assert sorted(map(case_key, run)) == sorted(map(case_key, ALL_CASES))
