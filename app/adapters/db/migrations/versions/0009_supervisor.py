"""the supervisor's day: item values, count planning, count results, and one exceptions list

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

- `skus.unit_value_cents`: what one unit is worth (optional; `import skus` column `unit_value`),
  for ABC classes and the value of count variances.
- `count_tasks`: whose badge or which zone a task is assigned to, the day it was planned for,
  where it came from (`origin`) and the ABC class it was planned under; the first count and the
  ledger position it was counted against (`first_counts`, `first_snapshot`, `first_counted_at`: the
  inventory-record accuracy is the first count's), and when the task was done.
- `sku_classes`: the ABC class of each SKU for cycle counting, with the figures it was computed
  from, written by each count planning.
- `exceptions`: everything waiting on a person (count variances, approvals left for later, short
  picks, damaged receipts, receipts outside tolerance, overrides, holds, refusals after an
  outage), raised by the ledger transaction that made it and decided by a supervisor's ledger
  transaction (`Decide`). At most one open exception per kind and subject (`ref`).

Count tasks waiting for a recount or an approval, and active holds, are listed as exceptions
from the start.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OPEN = "state = 'open'"
KINDS = (
    "'count_variance', 'count_disagreement', 'short_pick', 'damaged_receipt', "
    "'receipt_tolerance', 'override', 'hold', 'refused_late'"
)


def upgrade() -> None:
    op.execute(
        "ALTER TABLE skus ADD COLUMN unit_value_cents BIGINT "
        "CONSTRAINT ck_skus_unit_value CHECK (unit_value_cents IS NULL OR unit_value_cents >= 0)"
    )
    for column in (
        "assigned_to VARCHAR(64)",
        "zone VARCHAR(32)",
        "planned_for DATE",
        "origin VARCHAR(16) DEFAULT 'event' NOT NULL",
        "abc VARCHAR(1)",
        "first_counts JSON",
        "first_snapshot JSON",
        f"first_counted_at {_timestamp()}",
        f"done_at {_timestamp()}",
    ):
        op.execute(f"ALTER TABLE count_tasks ADD COLUMN {column}")
    op.create_index("ix_count_tasks_location_done", "count_tasks", ["location_id", "done_at"])
    op.create_index("ix_count_tasks_first_counted_at", "count_tasks", ["first_counted_at"])
    op.create_table(
        "sku_classes",
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("abc", sa.String(length=1), nullable=False),
        sa.Column("picked_units", sa.BigInteger(), nullable=False),
        sa.Column("usage_value_cents", sa.BigInteger(), nullable=False),
        sa.Column("computed_on", sa.Date(), nullable=False),
        sa.CheckConstraint("abc IN ('A', 'B', 'C')", name=op.f("ck_sku_classes_abc")),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_sku_classes_sku_id_skus")),
        sa.PrimaryKeyConstraint("sku_id", name=op.f("pk_sku_classes")),
    )
    op.create_table(
        "exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("sku_id", sa.Integer(), nullable=True),
        sa.Column("lot", sa.String(length=64), nullable=True),
        sa.Column("qty", sa.Integer(), nullable=True),
        sa.Column("raised_tx_id", sa.Uuid(), nullable=True),
        sa.Column("raised_by_id", sa.Integer(), nullable=True),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column(
            "raised_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("decided_tx_id", sa.Uuid(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.String(length=32), nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'approved', 'rejected', 'resolved')",
            name=op.f("ck_exceptions_state"),
        ),
        sa.CheckConstraint(f"kind IN ({KINDS})", name=op.f("ck_exceptions_kind")),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_exceptions_location_id_locations")
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_exceptions_sku_id_skus")),
        sa.ForeignKeyConstraint(
            ["raised_by_id"], ["operators.id"], name=op.f("fk_exceptions_raised_by_id_operators")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_exceptions_station_id_stations")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["operators.id"],
            name=op.f("fk_exceptions_decided_by_id_operators"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exceptions")),
    )
    op.create_index(op.f("ix_exceptions_state"), "exceptions", ["state"], unique=False)
    op.create_index(
        "uq_exceptions_open",
        "exceptions",
        ["kind", "ref"],
        unique=True,
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )
    op.execute(
        "INSERT INTO exceptions (kind, ref, what, location_id, raised_by_id, raised_at) "
        "SELECT CASE WHEN state = 'recount' THEN 'count_variance' ELSE 'count_disagreement' END, "
        "'task:' || CAST(id AS VARCHAR(20)), "
        "CASE WHEN state = 'recount' THEN 'count beyond tolerance, waiting for a recount' "
        "ELSE 'recount beyond tolerance, waiting for a supervisor''s approval' END, "
        "location_id, counted_by_operator_id, updated_at "
        "FROM count_tasks WHERE state IN ('recount', 'approval')"
    )
    op.execute(
        "INSERT INTO exceptions (kind, ref, what, location_id, raised_tx_id, raised_by_id, "
        "raised_at) SELECT 'hold', 'hold:' || CAST(id AS VARCHAR(20)), 'on hold: ' || reason, "
        "location_id, placed_tx_id, placed_by_id, placed_at FROM holds WHERE released_at IS NULL"
    )


def _timestamp() -> str:
    pg = op.get_bind().dialect.name == "postgresql"
    return "TIMESTAMP WITH TIME ZONE" if pg else "DATETIME"


def downgrade() -> None:
    op.drop_index("uq_exceptions_open", table_name="exceptions")
    op.drop_index(op.f("ix_exceptions_state"), table_name="exceptions")
    op.drop_table("exceptions")
    op.drop_table("sku_classes")
    op.drop_index("ix_count_tasks_first_counted_at", table_name="count_tasks")
    op.drop_index("ix_count_tasks_location_done", table_name="count_tasks")
    for column in (
        "done_at",
        "first_counted_at",
        "first_snapshot",
        "first_counts",
        "abc",
        "origin",
        "planned_for",
        "zone",
        "assigned_to",
    ):
        op.execute(f"ALTER TABLE count_tasks DROP COLUMN {column}")
    op.execute("ALTER TABLE skus DROP COLUMN unit_value_cents")
