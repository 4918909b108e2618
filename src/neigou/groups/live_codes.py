"""Group live codes (活码): made by an owner for their groups, scanned by visitors, alerting when full.

A scan counts on the group it opened (``scans = scans + 1`` in the database, never read-modify-write);
a scan that finds every group full counts on the code and, the first time in a full spell, leaves the
owner an alert and announces ``group.live_code_full`` (:data:`LIVE_CODE_FULL`): the program's
integrations get it as an outbound webhook and the code's first group with a WeCom robot as a message
(``feed.full_alerts``, sent after the scan's commit and retried with backoff; its state is kept on the
alert), once per spell however many visitors find it full. The spell ends when a later scan finds a
group with room.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, UnidentifiedImageError
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.groups import live_code_repository as live_repo
from neigou.groups import live_rules, scan_counts
from neigou.groups import repository as repo
from neigou.groups.models import Group, GroupStatus, LiveCode, LiveCodeAlert, LiveCodeGroup
from neigou.kit.actor import Actor
from neigou.kit.errors import Conflict, Invalid, NotFound
from neigou.kit.events import Event, publish
from neigou.kit.i18n import Message
from neigou.kit.settings import Settings
from neigou.programs.service import require_member

CODE_ATTEMPTS = 8
LIVE_CODE_FULL = "group.live_code_full"


def require_live_code(session: Session, code: str) -> LiveCode:
    """The live code of a public code or a 404."""
    live = live_repo.get_live_code_by_code(session, code) if live_rules.is_code(code) else None
    if live is None:
        raise NotFound(Message("This live code does not exist."), code="live_code_not_found")
    return live


def create_live_code(
    session: Session, *, owner_member_id: int, group_ids: list[int], capacity: int, actor: Actor, at: datetime
) -> LiveCode:
    """A live code over the owner's active groups in the given order; another owner's group is a 404, an
    archived one ``422 group_archived`` (as a feed post)."""
    owner = require_member(session, owner_member_id)
    if len(set(group_ids)) != len(group_ids):
        raise Invalid(Message("A group is listed twice."), code="duplicate_group")
    groups = {g.id: g for g in repo.groups_of_owners(session, [owner.id])}
    for group_id in group_ids:
        if group_id not in groups:
            raise NotFound(Message("This group does not exist."), code="group_not_found")
        if groups[group_id].status is not GroupStatus.ACTIVE:
            raise Invalid(Message("Group {group_id} is archived.", group_id=group_id), code="group_archived")
    live = LiveCode(
        program_id=owner.program_id, owner_member_id=owner.id, capacity=capacity, full_scans=0, created_at=at
    )
    for _ in range(CODE_ATTEMPTS):
        live.code = live_rules.new_live_code()
        try:
            with session.begin_nested():
                session.add(live)
                session.flush()
        except IntegrityError:  # the same random code taken in parallel
            continue
        break
    else:  # pragma: no cover - 8 collisions in a 62^8 space
        raise Conflict(Message("Could not find a free link code; try again."), code="code_exhausted")
    session.add_all(
        LiveCodeGroup(live_code_id=live.id, group_id=g, position=n, scans=0) for n, g in enumerate(group_ids)
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="live_code.create",
        entity="live_code",
        entity_id=live.id,
        after={"code": live.code, "group_ids": group_ids, "capacity": capacity},
        at=at,
    )
    return live


@dataclass(frozen=True)
class Scan:
    """Where a scan of a live code sends the visitor: a group, or nowhere (all full)."""

    live_code: LiveCode
    group: Group | None
    has_qr: bool


def scan(session: Session, *, live_code: LiveCode, at: datetime, settings: Settings) -> Scan:
    """Choose the open group for a visitor now and count the scan (off the write path:
    ``groups.scan_counts``; only a full spell's start and end are written, each a conditional UPDATE).
    Only the code's groups still active and still the code owner's take visitors: an archived group, or
    one handed over to another member, is passed over (as a full one, but never counted as one)."""
    rows = live_repo.live_code_groups(session, [live_code.id])[live_code.id]
    ids = serving(session, live_code, [r.group_id for r in rows])
    counts = {gid: count for gid, (count, _) in repo.latest_counts(session, before=at, group_ids=ids).items()}
    chosen = live_rules.open_group(ids, counts, live_code.capacity)
    if chosen is None:
        scan_counts.count_full_scan(settings, live_code.id)
        opened = session.execute(
            update(LiveCode)
            .where(LiveCode.id == live_code.id, LiveCode.full_since.is_(None))
            .values(full_since=at)
        )
        if getattr(opened, "rowcount", 0) == 1:
            alert = LiveCodeAlert(
                live_code_id=live_code.id,
                owner_member_id=live_code.owner_member_id,
                full_since=at,
                created_at=at,
            )
            session.add(alert)
            session.flush()
            _announce_full(session, live_code, alert, ids, counts)
        session.flush()
        return Scan(live_code, None, False)
    row = next(r for r in rows if r.group_id == chosen)
    scan_counts.count_group_scan(settings, row.id)
    if live_code.full_since is not None:
        session.execute(
            update(LiveCode)
            .where(LiveCode.id == live_code.id, LiveCode.full_since.is_not(None))
            .values(full_since=None)
        )
    session.flush()
    return Scan(live_code, repo.get_group(session, chosen), row.qr_content_type is not None)


def serving(session: Session, live_code: LiveCode, group_ids: list[int]) -> list[int]:
    """Those of the code's groups, in rotation order, that are active and still its owner's."""
    ok = {g.id for g in repo.groups_by_id(session, group_ids) if routes_into(live_code, g)}
    return [g for g in group_ids if g in ok]


def routes_into(live_code: LiveCode, group: Group) -> bool:
    """Whether the code still sends visitors to ``group``: active and still the code owner's. The scans
    and the listings (``live_views``) judge by this one rule."""
    return group.status is GroupStatus.ACTIVE and group.owner_member_id == live_code.owner_member_id


def _announce_full(
    session: Session, live: LiveCode, alert: LiveCodeAlert, group_ids: list[int], counts: dict[int, int]
) -> None:
    """Tell the listeners outside the app (webhook deliveries, group robots) that every group is full."""
    data = {
        "alert_id": alert.id,
        "program_id": live.program_id,
        "live_code": live.code,
        "owner_member_id": live.owner_member_id,
        "capacity": live.capacity,
        "groups": [{"group_id": g, "members": counts.get(g, 0)} for g in group_ids],
        "full_since": alert.full_since.isoformat(),
    }
    publish(session, Event(type=LIVE_CODE_FULL, at=alert.created_at, data=data))


def upload_qr(
    session: Session, *, live_code: LiveCode, group_id: int, data: bytes, actor: Actor, at: datetime
) -> LiveCodeGroup:
    """Store a group's own join QR image: a PNG or JPEG that decodes, at most 1 MB. The group must still
    be the code owner's (one handed over to another member is theirs now: 404 as another's group)."""
    rows = live_repo.live_code_groups(session, [live_code.id])[live_code.id]
    row = next((r for r in rows if r.group_id == group_id), None)
    group = repo.get_group(session, group_id) if row is not None else None
    if row is None or group is None or group.owner_member_id != live_code.owner_member_id:
        raise NotFound(Message("This group does not exist."), code="group_not_found")
    if len(data) > live_rules.MAX_QR_BYTES:
        raise Invalid(Message("The QR image is larger than 1 MB."), code="image_too_large")
    content_type = live_rules.image_type(data)
    if content_type is None or not _decodes(data):
        raise Invalid(Message("The QR image must be a PNG or JPEG picture."), code="image_type")
    row.qr_image, row.qr_content_type, row.qr_uploaded_at = data, content_type, at
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="live_code.qr_upload",
        entity="live_code",
        entity_id=live_code.id,
        after={"group_id": group_id, "bytes": len(data), "content_type": content_type},
        at=at,
    )
    return row


def _decodes(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        return False
    return True
