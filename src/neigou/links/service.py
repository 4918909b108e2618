"""Share links: created for a member (by an operator, or by the member for themselves), disabled, enabled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.groups import repository as groups
from neigou.groups.models import GroupStatus
from neigou.kit.actor import Actor
from neigou.kit.clock import utcnow
from neigou.kit.errors import Conflict, Invalid, NotFound
from neigou.kit.i18n import Message
from neigou.links import cache
from neigou.links import repository as repo
from neigou.links.codes import new_code
from neigou.links.models import ShareLink
from neigou.links.schemas import LinkCreate, LinkOut
from neigou.offers import repository as offers
from neigou.offers.review import require_live
from neigou.programs import repository as programs
from neigou.programs.service import require_member
from neigou.risk import holds

CODE_ATTEMPTS = 8
BATCH_CODE_ATTEMPTS = 4  # fresh codes for a whole batch (a post's or a push's links)


NO_TIERS = Message(
    "The program has no tier ladder yet, so a sale through this link would pay no commission: "
    "its operator sets the tiers first."
)


def require_link(session: Session, code: str) -> ShareLink:
    """The link of a code or a 404."""
    link = repo.get_link_by_code(session, code)
    if link is None:
        raise NotFound(Message("This share link does not exist."), code="link_not_found")
    return link


def _dump(link: ShareLink) -> dict[str, object]:
    return {
        "code": link.code,
        "member_id": link.member_id,
        "sku": link.sku,
        "coupon_id": link.coupon_id,
        "group_id": link.group_id,
        "active": link.active,
    }


def _check_coupon(session: Session, coupon_id: int, sku: str, now: datetime, organization_id: int) -> None:
    coupon = offers.coupons_by_id(session, [coupon_id], organization_id=organization_id).get(coupon_id)
    if coupon is None:
        raise Invalid(Message("{field} names no coupon.", field="coupon_id"), code="unknown_coupon")
    require_live(coupon)
    if coupon.skus is not None and sku not in coupon.skus:
        raise Invalid(
            Message(
                "Coupon {coupon_id} does not cover the product in {field}.", coupon_id=coupon.id, field="sku"
            ),
            code="coupon_not_for_sku",
            extra={"field": "sku"},
        )
    if coupon.ends_at <= now:
        raise Invalid(Message("Coupon {coupon_id} has ended.", coupon_id=coupon.id), code="coupon_ended")


def _check_group(session: Session, group_id: int, member_id: int) -> None:
    # A link may name only one of the member's own groups: its sales are credited to that group.
    group = groups.get_group(session, group_id)
    if group is None or group.owner_member_id != member_id:
        raise Invalid(
            Message("The group (group_id) is not one of this member's groups."),
            code="group_not_owned",
        )
    if group.status is not GroupStatus.ACTIVE:
        raise Invalid(Message("Group {group_id} is archived.", group_id=group.id), code="group_archived")


def create_link(session: Session, *, data: LinkCreate, actor: Actor, at: datetime | None = None) -> ShareLink:
    """A new link with a fresh random code; the coupon must cover the sku, the group must be the member's."""
    now = at or utcnow()
    if data.member_id is None:
        raise Invalid(Message("member_id is required."), code="member_required")
    member = require_member(session, data.member_id)
    if not programs.list_tiers(session, member.program_id):
        raise Conflict(NO_TIERS, code="no_tiers")
    holds.check_not_suspended(session, member.id)
    # The member's organization's catalog, also for a platform administrator (no scope).
    organization_id = programs.organization_of(session, member.program_id)
    product = offers.products_by_sku(session, [data.sku], organization_id=organization_id).get(data.sku)
    if product is None:
        raise Invalid(Message("{field} names no product.", field="sku"), code="unknown_sku")
    if not product.active:
        raise Invalid(
            Message("{field} names a product that is not on sale.", field="sku"), code="product_inactive"
        )
    if data.coupon_id is not None:
        _check_coupon(session, data.coupon_id, data.sku, now, organization_id)
    if data.group_id is not None:
        _check_group(session, data.group_id, member.id)
    link = ShareLink(
        program_id=member.program_id,
        member_id=member.id,
        product_id=product.id,
        sku=product.sku,
        coupon_id=data.coupon_id,
        group_id=data.group_id,
        active=True,
        created_at=now,
        updated_at=now,
    )
    for _ in range(CODE_ATTEMPTS):
        link.code = new_code()
        if repo.code_taken(session, link.code):
            continue
        try:
            with session.begin_nested():
                session.add(link)
                session.flush()
        except IntegrityError:  # a parallel request took the same code between the check and the insert
            continue
        break
    else:  # pragma: no cover - 8 collisions in a 62^8 space
        raise Conflict(Message("Could not find a free link code; try again."), code="code_exhausted")
    audit.record(
        session, actor=actor, action="link.create", entity="link", entity_id=link.id, after=_dump(link)
    )
    return link


def insert_links(session: Session, links: list[ShareLink]) -> None:
    """Insert ``links`` at once, each with a fresh random code; a clash draws every code again.

    Every path that mints links in bulk (group posts, pushes) comes through here, so a suspended
    member's links are refused here (409 ``member_suspended``) whatever the caller checked before."""
    for member_id in sorted({link.member_id for link in links}):
        holds.check_not_suspended(session, member_id)
    for _ in range(BATCH_CODE_ATTEMPTS):
        for link in links:
            link.code = new_code()
        try:
            with session.begin_nested():
                session.add_all(links)
                session.flush()
        except IntegrityError:  # pragma: no cover - a code taken in a 62^8 space
            continue
        return
    raise Conflict(
        Message("Could not find a free link code; try again."), code="code_exhausted"
    )  # pragma: no cover


def set_active(
    session: Session, *, link: ShareLink, active: bool, actor: Actor, at: datetime | None = None
) -> ShareLink:
    """Disable or enable a link; every process's redirect cache forgets it on commit."""
    if link.active is active:
        return link
    before = _dump(link)
    link.active = active
    link.updated_at = at or utcnow()
    session.flush()
    cache.changed(session, link.code)
    audit.record(
        session,
        actor=actor,
        action="link.enable" if active else "link.disable",
        entity="link",
        entity_id=link.id,
        before=before,
        after=_dump(link),
    )
    return link


def links_out(session: Session, links: list[ShareLink], base_url: str) -> list[LinkOut]:
    """API views of links with their stats (two grouped queries for the page)."""
    stats = repo.link_stats(session, [link.id for link in links])
    return [
        LinkOut(
            id=link.id,
            code=link.code,
            url=link_url(base_url, link.code),
            program_id=link.program_id,
            member_id=link.member_id,
            sku=link.sku,
            coupon_id=link.coupon_id,
            group_id=link.group_id,
            active=link.active,
            created_at=link.created_at,
            clicks=stats[link.id].clicks,
            opens=stats[link.id].opens,
            claims=stats[link.id].claims,
        )
        for link in links
    ]


def link_url(base_url: str, code: str) -> str:
    """The public short URL of a code."""
    return f"{base_url.rstrip('/')}/l/{code}"
