"""The share-link redirect's check of a signed ``customer_ref`` (``links.click_signing``): the reference
is taken only with a fresh signature of one of the program's integration secrets (``ClickKeys``).

A refused reference never stops the redirect: the click is kept without a customer (no touch, no
binding) and counted in ``neigou_share_link_refs_refused`` by reason, never with the reference.
Malformed, missing, stale and future signatures are refused before any key is looked up, so a flood of
made-up references costs no query; a program's keys are read at most once per cache period, and a
database that does not answer then leaves the click anonymous (``unchecked``), never the visitor's error.
"""

from __future__ import annotations

import structlog
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from neigou.integrations.click_keys import ClickKeys
from neigou.kit.clock import utcnow
from neigou.kit.logging import error_summary
from neigou.kit.metrics import CLICK_REFS_REFUSED
from neigou.links import click_signing
from neigou.links.cache import CachedLink

log = structlog.get_logger(__name__)


async def signed_ref(request: Request, link: CachedLink, ref: str) -> str | None:
    """``ref`` (the click's ``customer_ref`` already trimmed and bounded) when the query signs it for
    ``link``, else None (counted and logged by reason)."""
    query = request.query_params
    raw = query.get(click_signing.REF_PARAM, "")
    signature = query.get(click_signing.SIGNATURE_PARAM)
    reason, sent = click_signing.timing(
        query.get(click_signing.TIMESTAMP_PARAM),
        signature,
        now=utcnow().timestamp(),
        skew=request.app.state.settings.clock_skew_seconds,
    )
    if reason is None and signature is not None:
        keys: ClickKeys = request.app.state.click_keys
        secrets = keys.peek(link.program_id)
        if secrets is None:
            try:
                secrets = await run_in_threadpool(keys.load, link.program_id)
            except SQLAlchemyError as exc:  # the visitor still goes to the page, as an anonymous click
                log.warning("links.click_keys_unread", error=error_summary(exc))
                secrets = None
        if secrets is None:
            reason = click_signing.UNCHECKED
        elif not secrets:
            reason = click_signing.NO_KEY
        elif not click_signing.signed_by(
            secrets, code=link.code, customer_ref=raw, timestamp=sent, signature=signature
        ):
            reason = click_signing.BAD_SIGNATURE
    if reason is None:
        return ref
    CLICK_REFS_REFUSED.labels(reason).inc()
    log.info("links.click_ref_refused", reason=reason, program_id=link.program_id, link_id=link.id)
    return None
