"""A webhook that waits for the database waits in a thread, never on the event loop.

Before, the receiving endpoint was a coroutine that did its database work on the event loop: a webhook
whose statement waited for a lock (another webhook's uncommitted order, SQLite's write lock) held up
every request of the process, liveness included, and the transaction it waited for could not commit,
since its commit needed the loop too. A burst of one shop's retries froze the server: on SQLite each
waiter blocked the loop for the 30 s busy timeout in turn, on PostgreSQL for good.

Here another transaction holds a lock the webhook's work needs (SQLite's write lock; on PostgreSQL its
integration's table); once the webhook has begun its statements, ``/healthz`` must answer while the
webhook still waits.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from neigou.kit.clock import utcnow
from neigou.kit.db import hold_write_lock
from tests.orders.builders import SKU, build, order_body

WAIT_S = 60.0  # generous: a loaded machine only answers later; a held-up loop never answers


def _signed(secret: str, body: bytes) -> dict[str, str]:
    sent = utcnow()
    return {
        "content-type": "application/json",
        "webhook-id": "msg_waits_1",
        "webhook-timestamp": str(int(sent.timestamp())),
        "webhook-signature": Webhook(secret).sign("msg_waits_1", sent, body.decode()),
    }


def _hold_integrations(session: Session) -> None:
    """Hold what the webhook's first statement (reading its integration) must wait for."""
    if session.get_bind().dialect.name == "sqlite":
        hold_write_lock(session)  # its session begins with the write lock (the webhook records itself)
    else:
        session.execute(text("LOCK TABLE integrations IN ACCESS EXCLUSIVE MODE"))


def test_liveness_answers_while_a_webhook_waits_for_a_lock(
    app: FastAPI, client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    created = client.post(
        f"/api/v1/programs/{w.program_id}/integrations", json={"name": "品牌商城"}, headers=operator
    )
    assert created.status_code == 201, created.text
    shop = created.json()
    data = {k: v for k, v in order_body(w, "WAITS-1", (SKU, 1, 10_000)).items() if k != "program_id"}
    body = json.dumps({"type": "order.paid", "data": data}).encode()

    engine = app.state.session_factory.kw["bind"]
    began = threading.Event()

    def watch(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "integrations" in statement:
            began.set()

    answers: dict[str, int] = {}

    def webhook() -> None:
        headers = _signed(shop["inbound_secret"], body)
        try:
            answers["webhook"] = client.post(
                f"/webhooks/v1/integrations/{shop['id']}", content=body, headers=headers
            ).status_code
        except Exception:  # a wait given up on (SQLite's busy timeout) ends it too
            answers["webhook"] = 0

    def healthz() -> None:
        answers["healthz"] = client.get("/healthz").status_code

    holder = factory()
    _hold_integrations(holder)
    event.listen(engine, "before_cursor_execute", watch)
    sender = threading.Thread(target=webhook, daemon=True)
    prober = threading.Thread(target=healthz, daemon=True)
    try:
        sender.start()
        assert began.wait(WAIT_S), "the webhook never read its integration"
        prober.start()
        prober.join(WAIT_S)
        assert answers.get("healthz") == 200, "liveness was held up by a webhook waiting for the database"
        assert "webhook" not in answers, "liveness answered only once the webhook had stopped waiting"
    finally:
        event.remove(engine, "before_cursor_execute", watch)
        holder.rollback()
        holder.close()
        sender.join(WAIT_S)
        prober.join(WAIT_S)
    assert answers["webhook"] == 201
