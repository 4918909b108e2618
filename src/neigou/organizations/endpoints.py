"""HTTP endpoints of organizations (``/api/v1``): platform administrators only."""

from __future__ import annotations

from fastapi import APIRouter, status

from neigou.auth.dependencies import Operator, PlatformAdmin
from neigou.kit.deps import SessionDep
from neigou.kit.paging import PageDep
from neigou.organizations import service
from neigou.organizations.schemas import OrganizationCreate, OrganizationOut, OrganizationSettings

router = APIRouter(tags=["organizations"])


@router.post("/organizations", status_code=status.HTTP_201_CREATED, response_model=OrganizationOut)
def create_organization(
    body: OrganizationCreate, session: SessionDep, principal: PlatformAdmin
) -> OrganizationOut:
    """Create an organization (a tenant)."""
    return OrganizationOut.model_validate(
        service.create_organization(session, data=body, actor=principal.actor)
    )


@router.get("/organizations", response_model=list[OrganizationOut])
def list_organizations(
    session: SessionDep, _principal: PlatformAdmin, page: PageDep
) -> list[OrganizationOut]:
    """Organizations, oldest first, deleted ones included (``deleted_at`` set)."""
    organizations = service.page_organizations(session, page)
    page.answer(organizations.total)
    return [OrganizationOut.model_validate(o) for o in organizations.items]


@router.delete("/organizations/{organization_id}", response_model=OrganizationOut)
def delete_organization(
    organization_id: int, session: SessionDep, principal: PlatformAdmin
) -> OrganizationOut:
    """Delete an organization: its accounts and tokens stop working at once."""
    return OrganizationOut.model_validate(
        service.delete_organization(session, organization_id=organization_id, actor=principal.actor)
    )


@router.patch("/organizations/{organization_id}", response_model=OrganizationOut)
def update_organization(
    organization_id: int, body: OrganizationSettings, session: SessionDep, principal: Operator
) -> OrganizationOut:
    """Change an organization's settings (its own operators, or a platform administrator)."""
    return OrganizationOut.model_validate(
        service.update_settings(session, organization_id=organization_id, data=body, actor=principal.actor)
    )
