"""Where the web layer's files live inside the package, and which of its paths are not pages."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
# Paths whose callers are programs, never a browser: the API (bearer tokens only), the signed
# webhooks, the static files, and the probes (``PROBES``, whole paths). They read no cookie (no CSRF
# check) and every refusal is problem+json; any other path is a page's, whose refusals a person reads
# as a page in their language (``web.forms``, ``web.body_limit``, ``web.error_pages``).
NOT_PAGES = ("/api/", "/webhooks/", "/static/")
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
# What a page fetches for itself, never read as a page: the images it shows (its ``<img>``, or saved by a
# download link: the drawn product tiles, the QR codes and posters, ``….png``, a live code's uploaded join
# QR) and the event streams its script opens (``…/stream``). Their refusals are problem+json with a code
# too (every such route is a GET: no form is ever sent to one).
FETCHED = re.compile(r"^/img/|\.png$|^/g/[^/]+/qr/[^/]+$|/stream$")


def is_page(path: str) -> bool:
    """Whether ``path`` is a page's (see ``NOT_PAGES``, ``PROBES`` and ``FETCHED``): the one test of
    whether a refusal is a page in the reader's language or problem+json."""
    return not path.startswith(NOT_PAGES) and path not in PROBES and FETCHED.search(path) is None
