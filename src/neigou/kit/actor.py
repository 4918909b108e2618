"""Who is acting: recorded on audit entries and passed to services that write."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The party behind a write: an operator, an integration, a member, the CLI or the system."""

    kind: str
    ref: str
    label: str = ""

    @property
    def audited(self) -> bool:
        """Operator, integration and merchant writes (and the CLI acting as operator) are audited."""
        return self.kind in {"operator", "integration", "merchant", "cli", "system"}


SYSTEM = Actor(kind="system", ref="system", label="scheduler")
