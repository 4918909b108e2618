"""The suite's own schedule: the files it runs first exist (a renamed file would silently fall back
to its place in the collection), and the collection starts with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.suite import HEAVIEST_FIRST

ROOT = Path(__file__).parent.parent


@pytest.mark.no_database
def test_every_file_run_first_exists() -> None:
    assert [path for path in HEAVIEST_FIRST if not (ROOT / path).is_file()] == []
    assert len(set(HEAVIEST_FIRST)) == len(HEAVIEST_FIRST)


@pytest.mark.no_database
def test_the_collection_starts_with_the_heaviest_files(request: pytest.FixtureRequest) -> None:
    items: list[pytest.Item] = request.session.items
    files = list(dict.fromkeys(item.nodeid.partition("::")[0] for item in items))
    first = [path for path in HEAVIEST_FIRST if path in files]
    assert files[: len(first)] == first
