"""api_tokens: the console account that issued an API token

An operator's API tokens were stored without the account that issued them (``user_id`` is the account
a console session is of), so stopping an operator left every token they issued working.
``api_tokens.issued_by_user_id`` records the issuer of a token made from now on; stopping the account
(``auth.service.set_user_active``) revokes its sessions and the API tokens it issued. Tokens issued
before, and by the command line, have no issuer (NULL) and are revoked one by one as before.

Downgrading drops the column: the tokens stay, without their issuer.

Revision ID: 0054
Revises: 0053
Create Date: 2026-12-07 07:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0054"
down_revision: str | None = "0053"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
FK = "fk_api_tokens_issued_by_user_id_users"
INDEX = "ix_api_tokens_issued_by_user_id"


def upgrade() -> None:
    # Added in place, never by copying the table (SQLite's batch mode would drop and copy api_tokens).
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE api_tokens ADD COLUMN issued_by_user_id INTEGER"
            f" CONSTRAINT {FK} REFERENCES users (id)"
        )
    else:
        op.add_column("api_tokens", sa.Column("issued_by_user_id", ID, nullable=True))
        op.create_foreign_key(FK, "api_tokens", "users", ["issued_by_user_id"], ["id"])
    op.create_index(INDEX, "api_tokens", ["issued_by_user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="api_tokens")
    if op.get_bind().dialect.name == "sqlite":  # a column in a reference is dropped by a copy
        with op.batch_alter_table("api_tokens") as batch:
            batch.drop_column("issued_by_user_id")
    else:
        op.drop_constraint(FK, "api_tokens", type_="foreignkey")
        op.drop_column("api_tokens", "issued_by_user_id")
