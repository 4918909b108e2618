"""Console page of share links: every program's links with clicks and claims; disable or enable one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from neigou.auth.dependencies import ConsoleOperator
from neigou.groups import repository as groups
from neigou.kit.deps import SessionDep
from neigou.links import repository as links
from neigou.links import service
from neigou.links.endpoints import base_url
from neigou.offers import repository as offers
from neigou.programs import repository as programs
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@router.get("/console/links", response_class=HTMLResponse)
def links_page(
    request: Request,
    *,
    session: SessionDep,
    _principal: ConsoleOperator,
    program: int | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    """Links, newest first, narrowed to a program."""
    rows = links.list_links(session, program_id=program, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    members = groups.members_by_id(session, {link.member_id for link in rows})
    products = offers.products_by_sku(session, [link.sku for link in rows])
    return render(
        request,
        "console/links/index.html",
        links=rows,
        stats=links.link_stats(session, [link.id for link in rows]),
        members={i: m.name for i, m in members.items()},
        titles={sku: p.title for sku, p in products.items()},
        programs=programs.list_programs(session),
        program=program,
        page=page,
        more=more,
        base=base_url(request),
    )


@router.post("/console/links/{code}/active")
def toggle_link(
    code: str,
    session: SessionDep,
    principal: ConsoleOperator,
    active: Annotated[bool, Form()],
    back: Annotated[str, Form(max_length=200)] = "/console/links",
) -> RedirectResponse:
    """Disable or enable a link (audited)."""
    link = service.require_link(session, code)
    service.set_active(session, link=link, active=active, actor=principal.actor)
    target = back if back.startswith("/console/links") else "/console/links"
    return RedirectResponse(target, status_code=303)
