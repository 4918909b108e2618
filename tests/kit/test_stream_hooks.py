"""One hook runs where an entry leaves its stream: acknowledged once stored, or moved to the dead letters.

``kit.streams.AckHook`` adds Lua to the script that deletes the entry, only when that script's XDEL
removed it (a second delivery's deletion finds nothing), so a count of the stream's entries kept by a
domain is taken down in one place. The scripts are registered once per client, not on every move."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit import dead_letters
from neigou.kit.streams import AckHook, Entry, StreamWriter, acknowledge_entries
from tests.local_redis import local_redis

# Counts each removed entry under its field ``k`` and lists the ids removed.
COUNTING = """
local function on_removed(keys, id, args)
  redis.call('HINCRBY', keys[1], args[1], 1)
  redis.call('RPUSH', keys[2], id)
end
"""


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    client = local_redis()
    yield client
    client.close()


@pytest.fixture
def key(client: redis.Redis) -> Iterator[str]:
    key = f"neigou-test:{uuid.uuid4().hex[:8]}:hooked"
    yield key
    client.delete(key, dead_letters.dead_key(key), f"{key}:counts", f"{key}:removed")


def _store(session: Session, entries: list[Entry]) -> int:
    if any(fields[b"k"] == b"bad" for _, fields in entries):
        raise ValueError("refused")
    return len(entries)


def _writer(client: redis.Redis, key: str, factory: sessionmaker[Session]) -> StreamWriter:
    writer = StreamWriter(client, key, "hooked", factory, _store, name="a")
    writer.claim_idle_ms = 0  # each drain delivers a pending entry again
    writer.ack_hook = AckHook(COUNTING, (f"{key}:counts", f"{key}:removed"), lambda e: [e[1][b"k"]])
    return writer


def _counts(client: redis.Redis, key: str) -> dict[bytes, bytes]:
    found: Any = client.hgetall(f"{key}:counts")
    return dict(found)


def test_the_hook_runs_once_per_entry_stored_or_moved_to_the_dead_letters(
    client: redis.Redis, key: str, factory: sessionmaker[Session]
) -> None:
    writer = _writer(client, key, factory)
    ids: list[bytes] = [client.xadd(key, {"k": k}) for k in ("good", "bad", "good")]  # type: ignore[misc]
    for _ in range(dead_letters.MAX_DELIVERIES):
        writer.drain_once()
    assert client.xlen(key) == 0
    assert client.xlen(dead_letters.dead_key(key)) == 1
    assert _counts(client, key) == {b"good": b"2", b"bad": b"1"}
    removed: Any = client.lrange(f"{key}:removed", 0, -1)
    assert sorted(removed) == sorted(ids)
    # A second acknowledgement (a batch delivered again) deletes nothing and runs no hook.
    hook = writer.ack_hook
    acknowledge_entries(client, key, "hooked", [(ids[0], {b"k": b"good"})], hook=hook)
    assert _counts(client, key) == {b"good": b"2", b"bad": b"1"}


def test_an_entry_another_consumer_acknowledged_runs_no_hook_when_moved(
    client: redis.Redis, key: str, factory: sessionmaker[Session]
) -> None:
    writer = _writer(client, key, factory)
    client.xadd(key, {"k": "bad"})
    for _ in range(dead_letters.MAX_DELIVERIES - 1):
        writer.drain_once()
    assert _counts(client, key) == {}
    writer.drain_once()
    assert _counts(client, key) == {b"bad": b"1"}


def test_the_move_is_registered_once_per_client(
    client: redis.Redis, key: str, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """It was registered (its text hashed, a script object made) at every entry moved."""
    registered: list[str] = []
    register = client.register_script

    def counting(lua: str) -> Any:
        registered.append(lua)
        return register(lua)

    monkeypatch.setattr(client, "register_script", counting)
    writer = StreamWriter(client, key, "plain", factory, _store, name="a")
    writer.claim_idle_ms = 0
    for _ in range(2):
        client.xadd(key, {"k": "bad"})
    for _ in range(dead_letters.MAX_DELIVERIES + 1):
        writer.drain_once()
    assert client.xlen(dead_letters.dead_key(key)) == 2
    assert len(registered) <= 1
