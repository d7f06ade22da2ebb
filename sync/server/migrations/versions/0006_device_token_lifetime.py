"""Device tokens that expire and stay revoked: a device's last use (idle tokens expire), why
its token stopped working, and whether a supervisor blocked it (signing in on it again is
refused until a supervisor restores it)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from sync.server.models.types import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_reason", sa.String(20), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("blocked_at", UTCDateTime(), nullable=True))
    # Tokens in use count as used now, so the upgrade expires nobody at once; a token revoked
    # before reasons were kept stays revoked, its reason unknown (NULL).
    device = sa.table("device", sa.column("last_used_at", UTCDateTime()), sa.column("revoked_at"))
    op.execute(
        device.update().where(device.c.revoked_at.is_(None)).values(last_used_at=datetime.now(UTC))
    )


def downgrade() -> None:
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_column("blocked_at")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("revoked_reason")
