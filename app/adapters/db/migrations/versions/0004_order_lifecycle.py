"""order lifecycle

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

Orders get their states (open, picking, picked, shipped, cancelled), a priority and a due date,
and the claim on their pick list (station, operator, since, last activity). Order lines keep the
units closed short. `order_events` records every step of an order's life with who, where and
which transaction (append-only on PostgreSQL, like the ledger). Moves name the order line a
pick, shipment, return or cancelled order's putaway belongs to.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STATES = "status IN ('open', 'picking', 'picked', 'shipped', 'cancelled')"


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("due_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("claim_station_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("claim_operator_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("claimed_at", _utc(), nullable=True))
        batch.add_column(sa.Column("claim_active_at", _utc(), nullable=True))
        batch.add_column(sa.Column("status_at", _utc(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_orders_claim_station_id_stations"), "stations", ["claim_station_id"], ["id"]
        )
        batch.create_foreign_key(
            op.f("fk_orders_claim_operator_id_operators"),
            "operators",
            ["claim_operator_id"],
            ["id"],
        )
        batch.create_check_constraint(op.f("ck_orders_status"), STATES)
    op.create_index(
        "ix_orders_pickable", "orders", ["status", "priority", "due_date", "id"], unique=False
    )
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(
            sa.Column("short_closed", sa.Integer(), server_default="0", nullable=False)
        )
        batch.create_check_constraint(
            op.f("ck_order_lines_short_within_qty"), "short_closed >= 0 AND short_closed <= qty"
        )
    op.add_column("moves", sa.Column("order_line_id", sa.Integer(), nullable=True))
    op.create_index("ix_moves_order_line", "moves", ["order_line_id"], unique=False)
    op.create_table(
        "order_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tx_id", sa.Uuid(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("at", _utc(), server_default=sa.func.now(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_events_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["tx_id"],
            ["transactions.id"],
            name=op.f("fk_order_events_tx_id_transactions"),
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_order_events_station_id_stations")
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_order_events_operator_id_operators")
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["operators.id"],
            name=op.f("fk_order_events_approved_by_id_operators"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
    )
    op.create_index(op.f("ix_order_events_order_id"), "order_events", ["order_id"], unique=False)
    if pg:
        # The function comes from 0001: the order history is as append-only as the ledger.
        op.execute(
            "CREATE TRIGGER order_events_append_only BEFORE UPDATE OR DELETE ON order_events "
            "FOR EACH ROW EXECUTE FUNCTION perpetua_refuse_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER order_events_append_only ON order_events")
    op.drop_index(op.f("ix_order_events_order_id"), table_name="order_events")
    op.drop_table("order_events")
    op.drop_index("ix_moves_order_line", table_name="moves")
    op.drop_column("moves", "order_line_id")
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_constraint(op.f("ck_order_lines_short_within_qty"), type_="check")
        batch.drop_column("short_closed")
    op.drop_index("ix_orders_pickable", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint(op.f("ck_orders_status"), type_="check")
        batch.drop_constraint(op.f("fk_orders_claim_operator_id_operators"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_orders_claim_station_id_stations"), type_="foreignkey")
        for column in (
            "status_at",
            "claim_active_at",
            "claimed_at",
            "claim_operator_id",
            "claim_station_id",
            "due_date",
            "priority",
        ):
            batch.drop_column(column)
