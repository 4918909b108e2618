"""A webhook signed with both schemes (Standard Webhooks and the first one) is known by both signatures:
sent again with either scheme's headers stripped, inside the window, it is a replay (409
``webhook_replayed``) and changes nothing, whichever scheme the first delivery was verified by."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.integrations import signing, standard
from neigou.kit.clock import utcnow
from tests.conftest import row_counts
from tests.integrations.test_standard_webhooks import _integration, _paid, _post, _standard
from tests.orders.builders import build

STANDARD = ("webhook-id", "webhook-timestamp", "webhook-signature")
LEGACY = (signing.TIMESTAMP_HEADER, signing.SIGNATURE_HEADER)


def _without(headers: dict[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k not in names}


@pytest.mark.parametrize("legacy_skew", [timedelta(0), timedelta(seconds=7)])
def test_a_request_signed_both_ways_is_replayed_by_neither_scheme_alone(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], legacy_skew: timedelta
) -> None:
    w = build(client, operator, factory)
    shop = _integration(client, operator, w)
    secret = shop["inbound_secret"]
    body = json.dumps(_paid(w, "BOTH-1")).encode()
    both = {**_standard(secret, "msg_both", body), **signing.headers(secret, utcnow() - legacy_skew, body)}
    taken = _post(client, shop["id"], body, both)
    assert taken.status_code == 201, taken.text
    before = row_counts(factory)
    for name, headers in {
        "standard only": _without(both, LEGACY),
        "first scheme only": _without(both, STANDARD),
        "both": both,
    }.items():
        replay = _post(client, shop["id"], body, headers)
        assert (replay.status_code, replay.json()["code"]) == (409, "webhook_replayed"), name
        assert replay.headers["content-type"] == "application/problem+json", name
    assert row_counts(factory) == before


def test_a_request_taken_by_the_first_scheme_is_known_when_the_other_is_added_back(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    shop = _integration(client, operator, w)
    secret = shop["inbound_secret"]
    body = json.dumps(_paid(w, "BOTH-2")).encode()
    both = {**_standard(secret, "msg_both_2", body), **signing.headers(secret, utcnow(), body)}
    # The first delivery carried the first scheme only (a proxy dropped the others, say).
    taken = _post(client, shop["id"], body, _without(both, STANDARD))
    assert taken.status_code == 201, taken.text
    before = row_counts(factory)
    replay = _post(client, shop["id"], body, both)
    assert (replay.status_code, replay.json()["code"]) == (409, "webhook_replayed")
    assert row_counts(factory) == before
    # A new message of the same order, signed anew, is no replay: applied idempotently.
    again = {
        **_standard(secret, "msg_both_3", body),
        **signing.headers(secret, utcnow() + timedelta(seconds=1), body),
    }
    assert _post(client, shop["id"], body, again).status_code == 200


def test_replay_keys_are_the_signatures_that_hold() -> None:
    secret = standard.new_secret()
    body = b'{"type": "order.paid", "data": {}}'
    both = {**_standard(secret, "msg_k", body), **signing.headers(secret, utcnow(), body)}
    presented = standard.Presented(
        both["webhook-id"],
        both["webhook-timestamp"],
        both["webhook-signature"],
        both[signing.TIMESTAMP_HEADER],
        both[signing.SIGNATURE_HEADER],
    )
    keys = standard.replay_keys(secret, presented, body=body)
    assert len(keys) == 2
    outcome = standard.check(secret, presented, body=body, now=utcnow())
    assert outcome == ("ok", keys[0])
    legacy_only = standard.Presented(None, None, None, presented.timestamp, presented.signature)
    assert signing.verify(
        secret, timestamp=presented.timestamp, signed=presented.signature, body=body, now=utcnow()
    ) == (
        "ok",
        keys[1],
    )
    assert standard.replay_keys(secret, legacy_only, body=body) == [keys[1]]
    # A signature that does not hold is no key: a sender's stray header makes no receipt.
    forged = standard.Presented(
        presented.webhook_id,
        presented.webhook_timestamp,
        presented.webhook_signature,
        presented.timestamp,
        "v1=00",
    )
    assert standard.replay_keys(secret, forged, body=body) == [keys[0]]
    assert standard.replay_keys(standard.new_secret(), presented, body=body) == []
