"""programs: every stored time zone is one the API accepts

A program's zone is checked against ``kit.clock.zone_names``: the tz database's zones and links, but
not ``Factory`` (a zone for unconfigured machines), ``localtime`` (the machine's own setting),
``posixrules``, or the ``posix/…`` and ``right/…`` copies of every zone (``right/`` counting leap
seconds into its clock). Anything else is refused with 422 ``invalid_timezone``. Programs stored with such
a name before that check kept it, so an edit that sent the stored zone back (the console's form does)
was refused. ``programs.timezone`` is the only column that stores a zone (organizations have none).
This revision rewrites each stored zone the check refuses:

- ``posix/X`` and ``right/X`` become ``X`` when ``X`` is accepted: the program meant the zone they copy.
- ``Factory``, ``localtime``, ``posixrules`` and their copies (``posix/Factory``) become the deployment's
  default zone, ``NEIGOU_DEFAULT_TIMEZONE`` of the
  process that migrates (``Asia/Shanghai`` unless set). It is the zone a program created without one is
  given (``programs.service.create_program``) and the one pages that span programs show times in, so
  such a program now keeps its days as a new program would. None of these names is a place: ``Factory``
  is UTC with a made-up abbreviation and ``localtime`` whatever the server was set to. Run it with the
  deployment's settings, and check the programs named in the log.
- A name the migrating machine's zone database does not hold (``Mars/Olympus``, or a zone newer than
  that machine's tz data) is left as it is and logged: it may be a zone the web servers know, and a
  rewrite would not be undone.

The check is frozen here as it was when this revision was written, never ``kit.clock``'s, which may
change after it. One UPDATE per refused name (``WHERE timezone = :name``) on SQLite and PostgreSQL:
only values change, no table is rebuilt.

Downgrading changes nothing: which program had which refused name is not kept, and the API refuses
those names anyway.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-05 20:00:00.000000
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from zoneinfo import available_timezones

import sqlalchemy as sa
from alembic import op

from neigou.kit.settings import get_settings

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

# kit.clock's refused names, frozen: files of the zone database that are no place's zone.
NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})
COPIES = ("posix/", "right/")


def accepted() -> frozenset[str]:
    """The names ``kit.clock.zone_names`` accepted when this revision was written."""
    return frozenset(n for n in available_timezones() if n not in NOT_ZONES and not n.startswith(COPIES))


def replacement(name: str, zones: frozenset[str], default: str) -> str:
    """What a stored ``name`` the check refuses becomes: the zone a ``posix/`` or ``right/`` copy copies
    when that is accepted, else ``default``."""
    for prefix in COPIES:
        if name.startswith(prefix) and name[len(prefix) :] in zones:
            return name[len(prefix) :]
    return default


def upgrade() -> None:
    default = get_settings().default_timezone
    zones = accepted()
    programs = sa.table("programs", sa.column("timezone", sa.String()))
    conn = op.get_bind()
    stored = conn.execute(sa.select(programs.c.timezone).distinct()).scalars().all()
    for name in sorted(set(stored) - zones):
        if name not in NOT_ZONES and not name.startswith(COPIES):
            log.warning("programs.timezone: %r is no zone this machine knows; left as it is", name)
            continue
        new = replacement(name, zones, default)
        done = conn.execute(programs.update().where(programs.c.timezone == name).values(timezone=new))
        log.warning("programs.timezone: %r refused, %d programs now keep %r", name, done.rowcount, new)


def downgrade() -> None:
    # Nothing to undo: which program had which refused name is not kept, and the API refuses them.
    pass
