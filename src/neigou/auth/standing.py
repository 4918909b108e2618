"""Whether a token still stands: not revoked, not expired, its organization and shop not deleted, and
neither the console account it belongs to nor the one that issued it stopped.

``service.resolve`` asks it of the token a secret names; a long-lived response (the console's live
board stream) asks it again, by the token's id, while it runs, and ends once it no longer stands.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session, aliased

from neigou.auth.models import ApiToken, TokenKind, User
from neigou.kit.clock import utcnow
from neigou.organizations.models import Merchant, Organization

NEVER = datetime.max.replace(tzinfo=UTC)  # the expiry of a token that has none

_OWNER = aliased(User)
_ISSUER = aliased(User)

# A token; its organization's and merchant's deletion times; whether its account and its issuer are
# active (None: it has none).
TokenRow = Row[ApiToken, datetime | None, datetime | None, bool | None, bool | None]


def with_tenancy() -> Select[ApiToken, datetime | None, datetime | None, bool | None, bool | None]:
    """A token with its organization's and merchant's deletion times, and whether the console account
    it belongs to (a session's) and the one that issued it (an API token's) are active."""
    return (
        select(ApiToken, Organization.deleted_at, Merchant.deleted_at, _OWNER.active, _ISSUER.active)
        .outerjoin(Organization, Organization.id == ApiToken.organization_id)
        .outerjoin(Merchant, Merchant.id == ApiToken.merchant_id)
        .outerjoin(_OWNER, _OWNER.id == ApiToken.user_id)
        .outerjoin(_ISSUER, _ISSUER.id == ApiToken.issued_by_user_id)
    )


def standing(found: TokenRow | None, now: datetime) -> ApiToken | None:
    """The token of a :func:`with_tenancy` row if it still opens requests at ``now``. A token whose
    account or issuer is stopped is refused even if not revoked yet (``set_user_active`` revokes them,
    but a token issued while that ran would otherwise outlive it)."""
    if found is None or found[1] is not None or found[2] is not None:
        return None
    if found[3] is False or found[4] is False:
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
