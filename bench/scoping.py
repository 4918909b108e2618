"""Benchmark: what tenant scoping costs a scoped operator's reads, against the same reads by a
platform administrator (no criteria), in the same run on the same database.

    .venv/bin/python bench/scoping.py                  # SQLite file, 2 organizations × 50,000 members
    .venv/bin/python bench/scoping.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/scoping.py --smoke          # 2 × 2,000 members, for scripts/test

The reads are those the console and API make most: a page of a program's members with its total
(``paginate``), a member by id (``session.get``) and a join of members to their program. Each is
repeated, alternating unscoped and scoped; both must return the same rows (the data of the other
organization is never in a program of the first), and the scoped one must not see the other's rows.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from scratch import scratch_postgres
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.db import opened_database, transaction
from neigou.kit.paging import Page, paginate
from neigou.kit.scoping import Scope, use_scope
from neigou.migrations.runner import upgrade
from neigou.organizations.models import Organization
from neigou.programs import scope as _listener  # noqa: F401 - registers the scoping listener
from neigou.programs.models import AttributionModel, Member, Program


@contextmanager
def database(url: str | None) -> Iterator[str]:
    if url is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/scoping.db"
        return
    with scratch_postgres(url, "neigou_bench_scoping") as scratch:
        yield scratch


def seed(factory: sessionmaker[Session], members: int) -> tuple[int, int, int]:
    """Two organizations with a program of ``members`` members each; (organization, program, a member)."""
    now = utcnow()
    ids: list[tuple[int, int]] = []
    with transaction(factory) as session:
        for code in ("first", "second"):
            org = Organization(code=code, name=code, created_at=now)
            session.add(org)
            session.flush()
            program = Program(
                organization_id=org.id,
                code=f"{code}-program",
                name=code,
                timezone="Asia/Shanghai",
                attribution_model=AttributionModel.LAST_CLICK,
                attribution_window_days=30,
                freeze_days=7,
                max_levels=2,
                self_purchase_commission=True,
                created_at=now,
            )
            session.add(program)
            session.flush()
            rows = [{"program_id": program.id, "name": f"m{i}", "joined_at": now} for i in range(members)]
            session.execute(insert(Member), rows)
            ids.append((org.id, program.id))
        first_member = session.scalar(select(Member.id).where(Member.program_id == ids[0][1]).limit(1))
    return ids[0][0], ids[0][1], int(first_member or 0)


def timed(run: Callable[[], object], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    members, repeat = (2_000, 50) if args.smoke else (50_000, 300)
    with database(args.database_url) as url:
        upgrade(url)
        with opened_database(url) as factory:
            organization_id, program_id, member_id = seed(factory, members)
            page = Page(limit=50, offset=0)
            listing = select(Member).where(Member.program_id == program_id).order_by(Member.id)
            joined = select(Member.id, Program.code).join(Program, Program.id == Member.program_id).limit(50)

            def reads(scoped: bool) -> Callable[[], object]:
                def run() -> object:
                    with factory() as session:
                        use_scope(session, Scope(organization_id) if scoped else None)
                        paged = paginate(session, listing, page)
                        assert paged.total == members
                        assert session.get(Member, member_id) is not None
                        return session.execute(joined).all()

                return run

            with factory() as session:
                use_scope(session, Scope(organization_id))
                seen = session.scalar(select(Member.id).where(Member.program_id != program_id).limit(1))
                assert seen is None, "a scoped session saw another organization's member"
            best = {False: float("inf"), True: float("inf")}
            for _ in range(3):
                for scoped in (False, True):
                    best[scoped] = min(best[scoped], timed(reads(scoped), repeat))
            per = {k: v / repeat * 1000 for k, v in best.items()}
            print(f"{members:,} members per organization, {repeat} rounds, best of 3")
            print(f"unscoped (platform administrator): {per[False]:.2f} ms per round")
            print(f"scoped (organization operator):    {per[True]:.2f} ms per round")
            print(f"ratio scoped / unscoped: {best[True] / best[False]:.2f}")


if __name__ == "__main__":
    main()
