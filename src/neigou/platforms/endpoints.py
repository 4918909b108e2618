"""HTTP endpoints of platform order feeds and their reconciliation (``/api/v1``).

``POST /integrations/{id}/feeds/{platform}`` takes ``{"rows": [...]}``, the platform's own order rows
with the platform's field names. The body is parsed with decimals, so amounts in yuan never pass
through a float. It is read only once the caller is authenticated, and only up to ``FEED_MAX_BYTES``
(413 past it): parsed into decimals and dicts, a body takes many times its size in memory, so the
application-wide body limit is far too much for a thousand rows. It is parsed in a worker thread, row
by row, and refused at the row past ``MAX_ROWS``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from neigou.auth.dependencies import Operator, OperatorOrIntegration
from neigou.integrations import service as integrations
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import Invalid, TooLarge
from neigou.kit.exports import workbook_response
from neigou.kit.i18n import Message
from neigou.kit.ids import whole_number
from neigou.kit.instants import MoneyClockDep
from neigou.kit.json_input import MoreKeys, TooMany, loads_listed, loads_untrusted
from neigou.kit.json_text import NUL_CHARACTER, holds_nul, reads_its_own_body
from neigou.kit.paging import PageDep
from neigou.platforms import feeds, reconciliation
from neigou.platforms.rows import Platform
from neigou.platforms.schemas import FeedOut, ReconciliationOut, SkippedRow
from neigou.programs.service import require_program

router = APIRouter(tags=["platforms"])
MAX_ROWS = 1000
# A thousand of the largest rows (淘宝联盟's, some 2 KB each) with room to spare.
FEED_MAX_BYTES = 4 * 1024 * 1024
FEED_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["rows"],
                    "properties": {
                        "rows": {"type": "array", "maxItems": MAX_ROWS, "items": {"type": "object"}}
                    },
                }
            }
        },
    }
}
# Checked by ``reconciliation.month_range``, which answers ``invalid_month`` in the reader's language
# (a pattern here would answer a generic ``validation_error``, and Unicode digits would pass it).
MonthQuery = Annotated[
    str,
    Query(
        description="YYYY-MM in the program's time zone, not after the current month",
        json_schema_extra={"pattern": reconciliation.MONTH.pattern},
    ),
]
CauseQuery = Annotated[
    reconciliation.CauseFilter | None,
    Query(description="only the orders of this cause, the agreeing ones (none) or every difference"),
]


def feed_rows(body: bytes) -> list[Any]:
    """The rows of a feed body, amounts as decimals; a body of another shape is a 422. A body written
    ``{"rows": [...]}`` is read row by row and refused ``too_many_rows`` at the row past ``MAX_ROWS``,
    the rest unread; one written otherwise is read whole to tell what it is."""
    if holds_nul(body):
        raise Invalid(NUL_CHARACTER, code="nul_character")
    try:
        rows = loads_listed(body, "rows", most=MAX_ROWS, parse_float=Decimal, parse_constant=_nothing)
        parsed = (
            {"rows": rows}
            if rows is not None
            else loads_untrusted(body, parse_float=Decimal, parse_constant=_nothing)
        )
    except TooMany as exc:
        raise _too_many() from exc
    except MoreKeys as exc:  # another key, or "rows" twice
        raise _not_rows() from exc
    except ValueError as exc:
        raise Invalid(Message("The body is not JSON."), code="validation_error") from exc
    rows = parsed.get("rows") if isinstance(parsed, dict) else None
    if not isinstance(rows, list) or set(parsed) != {"rows"}:
        raise _not_rows()
    if len(rows) > MAX_ROWS:
        raise _too_many()
    return rows


def _nothing(_constant: str) -> None:
    """``NaN`` and ``Infinity`` read as nothing."""


def _not_rows() -> Invalid:
    return Invalid(Message('The body must be {{"rows": [...]}}.'), code="validation_error")


def _too_many() -> Invalid:
    return Invalid(Message("At most {max_rows} rows at a time.", max_rows=MAX_ROWS), code="too_many_rows")


def _too_large() -> TooLarge:
    return TooLarge(
        Message("The request body is larger than {megabytes} MB.", megabytes=FEED_MAX_BYTES // (1024 * 1024)),
        extra={"max_bytes": FEED_MAX_BYTES},
    )


async def _rows(request: Request) -> list[Any]:
    """The body's rows, read up to ``FEED_MAX_BYTES`` (a declared larger body is refused unread)."""
    declared = whole_number(request.headers.get("content-length", ""), digits=40)
    if declared is not None and declared > FEED_MAX_BYTES:
        raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > FEED_MAX_BYTES:
            raise _too_large()
    # parsed in a worker thread: a large body takes a second of CPU, which would hold up every other
    # request on the event loop (share-link redirects, health probes)
    return await run_in_threadpool(feed_rows, bytes(body))


@router.post(
    "/integrations/{integration_id}/feeds/{platform}", response_model=FeedOut, openapi_extra=FEED_BODY
)
@reads_its_own_body  # after the caller, up to FEED_MAX_BYTES, NUL included (feed_rows)
def post_feed(
    *,
    integration_id: int,
    platform: Platform,
    request: Request,
    # the caller first: FastAPI resolves dependencies in this order, and no body is read for a stranger
    principal: OperatorOrIntegration,
    rows: Annotated[list[Any], Depends(_rows)],
    session: SessionDep,
    clock: MoneyClockDep,
) -> FeedOut:
    """Apply a platform's order rows to the integration's program: new orders, completions, refunds.
    A deactivated integration's rows are refused, 403 ``integration_inactive``, nothing read in."""
    integration = integrations.require_active(session, integration_id)
    result = feeds.apply_rows(
        session,
        integration=integration,
        platform=platform,
        rows=rows,
        secret_key=request.app.state.settings.secret_key,
        now=clock.now,
        latest=clock.now + clock.skew,
        actor=principal.actor,
    )
    return FeedOut(
        created=result.created,
        updated=result.updated,
        refunds=result.refunds,
        skipped=[SkippedRow(index=s.index, reason=s.code, message=str(s.message)) for s in result.skipped],
    )


@router.get("/programs/{program_id}/reconciliation", response_model=ReconciliationOut)
def get_reconciliation(  # noqa: PLR0917 - the query's parameters
    program_id: int,
    platform: Platform,
    month: MonthQuery,
    session: SessionDep,
    _principal: Operator,
    page: PageDep,
    cause: CauseQuery = None,
) -> ReconciliationOut:
    """A page of the platform's commission against neigou's, order by order, for orders paid in the
    month (in paid order), with the whole month's totals; ``cause`` keeps one cause, ``none`` or
    ``differing``. ``X-Total-Count`` counts the rows ``cause`` keeps."""
    program = require_program(session, program_id)
    report, kept = reconciliation.month(
        session, program=program, platform=platform, month=month, now=utcnow(), page=page, cause=cause
    )
    page.answer(kept)
    return report


@router.get("/programs/{program_id}/reconciliation.xlsx")
def get_reconciliation_xlsx(
    program_id: int,
    platform: Platform,
    month: MonthQuery,
    session: SessionDep,
    _principal: Operator,
    cause: CauseQuery = None,
) -> StreamingResponse:
    """The same reconciliation as an Excel workbook: every order ``cause`` keeps, then the totals."""
    program = require_program(session, program_id)
    sheets = reconciliation.workbook(
        session, program=program, platform=platform, month=month, now=utcnow(), cause=cause
    )
    return workbook_response(sheets, f"reconciliation-{platform.value}-{month}.xlsx")
