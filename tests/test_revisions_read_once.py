"""The suite reads the packaged revisions once per process (``tests/conftest.py``): every upgrade and
downgrade of a scratch database gets the same, already read, scripts; a config that sets more than the
location and URL is read afresh."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory

from neigou.migrations.runner import alembic_config

pytestmark = pytest.mark.no_database


def test_the_packaged_revisions_are_read_once() -> None:
    first = ScriptDirectory.from_config(alembic_config("sqlite:///one.db"))
    assert ScriptDirectory.from_config(alembic_config("postgresql:///two")) is first
    assert first.get_current_head() is not None


def test_another_config_is_read_afresh() -> None:
    packaged = ScriptDirectory.from_config(alembic_config("sqlite://"))
    other = alembic_config("sqlite://")
    other.set_main_option("truncate_slug_length", "20")
    fresh = ScriptDirectory.from_config(other)
    assert fresh is not packaged
    assert fresh.get_current_head() == packaged.get_current_head()
