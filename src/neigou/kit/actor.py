"""Who is acting: recorded on audit entries and passed to services that write."""

from __future__ import annotations

from dataclasses import dataclass

# The characters a record keeps of who acted (a campaign's creator, a review's or a risk case's decider):
# an API token's label may be longer (120), and is cut, never refused, when a record stores it.
STORED_LABEL_CHARS = 80


@dataclass(frozen=True)
class Actor:
    """The party behind a write: an operator, an integration, a member, the CLI or the system."""

    kind: str
    ref: str
    label: str = ""

    @property
    def stored_label(self) -> str:
        """The label as a record stores it: its first STORED_LABEL_CHARS characters."""
        return self.label[:STORED_LABEL_CHARS]

    @property
    def audited(self) -> bool:
        """Operator, integration and merchant writes (and the CLI acting as operator) are audited."""
        return self.kind in {"operator", "integration", "merchant", "cli", "system"}


SYSTEM = Actor(kind="system", ref="system", label="scheduler")
