"""Integrations (shops) and the orders they send as signed webhooks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.groups.webhook import require_sendable
from neigou.integrations import signing, standard
from neigou.integrations.models import Integration, WebhookDelivery, WebhookReceipt
from neigou.integrations.schemas import IntegrationBody
from neigou.kit.actor import Actor
from neigou.kit.db import get_or_404, insert_unique
from neigou.kit.errors import Conflict, Forbidden, Invalid, Unauthorized, Unavailable
from neigou.kit.field_errors import INVALID_EXTERNAL_ID
from neigou.kit.hidden_marks import INVALID_CUSTOMER_REF, customer_ref_refusal
from neigou.kit.i18n import Message
from neigou.kit.instants import numeric_detail, refusal_code
from neigou.kit.jobs import job
from neigou.kit.json_ids import IdNumber, require_id_text
from neigou.kit.json_input import loads_untrusted
from neigou.kit.paging import Cursor, CursorPaged, Page, Paged, paginate, paginate_before
from neigou.kit.scoping import Scope, use_scope
from neigou.kit.sealed import Sealer
from neigou.kit.urls import masked_url
from neigou.orders.schemas import CompleteBody, ExternalId, OrderBody, RefundBody
from neigou.organizations.models import Organization
from neigou.programs.models import Program
from neigou.programs.service import require_program


@dataclass(frozen=True)
class Created:
    """A shop just registered, with its secrets in the clear: they are shown this once."""

    row: Integration
    inbound_secret: str
    outbound_secret: str


def create(
    session: Session,
    *,
    program_id: int,
    data: IntegrationBody,
    sealer: Sealer,
    allow_private: bool,
    actor: Actor,
    at: datetime,
) -> Created:
    """Register a shop for a program, with fresh inbound and outbound secrets, sealed with ``sealer``
    like its outbound URL (a public address's, unless ``allow_private``: ``require_sendable``)."""
    require_program(session, program_id)
    url = data.outbound_url
    require_sendable(url, field="outbound_url", allow_private=allow_private)
    inbound, outbound = standard.new_secret(), standard.new_secret()
    row = Integration(
        program_id=program_id,
        name=data.name,
        inbound_secret_sealed=sealer.seal(inbound),
        outbound_secret_sealed=sealer.seal(outbound),
        outbound_url_sealed=sealer.seal(url) if url else None,
        outbound_url_masked=masked_url(url) if url else None,
        active=True,
        created_at=at,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="integration.create",
        entity="integration",
        entity_id=row.id,
        after={"program_id": row.program_id, "name": row.name, "outbound_url": row.outbound_url_masked},
        at=at,
    )
    return Created(row, inbound, outbound)


def require(session: Session, integration_id: int) -> Integration:
    """The integration or a 404."""
    return get_or_404(
        session,
        Integration,
        integration_id,
        code="integration_not_found",
        detail=Message("This integration does not exist."),
    )


class IntegrationInactive(Forbidden):
    """A deactivated integration, refused where its orders would come in by a caller already known (a
    platform feed called with a token, a poll, an exported file): 403 ``integration_inactive``. The
    caller sees the integration (another organization's is a 404 before this), so the answer tells what
    holds. Only the signed webhook, whose sender is known by nothing but the secret, says no more than
    of an unknown integration (``verified``: 401 ``bad_signature``)."""

    code = "integration_inactive"


UNKNOWN_INTEGRATION = Message("Unknown integration.")
INACTIVE_INTEGRATION = Message("This integration is deactivated; its orders are not taken in.")


def require_active(session: Session, integration_id: int) -> Integration:
    """The integration, a 404 when it does not exist, ``IntegrationInactive`` once deactivated."""
    integration = require(session, integration_id)
    if not integration.active:
        raise IntegrationInactive(INACTIVE_INTEGRATION)
    return integration


def page_of_program(session: Session, program_id: int, page: Page) -> Paged[Integration]:
    """A page of a program's integrations, oldest first, and their number."""
    query = select(Integration).where(Integration.program_id == program_id).order_by(Integration.id)
    return paginate(session, query, page)


def deliveries(session: Session, integration_id: int, cursor: Cursor) -> CursorPaged:
    """An integration's outbound deliveries, newest first, older than the cursor."""
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.integration_id == integration_id)
        .order_by(WebhookDelivery.id.desc())
    )
    return paginate_before(session, query, WebhookDelivery.id, cursor)


