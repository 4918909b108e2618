"""HTTP endpoints of authentication: who am I, tokens."""

from __future__ import annotations

from fastapi import APIRouter, status

from neigou.auth import service
from neigou.auth.dependencies import CatalogReader, Operator
from neigou.auth.schemas import Me, TokenCreate, TokenCreated
from neigou.kit.deps import SessionDep

router = APIRouter(tags=["auth"])


@router.get("/me", response_model=Me)
def me(principal: CatalogReader) -> Me:
    """The role and binding of the calling token."""
    return Me(
        role=principal.role, member_id=principal.member_id, user_id=principal.user_id, label=principal.label
    )


@router.post("/tokens", status_code=status.HTTP_201_CREATED, response_model=TokenCreated)
def create_token(body: TokenCreate, session: SessionDep, principal: Operator) -> TokenCreated:
    """Issue an API token (operators only); the secret is in this response and nowhere else."""
    token, secret = service.create_token(
        session,
        role=body.role,
        member_id=body.member_id,
        label=body.label,
        actor=principal.actor,
        issued_by_user_id=principal.answerable_user_id,  # a console session's account, or the token's issuer
    )
    return TokenCreated(id=token.id, role=token.role, member_id=token.member_id, token=secret)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: int, session: SessionDep, principal: Operator) -> None:
    """Revoke a token."""
    service.revoke_audited(session, token_id=token_id, actor=principal.actor)
