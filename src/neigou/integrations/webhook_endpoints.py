"""Signed order webhooks from shops: ``POST /webhooks/v1/integrations/{id}``.

They authenticate by signature (Standard Webhooks, see ``integrations.standard``, or the first
scheme, ``integrations.signing``), not by bearer token, so they live outside
``/api/v1``. The envelope is ``{"type": "order.paid" | "order.completed" | "order.refunded",
"data": {…}}`` where data is the body of the matching API call (plus ``external_id`` for
completions and refunds); the program is the integration's. Its signature verified, the request's
session is scoped to the organization of the integration's program, as a token of that organization
would be: another organization's skus, links, events and orders do not exist for it, and only its own
organization's promotions price its orders. An order's marketing consent is recorded as the API
records it (``orders.consent``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response, status

from neigou.integrations import service as integrations
from neigou.integrations import signing, standard
from neigou.kit.deps import SessionDep
from neigou.kit.instants import MoneyClockDep
from neigou.kit.sealed import Sealer
from neigou.orders import service
from neigou.orders.consent import given_consent, record_order_consent
from neigou.orders.models import OrderSource
from neigou.orders.views import order_in, order_out, refund_out

router = APIRouter(prefix="/webhooks/v1", tags=["webhooks"])


async def _raw_body(request: Request) -> bytes:
    """The body as sent (its signature covers these bytes), read on the event loop before the
    endpoint, which runs in a thread: a database wait there never holds up the loop."""
    return await request.body()


@router.post("/integrations/{integration_id}", status_code=status.HTTP_200_OK)
def receive(
    *,
    integration_id: int,
    request: Request,
    response: Response,
    body: Annotated[bytes, Depends(_raw_body)],
    session: SessionDep,
    clock: MoneyClockDep,
    webhook_id: Annotated[str | None, Header(alias=standard.ID_HEADER)] = None,
    webhook_timestamp: Annotated[str | None, Header(alias=standard.TIMESTAMP_HEADER)] = None,
    webhook_signature: Annotated[str | None, Header(alias=standard.SIGNATURE_HEADER)] = None,
    timestamp: Annotated[str | None, Header(alias=signing.TIMESTAMP_HEADER)] = None,
    signature: Annotated[str | None, Header(alias=signing.SIGNATURE_HEADER)] = None,
) -> dict[str, Any]:
    """Verify and apply one order event; the answer is the order (or refund) as stored."""
    now = clock.now
    presented = standard.Presented(webhook_id, webhook_timestamp, webhook_signature, timestamp, signature)
    integration, envelope = integrations.verified(
        session,
        integration_id=integration_id,
        presented=presented,
        body=body,
        sealer=Sealer.from_settings(request.app.state.settings),
        now=now,
    )
    actor = integrations.actor_of(integration)
    if envelope.type == integrations.PAID:
        data = integrations.parse_order(integration, envelope.data)
        clock.at(data.paid_at, field="paid_at")
        consent = given_consent(data, clock)  # checked before anything is taken, like the API's
        order, created = service.take_order(
            session,
            data=order_in(data),
            secret_key=request.app.state.settings.secret_key,
            source=OrderSource.WEBHOOK,
            actor=actor,
            now=now,
        )
        record_order_consent(
            session, order=order, created=created, customer_ref=data.customer_ref, consent=consent, at=now
        )
        response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return order_out(session, order).model_dump(mode="json")
    if envelope.type == integrations.COMPLETED:
        external_id, done = integrations.parse_complete(envelope.data)
        order = service.find_order(
            session, external_id=external_id, program_id=integration.program_id, lock=True
        )
        at = clock.at(done.at)
        return order_out(session, service.complete(session, order=order, at=at, actor=actor)).model_dump(
            mode="json"
        )
    external_id, refund = integrations.parse_refund(envelope.data)
    order = service.find_order(session, external_id=external_id, program_id=integration.program_id, lock=True)
    row, created = service.refund(
        session,
        order=order,
        refund_id=refund.refund_id,
        amount_fen=refund.amount_fen,
        at=clock.at(refund.at),
        actor=actor,
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return refund_out(row, order).model_dump(mode="json")