def actor_of(integration: Integration) -> Actor:
    """An integration as recorded in the audit log."""
    return Actor(kind="integration", ref=f"integration:{integration.id}", label=integration.name)


class Envelope(BaseModel):
    """A webhook: ``type`` is order.paid, order.completed or order.refunded."""

    model_config = ConfigDict(extra="forbid")

    type: str
    data: dict[str, Any]


M = TypeVar("M", bound=BaseModel)
NOT_AN_ENVELOPE = Message("The body is not a webhook envelope.")
PAID, COMPLETED, REFUNDED = "order.paid", "order.completed", "order.refunded"


def verified(
    session: Session,
    *,
    integration_id: int,
    presented: standard.Presented,
    body: bytes,
    sealer: Sealer,
    now: datetime,
) -> tuple[Integration, Envelope]:
    """Check the signature, the clock and replays, then parse the envelope. Once the signature
    holds, the session acts for the integration's organization (:func:`act_for`). The inbound secret is
    opened with ``sealer``; one no configured key opens is our configuration's fault, not the
    sender's: logged by name without its value and answered 503, so the shop retries later."""
    integration = session.get(Integration, integration_id)
    organization_id = _live_organization(session, integration) if integration and integration.active else None
    if integration is None or organization_id is None:
        raise Unauthorized(UNKNOWN_INTEGRATION, code="bad_signature")
    secret = sealer.unseal(integration.inbound_secret_sealed)
    if secret is None:  # sealed with a key no longer configured
        # Answered with Unavailable's fixed Retry-After (300 s): the keys are read when the process
        # starts, so nothing here knows when the key will be back (docs/webhooks.md).
        structlog.get_logger(__name__).warning(
            "integrations.inbound_secret_unopened", integration_id=integration.id
        )
        raise Unavailable(
            Message("This integration's webhooks cannot be verified right now; retry later."),
            code="webhook_secret_unavailable",
        )
    outcome = standard.check(secret, presented, body=body, now=now)
    if outcome == ("error", standard.NOT_TEXT):  # signed, but not text: a bad body, as one not JSON
        raise Invalid(NOT_AN_ENVELOPE, code="validation_error")
    if outcome[0] == "error":
        messages = {
            "missing_signature": Message(
                "Sign the request: webhook-id, webhook-timestamp and webhook-signature (Standard Webhooks), or X-Neigou-Timestamp and X-Neigou-Signature."
            ),
            "stale_timestamp": Message("The timestamp is outside the 5-minute window."),
            "bad_signature": Message("The signature does not match."),
        }
        raise Unauthorized(messages[outcome[1]], code=outcome[1])
    act_for(session, organization_id)
    # The receipt is written with the event's effects: a refused event (a time ahead, an unknown
    # order) rolls it back with everything else, so a refusal changes nothing.
    # Known by every scheme's signature it carries (``standard.replay_keys``): the same request sent
    # again with one scheme's headers stripped is the replay it is.
    keys = dict.fromkeys([outcome[1], *standard.replay_keys(secret, presented, body=body)])
    replayed = Conflict(Message("This webhook was delivered before."), code="webhook_replayed")
    for key in keys:
        insert_unique(
            session, WebhookReceipt(integration_id=integration.id, signature=key, received_at=now), replayed
        )
    try:
        envelope = Envelope.model_validate(loads_untrusted(body))
    except (ValueError, ValidationError) as exc:
        raise Invalid(NOT_AN_ENVELOPE, code="validation_error") from exc
    if envelope.type not in (PAID, COMPLETED, REFUNDED):
        raise Invalid(
            Message("{field} is not an event type this webhook takes.", field="type"), code="unknown_event"
        )
    return integration, envelope


