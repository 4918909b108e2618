"""Whether a token still stands: not revoked, not expired, its organization and shop not deleted.

``service.resolve`` asks it of the token a secret names; a long-lived response (the console's live
board stream) asks it again, by the token's id, while it runs, and ends once it no longer stands.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from neigou.auth.models import ApiToken, TokenKind
from neigou.kit.clock import utcnow
from neigou.organizations.models import Merchant, Organization

NEVER = datetime.max.replace(tzinfo=UTC)  # the expiry of a token that has none


def with_tenancy() -> Select[ApiToken, datetime | None, datetime | None]:
    """A token with its organization's and merchant's deletion times."""
    return (
        select(ApiToken, Organization.deleted_at, Merchant.deleted_at)
        .outerjoin(Organization, Organization.id == ApiToken.organization_id)
        .outerjoin(Merchant, Merchant.id == ApiToken.merchant_id)
    )


def standing(found: Row[ApiToken, datetime | None, datetime | None] | None, now: datetime) -> ApiToken | None:
    """The token of a :func:`with_tenancy` row if it still opens requests at ``now``."""
    if found is None or found[1] is not None or found[2] is not None:
        return None
    token = found[0]
    if token.revoked_at is not None or token.kind is TokenKind.SIGN_IN:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    return token


def valid_until(session: Session, token_id: int, *, at: datetime | None = None) -> datetime | None:
    """Until when the token ``token_id`` stands (``NEVER`` if it has no expiry), None if it no longer
    does (revoked: sign-out, its account stopped; expired; its organization or shop deleted)."""
    row = session.execute(with_tenancy().where(ApiToken.id == token_id)).first()
    token = standing(row, at or utcnow())
    if token is None:
        return None
    return token.expires_at or NEVER
