"""Migration 0032 rewrites the stored program time zones the API refuses: a ``posix/`` or ``right/`` copy
becomes the zone it copies, and ``Factory``, ``localtime`` and ``posixrules`` become the deployment's
default zone (``NEIGOU_DEFAULT_TIMEZONE``, Asia/Shanghai unless set); a name the zone database does not
hold is left as it is and logged (it may be newer than the migrating machine's tz data); accepted names,
links such as ``PRC`` included, are kept, and downgrading changes nothing; on SQLite and PostgreSQL."""

from __future__ import annotations

import logging

import pytest
from alembic import command
from sqlalchemy import Engine, text

from neigou.kit.clock import is_valid_timezone
from neigou.kit.settings import get_settings
from neigou.migrations.runner import alembic_config, upgrade
from tests.migrating import PROGRAMS_REVISION, programs_at
from tests.migration_templates import ScratchAt

# What each program kept before the check, and what it keeps after 0032 with the default settings.
STORED = {
    "tokyo": ("posix/Asia/Tokyo", "Asia/Tokyo"),
    "london": ("right/Europe/London", "Europe/London"),
    "utc": ("right/UTC", "UTC"),
    "factory": ("Factory", "Asia/Shanghai"),
    "localtime": ("localtime", "Asia/Shanghai"),
    "rules": ("posixrules", "Asia/Shanghai"),
    "copied_factory": ("posix/Factory", "Asia/Shanghai"),
    "mars": ("Mars/Olympus", "Mars/Olympus"),  # unknown here, maybe not to the servers: kept
    "shanghai": ("Asia/Shanghai", "Asia/Shanghai"),
    "prc": ("PRC", "PRC"),
    "pacific": ("US/Pacific", "US/Pacific"),
}


def _stored(engine: Engine, codes: dict[str, int]) -> dict[str, str]:
    with engine.connect() as conn:
        zones = {int(pid): str(zone) for pid, zone in conn.execute(text("SELECT id, timezone FROM programs"))}
    return {code: zones[program] for code, program in codes.items()}


def _programs_at_0031(url: str) -> tuple[Engine, dict[str, int]]:
    engine, ids = programs_at(url, "0031", *STORED)
    codes = dict(zip(STORED, ids, strict=True))
    with engine.begin() as conn:
        for code, (zone, _) in STORED.items():
            conn.execute(
                text("UPDATE programs SET timezone = :zone WHERE id = :id"), {"zone": zone, "id": codes[code]}
            )
    return engine, codes


def test_migration_0032_gives_every_program_a_zone_the_api_accepts(
    scratch_at: ScratchAt, caplog: pytest.LogCaptureFixture
) -> None:
    scratch_url = scratch_at(PROGRAMS_REVISION)
    engine, codes = _programs_at_0031(scratch_url)
    assert _stored(engine, codes) == {code: old for code, (old, _) in STORED.items()}
    with caplog.at_level(logging.WARNING):
        upgrade(scratch_url)
    expected = {code: new for code, (_, new) in STORED.items()}
    assert _stored(engine, codes) == expected
    assert all(is_valid_timezone(zone) for code, zone in expected.items() if code != "mars")
    assert "'Mars/Olympus' is no zone this machine knows; left as it is" in caplog.text
    assert "'Factory' refused, 1 programs now keep 'Asia/Shanghai'" in caplog.text
    assert "'right/Europe/London' refused, 1 programs now keep 'Europe/London'" in caplog.text
    assert "'PRC'" not in caplog.text  # accepted: untouched
    command.downgrade(alembic_config(scratch_url), "0031")  # nothing to undo
    assert _stored(engine, codes) == expected
    upgrade(scratch_url)  # and up again: nothing left to rewrite
    assert _stored(engine, codes) == expected
    engine.dispose()


def test_migration_0032_gives_refused_names_the_deployments_default_zone(
    scratch_at: ScratchAt, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEIGOU_DEFAULT_TIMEZONE", "Asia/Hong_Kong")
    get_settings.cache_clear()
    try:
        scratch_url = scratch_at(PROGRAMS_REVISION)
        engine, codes = _programs_at_0031(scratch_url)
        upgrade(scratch_url)
    finally:
        get_settings.cache_clear()
    # The names no zone copies take the configured default; the others are as with the default settings.
    defaulted = {code for code, (_, new) in STORED.items() if new == "Asia/Shanghai"} - {"shanghai"}
    assert _stored(engine, codes) == {
        code: "Asia/Hong_Kong" if code in defaulted else new for code, (_, new) in STORED.items()
    }
    engine.dispose()
