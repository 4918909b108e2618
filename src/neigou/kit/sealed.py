"""Values kept encrypted at rest (a payee's account number): Fernet from ``cryptography``.

``NEIGOU_PAYEE_KEYS`` holds one or more Fernet keys separated by commas; the first seals, every one
opens, so a key is rotated by putting the new one first and re-sealing at leisure. Unset, a key is
derived from ``NEIGOU_SECRET_KEY`` so a development setup works, and the app logs a warning: a
production deployment sets its own keys (generate one with
``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from neigou.kit.settings import Settings


def derived_key(secret_key: str, purpose: str = "payee-seal") -> str:
    """A Fernet key derived from the secret key for one ``purpose`` (payee accounts' development
    default; the console's one-time display of a new secret)."""
    digest = hashlib.sha256(f"neigou-{purpose}:".encode() + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


class Sealer:
    """Seals text into a Fernet token and opens it again."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in keys])

    @classmethod
    def from_settings(cls, settings: Settings) -> Sealer:
        """The configured keys, or the development key derived from the secret key."""
        return cls(settings.sealing_keys or [derived_key(settings.secret_key)])

    def seal(self, text: str) -> str:
        """``text`` encrypted and authenticated (a different token each time)."""
        return self._fernet.encrypt(text.encode()).decode()

    def unseal(self, token: str, *, max_age: int | None = None) -> str | None:
        """The text sealed in ``token``; None when no configured key opens it, or when it was sealed
        more than ``max_age`` seconds ago."""
        try:
            return self._fernet.decrypt(token.encode(), ttl=max_age).decode()
        except InvalidToken:
            return None
