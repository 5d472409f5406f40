"""station replica and database identity

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

What a station needs to work alone (DESIGN.md section 2):
- `database_identity`: the permanent id of this database, made once here. A station's outbox and
  replica record it and refuse to talk to a database with another id.
- `rev` on every table a station replica copies: a number that grows with every insert and update
  of the row, so a replica refreshes only what changed since its last refresh. On PostgreSQL it
  is the writing transaction's id (`txid_current()`, 64 bits, never wraps), and a refresh reads
  rows with `rev >=` the oldest transaction still running at its previous snapshot: one that was
  running then commits with an id at or above it, so the next refresh sees it, without any lock
  shared between writers (app/adapters/db/replica_source.py). SQLite has one writer at a time,
  so a counter row serves.
- receipts keep who closed them, when, which supervisor accepted a short close, the discrepancy
  list and the transaction that closed them.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

REPLICATED = (
    "skus",
    "barcodes",
    "locations",
    "operators",
    "stations",
    "receipts",
    "receipt_lines",
    "orders",
    "count_tasks",
    "quants",
)
"""Tables a station replica copies, refreshed by `rev` (app/adapters/replica.py)."""


def _sqlite_triggers(name: str) -> list[str]:
    # The WHEN clause keeps the trigger's own UPDATE of `rev` from firing it again.
    stamp = (
        "UPDATE replica_clock SET value = value + 1 WHERE id = 1; "
        f"UPDATE {name} SET rev = (SELECT value FROM replica_clock WHERE id = 1) "
        "WHERE rowid = NEW.rowid;"
    )
    return [
        f"CREATE TRIGGER {name}_rev_insert AFTER INSERT ON {name} BEGIN {stamp} END",
        f"CREATE TRIGGER {name}_rev_update AFTER UPDATE ON {name} "
        f"WHEN NEW.rev = OLD.rev BEGIN {stamp} END",
    ]


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    identity = op.create_table(
        "database_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("database_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.CheckConstraint("id = 1", name=op.f("ck_database_identity_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_database_identity")),
    )
    op.bulk_insert(identity, [{"id": 1, "database_id": str(uuid.uuid4())}])

    for name in REPLICATED:
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column("rev", sa.BigInteger(), server_default="0", nullable=False))
        op.create_index(f"ix_{name}_rev", name, ["rev"], unique=False)

    with op.batch_alter_table("receipts") as batch:
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("close_approved_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("close_tx_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("discrepancies", sa.JSON(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_receipts_closed_by_id_operators"), "operators", ["closed_by_id"], ["id"]
        )
        batch.create_foreign_key(
            op.f("fk_receipts_close_approved_by_id_operators"),
            "operators",
            ["close_approved_by_id"],
            ["id"],
        )

    # The counter SQLite's triggers stamp rows with (PostgreSQL has it too, unused, so that both
    # databases have the same tables).
    op.create_table(
        "replica_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_replica_clock_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replica_clock")),
    )
    op.execute("INSERT INTO replica_clock (id, value) VALUES (1, 0)")
    if pg:
        op.execute(
            "CREATE FUNCTION perpetua_stamp_rev() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN NEW.rev := txid_current(); RETURN NEW; END $$"
        )
        for name in REPLICATED:
            op.execute(
                f"CREATE TRIGGER {name}_rev BEFORE INSERT OR UPDATE ON {name} "
                "FOR EACH ROW EXECUTE FUNCTION perpetua_stamp_rev()"
            )
    else:
        for name in REPLICATED:
            for statement in _sqlite_triggers(name):
                op.execute(statement)


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    for name in REPLICATED:
        if pg:
            op.execute(f"DROP TRIGGER {name}_rev ON {name}")
        else:
            op.execute(f"DROP TRIGGER {name}_rev_insert")
            op.execute(f"DROP TRIGGER {name}_rev_update")
    if pg:
        op.execute("DROP FUNCTION perpetua_stamp_rev()")
    op.drop_table("replica_clock")
    with op.batch_alter_table("receipts") as batch:
        batch.drop_constraint(op.f("fk_receipts_close_approved_by_id_operators"), "foreignkey")
        batch.drop_constraint(op.f("fk_receipts_closed_by_id_operators"), "foreignkey")
        for column in (
            "discrepancies",
            "close_tx_id",
            "close_approved_by_id",
            "closed_by_id",
            "closed_at",
        ):
            batch.drop_column(column)
    for name in REPLICATED:
        op.drop_index(f"ix_{name}_rev", table_name=name)
        with op.batch_alter_table(name) as batch:
            batch.drop_column("rev")
    op.drop_table("database_identity")