def _live_organization(session: Session, integration: Integration) -> int | None:
    """The organization of the integration's program, or None once it is deleted: deleting an
    organization stops its tokens at once, and its integrations' webhooks with them. One statement."""
    row = session.execute(
        select(Organization.id, Organization.deleted_at)
        .join(Program, Program.organization_id == Organization.id)
        .where(Program.id == integration.program_id)
    ).one()
    return None if row.deleted_at is not None else int(row.id)


def act_for(session: Session, organization_id: int) -> None:
    """Scope ``session`` to the organization of the integration's program, as the authenticator
    scopes a token's caller: a verified webhook then reads and writes only that organization's rows
    (its products, promotions, coupons, members, orders) and its audit entries belong to it."""
    use_scope(session, Scope(organization_id))


def parse_order(integration: Integration, data: dict[str, Any]) -> OrderBody:
    """An order.paid payload, bound to the integration's program."""
    payload = {"program_id": integration.program_id, **data}
    body = _validated(OrderBody, payload)
    if body.program_id != integration.program_id:
        raise Invalid(Message("This integration feeds another program."), code="other_program")
    return body


class _Named(BaseModel):
    """The order a completion or a refund names, checked as ``order.paid`` checks it (``ExternalId``: a
    number as its text, something besides spaces, at most its length once trimmed)."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    external_id: Annotated[ExternalId, IdNumber]


def _named(data: dict[str, Any]) -> str:
    """The external id a completion or a refund names, checked as ``order.paid`` checks it and given on as
    sent: ``orders.service.find_order`` looks it up as sent, then trimmed, so it finds both the order its
    paid event stored (trimmed) and one a JSON-lines file stored with its spaces."""
    named = _validated(_Named, {"external_id": data.get("external_id")})
    require_id_text(named.external_id, "external_id", INVALID_EXTERNAL_ID)  # a float: "write ids as text"
    return str(data["external_id"])


def parse_complete(data: dict[str, Any]) -> tuple[str, CompleteBody]:
    """An order.completed payload: the external id and the completion time."""
    return _named(data), _validated(CompleteBody, {k: v for k, v in data.items() if k != "external_id"})


def parse_refund(data: dict[str, Any]) -> tuple[str, RefundBody]:
    """An order.refunded payload: the external id and the refund."""
    external_id = _named(data)
    body = _validated(RefundBody, {k: v for k, v in data.items() if k != "external_id"})
    require_id_text(body.refund_id, "refund_id", "invalid_refund_id")
    return external_id, body


def _validated(model: type[M], payload: dict[str, Any]) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        named = [(".".join(str(p) for p in e["loc"]), e["type"]) for e in exc.errors()]
        # Refused with the code the API gives the same body (a number or an out-of-range time given for a time).
        code = refusal_code([kind for _, kind in named])
        numeric = numeric_detail(named)
        if numeric is not None:
            raise Invalid(numeric, code=code) from exc
        fields = ", ".join(field for field, _ in named)
        if named and all(kind == INVALID_CUSTOMER_REF for _, kind in named):
            detail = customer_ref_refusal(fields, [e.get("ctx") for e in exc.errors()])
            raise Invalid(detail, code=INVALID_CUSTOMER_REF) from exc
        raise Invalid(Message("Invalid fields: {fields}.", fields=fields), code=code) from exc


@job("orders.purge_webhook_receipts", cron={"minute": "41", "hour": "4"}, retry_scheduled=True)
def purge_receipts(session: Session, _payload: dict[str, Any], at: datetime) -> None:
    """Forget signatures older than the tolerance window: a replay that old fails on its timestamp."""
    session.execute(
        delete(WebhookReceipt).where(
            WebhookReceipt.received_at < at - timedelta(seconds=2 * signing.TOLERANCE_SECONDS)
        )
    )
