"""order_line.promised_price_cents (a changed price is a difference) and orders.decided_version
(a supervisor's decision wins over a rep's cancel based on an older version)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows from before have neither on record: NULL, compared with nothing.
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.add_column(sa.Column("promised_price_cents", sa.Integer(), nullable=True))
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decided_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("decided_version")
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.drop_column("promised_price_cents")
