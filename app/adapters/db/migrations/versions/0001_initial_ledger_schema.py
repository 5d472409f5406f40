"""initial ledger schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Builds the same schema on SQLite and PostgreSQL. On PostgreSQL, triggers make the ledger
(transactions, moves) append-only: UPDATE, DELETE and TRUNCATE are refused.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


APPEND_ONLY_TABLES = ("transactions", "moves")
VIRTUAL_LOCATIONS = ("VENDOR", "CUSTOMER", "ADJUSTMENT", "SCRAP")


def upgrade() -> None:
    op.create_table(
        "locations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("zone", sa.String(length=32), nullable=True),
        sa.Column("aisle", sa.String(length=32), nullable=True),
        sa.Column("bay", sa.String(length=32), nullable=True),
        sa.Column("level", sa.String(length=32), nullable=True),
        sa.Column("pick_sequence", sa.Integer(), nullable=False),
        sa.Column("max_units", sa.Integer(), nullable=True),
        sa.Column("max_volume_cm3", sa.BigInteger(), nullable=True),
        sa.Column("max_weight_g", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('bin', 'dock', 'staging', 'quarantine', 'outbound', 'returns', 'virtual')",
            name=op.f("ck_locations_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
        sa.UniqueConstraint("code", name=op.f("uq_locations_code")),
    )
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("badge", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("pin_hash", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "role IN ('dock', 'picker', 'counter', 'supervisor')", name=op.f("ck_operators_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("badge", name=op.f("uq_operators_badge")),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("code", name=op.f("uq_orders_code")),
    )
    op.create_table(
        "receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
        sa.UniqueConstraint("code", name=op.f("uq_receipts_code")),
    )
    op.create_table(
        "skus",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit_volume_cm3", sa.Integer(), nullable=False),
        sa.Column("unit_weight_g", sa.Integer(), nullable=False),
        sa.Column("tracking", sa.String(length=8), nullable=False),
        sa.Column("lookalike_group", sa.String(length=64), nullable=True),
        sa.Column("reorder_point", sa.Integer(), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("tracking IN ('none', 'lot', 'serial')", name=op.f("ck_skus_tracking")),
        sa.CheckConstraint(
            "unit_volume_cm3 >= 0 AND unit_weight_g >= 0", name=op.f("ck_skus_unit_size")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skus")),
        sa.UniqueConstraint("code", name=op.f("uq_skus_code")),
    )
    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_skus_lookalike_group"), ["lookalike_group"], unique=False
        )

    op.create_table(
        "barcodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.CheckConstraint("kind IN ('gtin', 'alias')", name=op.f("ck_barcodes_kind")),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_barcodes_sku_id_skus")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_barcodes")),
        sa.UniqueConstraint("code", name=op.f("uq_barcodes_code")),
    )
    with op.batch_alter_table("barcodes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_barcodes_sku_id"), ["sku_id"], unique=False)

    op.create_table(
        "lots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_lots_sku_id_skus")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lots")),
        sa.UniqueConstraint("sku_id", "code", name="uq_lots_sku_code"),
    )
    op.create_table(
        "order_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.CheckConstraint("qty > 0", name=op.f("ck_order_lines_qty_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_lines_order_id_orders")
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_order_lines_sku_id_skus")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
        sa.UniqueConstraint("order_id", "line", name="uq_order_lines_line"),
    )
    op.create_table(
        "receipt_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("lot", sa.String(length=64), nullable=True),
        sa.Column("expiry", sa.Date(), nullable=True),
        sa.CheckConstraint("qty > 0", name=op.f("ck_receipt_lines_qty_positive")),
        sa.ForeignKeyConstraint(
            ["receipt_id"], ["receipts.id"], name=op.f("fk_receipt_lines_receipt_id_receipts")
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_receipt_lines_sku_id_skus")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_lines")),
        sa.UniqueConstraint("receipt_id", "line", name="uq_receipt_lines_line"),
    )
    op.create_table(
        "stations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("zone", sa.String(length=32), nullable=True),
        sa.Column("dock_location_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dock_location_id"],
            ["locations.id"],
            name=op.f("fk_stations_dock_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stations")),
        sa.UniqueConstraint("code", name=op.f("uq_stations_code")),
    )
    op.create_table(
        "quants",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("is_virtual", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "is_virtual OR on_hand >= 0", name=op.f("ck_quants_on_hand_not_negative")
        ),
        sa.CheckConstraint(
            "is_virtual OR reserved <= on_hand", name=op.f("ck_quants_reserved_within_on_hand")
        ),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_quants_reserved_not_negative")),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_quants_location_id_locations")
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_quants_lot_id_lots")),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_quants_sku_id_skus")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quants")),
        sa.UniqueConstraint("location_id", "sku_id", "lot_id", name="uq_quants_key"),
    )
    with op.batch_alter_table("quants", schema=None) as batch_op:
        batch_op.create_index("ix_quants_sku_lot", ["sku_id", "lot_id"], unique=False)

    op.create_table(
        "serials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_serials_location_id_locations")
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_serials_lot_id_lots")),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_serials_sku_id_skus")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serials")),
        sa.UniqueConstraint("sku_id", "code", name="uq_serials_sku_code"),
    )
    op.create_table(
        "transactions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("station_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "db_time", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "status <> 'confirmed' OR (station_id IS NOT NULL AND operator_id IS NOT NULL)",
            name=op.f("ck_transactions_confirmed_has_provenance"),
        ),
        sa.CheckConstraint(
            "status IN ('confirmed', 'refused')", name=op.f("ck_transactions_status")
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_transactions_operator_id_operators")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_transactions_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transactions")),
    )
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transactions_reference"), ["reference"], unique=False)

    op.create_table(
        "moves",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tx_id", sa.Uuid(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("serial_id", sa.Integer(), nullable=True),
        sa.Column("from_location_id", sa.Integer(), nullable=False),
        sa.Column("to_location_id", sa.Integer(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=80), nullable=False),
        sa.CheckConstraint(
            "from_location_id <> to_location_id", name=op.f("ck_moves_two_locations")
        ),
        sa.CheckConstraint("qty > 0", name=op.f("ck_moves_qty_positive")),
        sa.ForeignKeyConstraint(
            ["from_location_id"], ["locations.id"], name=op.f("fk_moves_from_location_id_locations")
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_moves_lot_id_lots")),
        sa.ForeignKeyConstraint(
            ["serial_id"], ["serials.id"], name=op.f("fk_moves_serial_id_serials")
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_moves_sku_id_skus")),
        sa.ForeignKeyConstraint(
            ["to_location_id"], ["locations.id"], name=op.f("fk_moves_to_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["tx_id"],
            ["transactions.id"],
            name=op.f("fk_moves_tx_id_transactions"),
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moves")),
    )
    with op.batch_alter_table("moves", schema=None) as batch_op:
        batch_op.create_index("ix_moves_sku_lot", ["sku_id", "lot_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_moves_tx_id"), ["tx_id"], unique=False)

    op.create_table(
        "reservations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tx_id", sa.Uuid(), nullable=False),
        sa.Column("order_ref", sa.String(length=64), nullable=False),
        sa.Column("order_line", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("qty_posted", sa.Integer(), nullable=False),
        sa.Column("resolved_tx_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'posted', 'partly_posted', 'voided', 'expired')",
            name=op.f("ck_reservations_state"),
        ),
        sa.CheckConstraint("qty > 0", name=op.f("ck_reservations_qty_positive")),
        sa.CheckConstraint(
            "qty_posted >= 0 AND qty_posted <= qty", name=op.f("ck_reservations_posted_within_qty")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_reservations_location_id_locations")
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_reservations_lot_id_lots")),
        sa.ForeignKeyConstraint(
            ["resolved_tx_id"],
            ["transactions.id"],
            name=op.f("fk_reservations_resolved_tx_id_transactions"),
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_reservations_sku_id_skus")),
        sa.ForeignKeyConstraint(
            ["tx_id"],
            ["transactions.id"],
            name=op.f("fk_reservations_tx_id_transactions"),
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservations")),
    )
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.create_index("ix_reservations_open", ["state", "expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_reservations_order_ref"), ["order_ref"], unique=False)

    _seed()
    if op.get_bind().dialect.name == "postgresql":
        _append_only_triggers()


def _seed() -> None:
    # Lot 0 is "no lot": quant and move keys never hold NULL, so unique keys work on both databases.
    lots = sa.table("lots", sa.column("id"), sa.column("sku_id"), sa.column("code"))
    op.bulk_insert(lots, [{"id": 0, "sku_id": None, "code": ""}])
    locations = sa.table(
        "locations",
        sa.column("code"),
        sa.column("kind"),
        sa.column("pick_sequence"),
        sa.column("active"),
    )
    op.bulk_insert(
        locations,
        [
            {"code": c, "kind": "virtual", "pick_sequence": 0, "active": True}
            for c in VIRTUAL_LOCATIONS
        ],
    )


def _append_only_triggers() -> None:
    op.execute(
        """
        CREATE FUNCTION perpetua_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the ledger table % is append-only: % refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    for table in APPEND_ONLY_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION perpetua_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION perpetua_refuse_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION perpetua_refuse_change()")
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reservations_order_ref"))
        batch_op.drop_index("ix_reservations_open")

    op.drop_table("reservations")
    with op.batch_alter_table("moves", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_moves_tx_id"))
        batch_op.drop_index("ix_moves_sku_lot")

    op.drop_table("moves")
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transactions_reference"))

    op.drop_table("transactions")
    op.drop_table("serials")
    with op.batch_alter_table("quants", schema=None) as batch_op:
        batch_op.drop_index("ix_quants_sku_lot")

    op.drop_table("quants")
    op.drop_table("stations")
    op.drop_table("receipt_lines")
    op.drop_table("order_lines")
    op.drop_table("lots")
    with op.batch_alter_table("barcodes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_barcodes_sku_id"))

    op.drop_table("barcodes")
    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_skus_lookalike_group"))

    op.drop_table("skus")
    op.drop_table("receipts")
    op.drop_table("orders")
    op.drop_table("operators")
    op.drop_table("locations")
