"""Suppliers as records (contact, item links with lead time, minimum, pack and cost), purchase
orders whose lines are the scheduled receipts, every delivery and date promise of a receipt
(the slip history), and an order line's shown schedule, policy date, customer's date and likely
date

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sync.server.models.types import JSON, UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("supplier", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("contact_name", sa.String(120), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("email", sa.String(120), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("phone", sa.String(40), nullable=False, server_default=""))
    op.create_table(
        "item_supplier",
        sa.Column("sku", sa.String(40), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("min_order_qty", sa.Integer(), nullable=False),
        sa.Column("pack_multiple", sa.Integer(), nullable=False),
        sa.Column("unit_cost_cents", sa.Integer(), nullable=False),
        sa.CheckConstraint("role IN ('primary', 'backup')", name=op.f("ck_item_supplier_role")),
        sa.ForeignKeyConstraint(
            ["sku"], ["product.sku"], name=op.f("fk_item_supplier_sku_product")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["supplier.id"], name=op.f("fk_item_supplier_supplier_id_supplier")
        ),
        sa.PrimaryKeyConstraint("sku", "supplier_id", name=op.f("pk_item_supplier")),
    )
    op.create_index("ix_item_supplier_supplier", "item_supplier", ["supplier_id"])
    op.create_table(
        "purchase_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(60), nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["supplier.id"], name=op.f("fk_purchase_order_supplier_id_supplier")
        ),
        sa.ForeignKeyConstraint(
            ["warehouse_id"],
            ["warehouse.id"],
            name=op.f("fk_purchase_order_warehouse_id_warehouse"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_order")),
    )
    op.create_index("ix_purchase_order_status", "purchase_order", ["status", "created_at"])
    # Receipts from before keep their date as their first promise, with all their units.
    with op.batch_alter_table("scheduled_receipt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("po_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ordered_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("first_expected", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("moved", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("base", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("arrived", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("promise_started", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("closed_at", UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_scheduled_receipt_po_id_purchase_order"), "purchase_order", ["po_id"], ["id"]
        )
        batch_op.create_index("ix_receipt_po", ["po_id"])
        batch_op.create_index("ix_receipt_supplier_closed", ["supplier_id", "closed_at"])
    op.create_table(
        "receipt_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["scheduled_receipt.id"],
            name=op.f("fk_receipt_delivery_receipt_id_scheduled_receipt"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_delivery")),
    )
    op.create_index(op.f("ix_receipt_delivery_receipt_id"), "receipt_delivery", ["receipt_id"])
    op.create_table(
        "receipt_promise",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(10), nullable=False),
        sa.Column("expected", sa.Date(), nullable=False),
        sa.Column("base", sa.Integer(), nullable=False),
        sa.Column("arrived_before", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["scheduled_receipt.id"],
            name=op.f("fk_receipt_promise_receipt_id_scheduled_receipt"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_promise")),
    )
    op.create_index(op.f("ix_receipt_promise_receipt_id"), "receipt_promise", ["receipt_id"])
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.add_column(sa.Column("promised_schedule", JSON(), nullable=True))
        batch_op.add_column(sa.Column("promised_ship", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("told_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("told_kind", sa.String(12), nullable=True))
        batch_op.add_column(sa.Column("likely_date", sa.Date(), nullable=True))
    # The customer's date of lines from before: the date last dated.
    op.execute("UPDATE order_line SET told_date = eta_date, told_kind = eta_kind WHERE waiting > 0")


def downgrade() -> None:
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        for name in ("likely_date", "told_kind", "told_date", "promised_ship", "promised_schedule"):
            batch_op.drop_column(name)
    op.drop_table("receipt_promise")
    op.drop_table("receipt_delivery")
    with op.batch_alter_table("scheduled_receipt", schema=None) as batch_op:
        batch_op.drop_index("ix_receipt_supplier_closed")
        batch_op.drop_index("ix_receipt_po")
        batch_op.drop_constraint(
            op.f("fk_scheduled_receipt_po_id_purchase_order"), type_="foreignkey"
        )
        for name in (
            "closed_at", "promise_started", "arrived", "base", "moved", "first_expected",
            "ordered_on", "po_id",
        ):  # fmt: skip
            batch_op.drop_column(name)
    op.drop_table("purchase_order")
    op.drop_table("item_supplier")
    with op.batch_alter_table("supplier", schema=None) as batch_op:
        for name in ("phone", "email", "contact_name"):
            batch_op.drop_column(name)
