"""stock control: shelf life, barcodes with pack quantities, holds, and the master-data audit

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

- `skus.min_shelf_days`: the fewest days of shelf life a lot must have left to be received or
  allocated (NULL: no minimum; an expired lot is refused whatever it says).
- `barcodes.pack_qty`: the units of its SKU one scan of the barcode stands for (a case GTIN of
  12 receives, picks or counts 12). 1 for every barcode there is.
- `holds`: a hold on a location or a lot, placed (`perpetua hold`, `@CMD:HOLD`) and released
  (a supervisor, badge and PIN) by ledger transactions; at most one active hold per location and
  per lot. Copied into station replicas (`rev`), so that a station refuses held stock offline.
- `master_changes`: who added, changed, deactivated or activated master data, and when
  (`perpetua audit`). Append-only, as the ledger's history (0006).

New columns are added with ALTER TABLE ... ADD COLUMN on both databases (SQLite keeps the
table and its replica triggers; a batch rebuild would drop them, see 0006).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

APPEND_ONLY = "master-data changes are append-only: they are the audit trail"


def _rev_triggers(name: str, pg: bool) -> list[str]:
    if pg:
        return [
            f"CREATE TRIGGER {name}_rev BEFORE INSERT OR UPDATE ON {name} "
            "FOR EACH ROW EXECUTE FUNCTION perpetua_stamp_rev()"
        ]
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


def _append_only(name: str, message: str, pg: bool) -> list[str]:
    quoted = "'" + message.replace("'", "''") + "'"
    if pg:
        return [
            f"CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {name} "
            f"FOR EACH ROW EXECUTE FUNCTION perpetua_refuse_change({quoted})",
            f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION perpetua_refuse_change({quoted})",
        ]
    return [
        f"CREATE TRIGGER {name}_no_update BEFORE UPDATE ON {name} "
        f"BEGIN SELECT RAISE(ABORT, {quoted}); END",
        f"CREATE TRIGGER {name}_no_delete BEFORE DELETE ON {name} "
        f"BEGIN SELECT RAISE(ABORT, {quoted}); END",
    ]


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.execute(
        "ALTER TABLE skus ADD COLUMN min_shelf_days INTEGER "
        "CONSTRAINT ck_skus_min_shelf_days CHECK (min_shelf_days IS NULL OR min_shelf_days >= 0)"
    )
    op.execute(
        "ALTER TABLE barcodes ADD COLUMN pack_qty INTEGER DEFAULT 1 NOT NULL "
        "CONSTRAINT ck_barcodes_pack_qty CHECK (pack_qty >= 1)"
    )
    op.create_table(
        "holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rev", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("placed_tx_id", sa.Uuid(), nullable=False),
        sa.Column("placed_by_id", sa.Integer(), nullable=False),
        sa.Column(
            "placed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("released_tx_id", sa.Uuid(), nullable=True),
        sa.Column("released_by_id", sa.Integer(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("release_reason", sa.String(length=32), nullable=True),
        sa.CheckConstraint(
            "(location_id IS NULL) <> (lot_id IS NULL)", name=op.f("ck_holds_one_target")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_holds_location_id_locations")
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_holds_lot_id_lots")),
        sa.ForeignKeyConstraint(
            ["placed_by_id"], ["operators.id"], name=op.f("fk_holds_placed_by_id_operators")
        ),
        sa.ForeignKeyConstraint(
            ["released_by_id"], ["operators.id"], name=op.f("fk_holds_released_by_id_operators")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
    )
    op.create_index(op.f("ix_holds_rev"), "holds", ["rev"], unique=False)
    where_location = sa.text("location_id IS NOT NULL AND released_at IS NULL")
    where_lot = sa.text("lot_id IS NOT NULL AND released_at IS NULL")
    op.create_index(
        "uq_holds_active_location",
        "holds",
        ["location_id"],
        unique=True,
        postgresql_where=where_location,
        sqlite_where=where_location,
    )
    op.create_index(
        "uq_holds_active_lot",
        "holds",
        ["lot_id"],
        unique=True,
        postgresql_where=where_lot,
        sqlite_where=where_lot,
    )
    op.create_table(
        "master_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("actor_kind", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "actor_kind IN ('badge', 'os_user')", name=op.f("ck_master_changes_actor_kind")
        ),
        sa.CheckConstraint(
            "action IN ('added', 'changed', 'deactivated', 'activated', 'pin_set')",
            name=op.f("ck_master_changes_action"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_master_changes")),
    )
    op.create_index(op.f("ix_master_changes_at"), "master_changes", ["at"], unique=False)
    op.create_index("ix_master_changes_kind_code", "master_changes", ["kind", "code"], unique=False)
    for statement in _rev_triggers("holds", pg):
        op.execute(statement)
    for statement in _append_only("master_changes", APPEND_ONLY, pg):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("master_changes")
    op.drop_index("uq_holds_active_lot", table_name="holds")
    op.drop_index("uq_holds_active_location", table_name="holds")
    op.drop_index(op.f("ix_holds_rev"), table_name="holds")
    op.drop_table("holds")
    op.execute("ALTER TABLE barcodes DROP COLUMN pack_qty")
    op.execute("ALTER TABLE skus DROP COLUMN min_shelf_days")
