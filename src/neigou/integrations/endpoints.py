"""HTTP endpoints of integrations: registering a shop and reading its delivery log (``/api/v1``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from neigou.auth.dependencies import Operator
from neigou.integrations import events as _events  # noqa: F401 - registers the listener and delivery jobs
from neigou.integrations import service
from neigou.integrations.models import Integration
from neigou.integrations.schemas import DeliveryOut, IntegrationBody, IntegrationOut
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.paging import CursorDep, PageDep
from neigou.kit.sealed import Sealer
from neigou.programs.service import require_program

router = APIRouter(tags=["orders"])


def integration_out(row: Integration, created: service.Created | None = None) -> IntegrationOut:
    """An integration with its masked URL; its secrets only when just ``created`` (so not a plain
    copy of the row)."""
    return IntegrationOut(
        id=row.id,
        program_id=row.program_id,
        name=row.name,
        outbound_url=row.outbound_url_masked,
        active=row.active,
        created_at=row.created_at,
        inbound_secret=created.inbound_secret if created else None,
        outbound_secret=created.outbound_secret if created else None,
    )


@router.post(
    "/programs/{program_id}/integrations", status_code=status.HTTP_201_CREATED, response_model=IntegrationOut
)
def create_integration(
    program_id: int, body: IntegrationBody, request: Request, session: SessionDep, principal: Operator
) -> IntegrationOut:
    """Register a shop feeding the program: the answer shows its webhook secrets, once."""
    created = service.create(
        session,
        program_id=program_id,
        data=body,
        sealer=Sealer.from_settings(request.app.state.settings),
        allow_private=request.app.state.settings.outbound_allow_private,
        actor=principal.actor,
        at=utcnow(),
    )
    return integration_out(created.row, created)


@router.get("/programs/{program_id}/integrations", response_model=list[IntegrationOut])
def list_integrations(
    program_id: int, session: SessionDep, _principal: Operator, page: PageDep
) -> list[IntegrationOut]:
    """The program's integrations (without secrets)."""
    require_program(session, program_id)
    rows = service.page_of_program(session, program_id, page)
    page.answer(rows.total)
    return [integration_out(row) for row in rows.items]


@router.get("/integrations/{integration_id}/deliveries", response_model=list[DeliveryOut])
def list_deliveries(
    integration_id: int, session: SessionDep, _principal: Operator, cursor: CursorDep
) -> list[DeliveryOut]:
    """The delivery log of an integration's commission events, newest first."""
    service.require(session, integration_id)
    rows = service.deliveries(session, integration_id, cursor)
    cursor.answer(rows.total, rows.next_before_id)
    return [DeliveryOut.model_validate(d) for d in rows.items]
