"""The member's tier on a phone: current tier, this month's figures against the next tier, history."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.programs.service import require_member, require_program
from neigou.tiers import repository as repo
from neigou.tiers.progress import member_progress
from neigou.web.i18n import locale_of
from neigou.web.pages import WorkspaceMember, render

router = APIRouter(include_in_schema=False)


@router.get("/m/tier", response_class=HTMLResponse)
def tier_page(request: Request, session: SessionDep, principal: WorkspaceMember) -> HTMLResponse:
    """Current tier, progress toward the next one this month, and the latest tier changes."""
    member = require_member(session, principal.member_id or 0)
    program = require_program(session, member.program_id)
    found = member_progress(session, member=member, timezone=program.timezone, at=utcnow())
    locale = locale_of(request)
    return render(
        request,
        "m/tier/index.html",
        member=member,
        program=program,
        found=found,
        text=found.text(locale),
        names={t.code: t.name for t in found.ladder},
        changes=repo.member_changes(session, member.id, limit=10),
        english=locale == "en",
    )
