"""Migration 0061 gives each withdrawal still to be paid (requested or approved, batched or not) its
member's payee account as it stands, the sealed tokens copied as they are (still sealed, opened by the
key that sealed them); paid and rejected withdrawals, and those of members without an account, keep
none; downgrading drops the copy; on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import Connection, Engine, text

from neigou.kit.db import make_engine
from neigou.kit.sealed import Sealer
from neigou.migrations.runner import alembic_config, upgrade
from tests.migrating import CREATED, insert, insert_id
from tests.migration_templates import ScratchAt

PROGRAM = (
    "INSERT INTO programs (code, name, timezone, attribution_model, attribution_window_days, freeze_days,"
    " max_levels, self_purchase_commission, created_at, organization_id)"
    " VALUES ('p', 'p', 'Asia/Shanghai', 'last_click', 30, 7, 2, true, :at, :org)"
)
COPY = (
    "SELECT id, payee_kind, payee_account_sealed, payee_account_masked, payee_holder_sealed,"
    " payee_holder_masked FROM withdrawals ORDER BY id"
)
CARD = "6222021234567894"


def _withdrawal(conn: Connection, program: int, member: int, status: str, *, batch: int | None = None) -> int:
    return insert_id(
        conn,
        "withdrawals",
        program_id=program,
        member_id=member,
        request_id=f"{status}-{member}-{batch}",
        amount_fen=1000,
        fee_fen=0,
        net_fen=1000,
        status=status,
        requested_at=CREATED,
        decided_at=None if status == "requested" else CREATED,
        paid_at=CREATED if status == "paid" else None,
        batch_id=batch,
    )


def _copies(engine: Engine) -> dict[int, tuple[object, ...]]:
    with engine.connect() as conn:
        return {row[0]: tuple(row[1:]) for row in conn.execute(text(COPY))}


def test_migration_0061_copies_the_account_onto_withdrawals_still_to_be_paid(scratch_at: ScratchAt) -> None:
    sealer = Sealer([Fernet.generate_key().decode()])
    account, holder = sealer.seal(CARD), sealer.seal("王小美")
    scratch_url = scratch_at("0060")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            org = insert_id(conn, "organizations", code="org-m", name="品牌", created_at=CREATED)
            conn.execute(text(PROGRAM), {"at": CREATED, "org": org})
            program = int(conn.execute(text("SELECT id FROM programs")).scalar_one())
            paid_to = insert_id(conn, "members", program_id=program, name="王小美", joined_at=CREATED)
            bare = insert_id(conn, "members", program_id=program, name="李雷", joined_at=CREATED)
            insert(
                conn,
                "payee_accounts",
                member_id=paid_to,
                program_id=program,
                kind="bank_card",
                account_sealed=account,
                account_masked="**** 7894",
                holder_sealed=holder,
                holder_masked="*小美",
                updated_at=CREATED,
            )
            batch = insert_id(
                conn, "payout_batches", program_id=program, created_at=CREATED, count=1, total_net_fen=1000
            )
            copied = [
                _withdrawal(conn, program, paid_to, "requested"),
                _withdrawal(conn, program, paid_to, "approved"),
                _withdrawal(conn, program, paid_to, "approved", batch=batch),
            ]
            kept_bare = [
                _withdrawal(conn, program, paid_to, "paid", batch=batch),
                _withdrawal(conn, program, paid_to, "rejected"),
                _withdrawal(conn, program, bare, "requested"),
                _withdrawal(conn, program, bare, "approved"),
            ]

        upgrade(scratch_url, "0061")
        the_copy = ("bank_card", account, "**** 7894", holder, "*小美")
        expected = {
            **dict.fromkeys(copied, the_copy),
            **dict.fromkeys(kept_bare, (None, None, None, None, None)),
        }
        assert _copies(engine) == expected
        assert sealer.unseal(str(_copies(engine)[copied[0]][1])) == CARD  # still sealed, same key opens
        assert CARD not in repr(_copies(engine))

        command.downgrade(alembic_config(scratch_url), "0060")
        with engine.connect() as conn:
            left = conn.execute(text("SELECT COUNT(*) FROM withdrawals")).scalar_one()
            assert left == len(copied) + len(kept_bare)
            columns = conn.execute(text("SELECT * FROM withdrawals")).keys()
            assert not [c for c in columns if c.startswith("payee_")]
        upgrade(scratch_url, "0061")  # and up again: the same copies
        assert _copies(engine) == expected
    finally:
        engine.dispose()
