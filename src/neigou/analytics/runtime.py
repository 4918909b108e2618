"""One analytics store per process and URL, opened (and its engine imported) on first use."""

from __future__ import annotations

import threading

from neigou.analytics.schema import ensure_schema
from neigou.analytics.store import Store, open_store, store_url
from neigou.kit.settings import Settings

_STORES: dict[str, Store] = {}
_LOCK = threading.Lock()


def store_for(settings: Settings) -> Store:
    """The process's store for ``settings`` (``NEIGOU_ANALYTICS_URL`` or the DuckDB file beside the data)."""
    url = store_url(settings)
    with _LOCK:
        store = _STORES.get(url)
        if store is None:
            store = open_store(url)
            with store.writing():
                ensure_schema(store)
            _STORES[url] = store
        return store


def close_all() -> None:
    """Close every store this process opened (shutdown, tests)."""
    with _LOCK:
        for store in _STORES.values():
            store.close()
        _STORES.clear()
