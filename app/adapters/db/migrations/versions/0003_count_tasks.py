"""count tasks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Cycle-count tasks: one row per count of a location, from raised to done. They are work items,
not stock (no ledger transaction writes them). A partial unique index keeps at most one
unfinished task per location, on both databases. `counters` keeps the badges of everyone whose
count is recorded on a task, so that none of them approves it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UNFINISHED = "state <> 'done'"


def upgrade() -> None:
    op.create_table(
        "count_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=80), nullable=False),
        sa.Column("raised_by_station_id", sa.Integer(), nullable=True),
        sa.Column("raised_by_operator_id", sa.Integer(), nullable=True),
        sa.Column("counted_by_operator_id", sa.Integer(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("counters", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "state IN ('open', 'recount', 'approval', 'done')", name=op.f("ck_count_tasks_state")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_count_tasks_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_station_id"],
            ["stations.id"],
            name=op.f("fk_count_tasks_raised_by_station_id_stations"),
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_operator_id"],
            ["operators.id"],
            name=op.f("fk_count_tasks_raised_by_operator_id_operators"),
        ),
        sa.ForeignKeyConstraint(
            ["counted_by_operator_id"],
            ["operators.id"],
            name=op.f("fk_count_tasks_counted_by_operator_id_operators"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_count_tasks")),
    )
    with op.batch_alter_table("count_tasks", schema=None) as batch_op:
        batch_op.create_index(
            "uq_count_tasks_unfinished",
            ["location_id"],
            unique=True,
            postgresql_where=sa.text(UNFINISHED),
            sqlite_where=sa.text(UNFINISHED),
        )


def downgrade() -> None:
    with op.batch_alter_table("count_tasks", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_count_tasks_unfinished",
            postgresql_where=sa.text(UNFINISHED),
            sqlite_where=sa.text(UNFINISHED),
        )

    op.drop_table("count_tasks")
