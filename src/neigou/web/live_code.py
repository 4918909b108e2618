"""The public live-code page ``/g/{code}`` (活码): the join QR of the first group with room, or a page
saying every group is full (the owner is alerted). Anonymous; a bad code gets a friendly 404 page, and
scans are rate-limited per address (``SCANS_PER_IP``: past it a translated 429 page with Retry-After)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from neigou.groups import live_code_repository as live_repo
from neigou.groups import live_codes
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import NotFound, ProblemError
from neigou.kit.i18n import N_, Message
from neigou.kit.streams import namespace as redis_namespace
from neigou.links.ratelimit import ClaimLimiter
from neigou.web.error_pages import error_page
from neigou.web.pages import client_ip, render

router = APIRouter(include_in_schema=False)
# A QR on a poster at a meeting: a venue's network may put many phones behind one address, and a link
# preview crawler fetches the page too; past this, one address waits (``SCAN_RETRY_AFTER`` seconds).
SCANS_PER_IP = "60/minute"
SCAN_RETRY_AFTER = 60


def _limiter(request: Request) -> ClaimLimiter:
    limiter: ClaimLimiter | None = getattr(request.app.state, "live_code_limiter", None)
    if limiter is None:
        settings = request.app.state.settings
        limiter = ClaimLimiter.for_redis(
            settings.redis_client_url,
            per_ip=SCANS_PER_IP,
            namespace=redis_namespace(settings.database_url) + ":livecode",
        )
        request.app.state.live_code_limiter = limiter
    return limiter


@router.get("/g/{code}", response_class=HTMLResponse)
def live_code_page(code: str, request: Request, session: SessionDep) -> HTMLResponse:
    """Send the visitor to the open group and count the scan on it."""
    if not _limiter(request).allow(ip=client_ip(request), visitor_id=None):
        return error_page(
            request,
            429,
            "rate_limited",
            N_("Too many attempts"),
            N_("Too many attempts; please try again in a minute."),
            retry_after=SCAN_RETRY_AFTER,
        )
    try:
        live = live_codes.require_live_code(session, code)
    except ProblemError:
        return render(request, "livecode/missing.html", status_code=404, code=code[:64])
    scan = live_codes.scan(session, live_code=live, at=utcnow(), settings=request.app.state.settings)
    response = render(request, "livecode/page.html", live=live, group=scan.group, has_qr=scan.has_qr)
    response.headers["Cache-Control"] = "no-store"  # every scan must reach the rotation
    return response


@router.get("/g/{code}/qr/{group_id}")
def live_code_qr(code: str, group_id: int, session: SessionDep) -> Response:
    """The uploaded join QR image of a group of the live code; an unknown code or a group without one is
    a 404 problem+json (``live_code_not_found``, ``group_qr_not_found``: ``web.paths.FETCHED``)."""
    live = live_codes.require_live_code(session, code)
    found = live_repo.live_code_qr(session, live.id, group_id)
    if found is None:
        raise NotFound(Message("This group has no join QR image."), code="group_qr_not_found")
    data, content_type = found
    return Response(data, media_type=content_type, headers={"Cache-Control": "private, max-age=300"})
