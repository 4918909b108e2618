"""Every ``/api/v1`` list pages the same way: ``X-Total-Count`` and an RFC 8288 ``Link: rel="next"``.

The authorization matrix's world, with every write of the matrix made once more so that most lists
hold several rows, is read one row a page (``limit=1``) by following the links to the end.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from neigou.auth.models import Role
from tests.authz.cases import ALL_CASES as CASES
from tests.authz.matrix import World
from tests.authz.world import world  # noqa: F401 - the matrix's world fixture
from tests.conftest import bearer

# Every list and where its rows are: a bare JSON array (None) or a key of the body that keeps its shape.
LISTS: dict[str, str | None] = {
    "/api/v1/programs": None,
    "/api/v1/programs/{program}/tiers": None,
    "/api/v1/programs/{program}/members": None,
    "/api/v1/audit-log": None,
    "/api/v1/brands": None,
    "/api/v1/categories": None,
    "/api/v1/products": None,
    "/api/v1/coupons": None,
    "/api/v1/promotions": None,
    "/api/v1/links": None,
    "/api/v1/groups": None,
    "/api/v1/groups/{group_id}/counts": None,
    "/api/v1/programs/{program}/group-targets": None,
    "/api/v1/programs/{program}/group-counts/needs-review": None,
    "/api/v1/programs/{program}/risk/cases": None,
    "/api/v1/programs/{program}/group-leaderboard": "groups",
    "/api/v1/sku-commissions": None,
    "/api/v1/programs/{program}/integrations": None,
    "/api/v1/integrations/{integration_id}/deliveries": None,
    "/api/v1/members/{member}/statement": None,
    "/api/v1/members/{member}/withdrawals": None,
    "/api/v1/withdrawals": None,
    "/api/v1/members/{member}/team": "members",
    "/api/v1/programs/{program}/leaderboard": "rows",
    "/api/v1/programs/{program}/tier-evaluations": None,
    "/api/v1/privacy/opt-outs": None,
    "/api/v1/organizations": None,
    "/api/v1/merchants": None,
    "/api/v1/merchant-reviews": None,
    "/api/v1/events": None,
    "/api/v1/events/{event_id}/items": None,
    "/api/v1/events/{event_id}/leaderboard": None,
    "/api/v1/campaigns": None,
    "/api/v1/members/{member}/posts": None,
    "/api/v1/members/{member}/live-codes": None,
    "/api/v1/members/{member}/customers": None,
    "/api/v1/members/{member}/segments": None,
    "/api/v1/segments/{segment_id}/customers": None,
    "/api/v1/members/{member}/pushes": None,
    "/api/v1/programs/{program}/crm/dormant-customers": None,
    "/api/v1/programs/{program}/crm/muted-groups": None,
    "/api/v1/programs/{program}/group-compliance": "groups",
}
# Reports: one answer about a program on a date or over a range, with summaries over all of it.
REPORTS = {
    "/api/v1/programs/{program}/group-alerts",
    "/api/v1/programs/{program}/group-sales",
}
LINK = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')
pytestmark = pytest.mark.world_per_module  # the matrix's world, built once; each test rolls back


def _write_everything_again(client: TestClient, built: World) -> None:
    """Each write of the matrix once more by an allowed caller: second rows for most lists (deletes
    are left out, so that every list's parent is still there to be read)."""
    for case in CASES:
        if case.method in ("GET", "DELETE"):
            continue
        client.request(
            case.method,
            case.path.format(**built.ids),
            json=case.body(built.ids) if callable(case.body) else case.body,
            files=case.files,
            headers=_headers(built, case.path),
        )


@pytest.fixture(scope="module")
def written(module_client: TestClient, world: World) -> World:  # noqa: F811 - the fixture imported above
    """The matrix's world with each of its writes made once more, once for the module (each test
    then runs in a savepoint of it)."""
    _write_everything_again(module_client, world)
    return world


def _headers(built: World, path: str) -> dict[str, str]:
    """An allowed caller of ``path``: the organization's operator where it may, else another
    allowed role, or a platform administrator for the organizations themselves."""
    allowed = next(c.allowed for c in CASES if c.path == path)
    if not allowed:
        return built.admin
    role = Role.OPERATOR if Role.OPERATOR in allowed else sorted(allowed)[0]
    return bearer(built.tokens[role.value])


@pytest.mark.parametrize("path", sorted(LISTS))
def test_every_list_pages_by_link_to_its_total(
    client: TestClient,
    written: World,
    path: str,
) -> None:
    headers = _headers(written, path)
    whole = client.get(path.format(**written.ids) + "?limit=500", headers=headers)
    assert whole.status_code == 200, whole.text
    total = int(whole.headers["x-total-count"])
    assert "link" not in whole.headers
    key = LISTS[path]
    everything = _rows(whole.json(), key)
    assert len(everything) == total, "X-Total-Count counts the whole list"

    seen: list[Any] = []
    url: str | None = path.format(**written.ids) + "?limit=1"
    while url is not None:
        page = client.get(url, headers=headers)
        assert page.status_code == 200, page.text
        assert page.headers["x-total-count"] == str(total)
        rows = _rows(page.json(), key)
        assert len(rows) == min(1, total)
        seen += rows
        link = page.headers.get("link")
        url = LINK.fullmatch(link).group("url") if link else None  # type: ignore[union-attr]
        assert len(seen) <= total, "a next link past the last page"
    assert seen == everything


def _rows(body: Any, key: str | None) -> list[Any]:
    assert isinstance(body, dict) == (key is not None), "each list keeps its body's shape"
    return list(body[key] if key is not None else body)


def test_most_lists_hold_several_rows_in_this_world(
    client: TestClient,
    written: World,
) -> None:
    """So that the walk above follows real next links, not only single pages."""
    several = [
        path
        for path in LISTS
        if int(
            client.get(path.format(**written.ids), headers=_headers(written, path)).headers["x-total-count"]
        )
        > 1
    ]
    assert len(several) >= len(LISTS) // 2, several
    assert {"/api/v1/audit-log", "/api/v1/members/{member}/statement"} <= set(several), "cursor links walked"


def test_every_list_endpoint_is_paged(app: FastAPI) -> None:
    """A new list route must join LISTS (and so the paging dependency) or be named a report."""
    spec = app.openapi()
    arrays = {
        path.replace("{program_id}", "{program}").replace("{member_id}", "{member}")
        for path, operations in spec["paths"].items()
        if path.startswith("/api/v1") and "get" in operations
        for answer in [operations["get"]["responses"].get("200", {})]
        if answer.get("content", {}).get("application/json", {}).get("schema", {}).get("type") == "array"
    }
    assert arrays <= set(LISTS), arrays - set(LISTS)
    for path in LISTS:
        operation = spec["paths"][
            path.replace("{program}", "{program_id}").replace("{member}", "{member_id}")
        ]
        names = {p["name"] for p in operation["get"].get("parameters", [])}
        assert "limit" in names, path
        assert names & {"offset", "before_id"}, path
    assert not REPORTS & set(LISTS)
