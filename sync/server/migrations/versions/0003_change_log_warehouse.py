"""change_log.warehouse_id: pulls scoped to the caller's warehouses

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("warehouse_id", sa.Integer(), nullable=True))
    # The rows already written get theirs from their record (a device whose cursor is behind
    # them still pulls them). Tombstones carry only a key and stay NULL: nothing to leak.
    if op.get_bind().dialect.name == "postgresql":
        warehouse = "CAST(CAST(data AS jsonb) ->> 'warehouse_id' AS INTEGER)"
    else:
        warehouse = "CAST(json_extract(data, '$.warehouse_id') AS INTEGER)"
    op.execute(
        f"UPDATE change_log SET warehouse_id = {warehouse} "
        "WHERE entity IN ('stock', 'receipt', 'queue_entry') AND op = 'upsert'"
    )


def downgrade() -> None:
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.drop_column("warehouse_id")
