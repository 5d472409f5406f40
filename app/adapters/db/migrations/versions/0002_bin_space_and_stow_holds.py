"""bin space and stow holds

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Capacity per bin (used, held and generated free space, indexed for suggestions), capacity
holds, and each SKU's velocity class. Bins that exist already get their space filled in from
the balances.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bin_space",
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(length=32), nullable=False),
        sa.Column("pick_sequence", sa.Integer(), nullable=False),
        sa.Column("rand_key", sa.Integer(), nullable=False),
        sa.Column("max_units", sa.BigInteger(), nullable=False),
        sa.Column("max_volume_cm3", sa.BigInteger(), nullable=False),
        sa.Column("max_weight_g", sa.BigInteger(), nullable=False),
        sa.Column("used_units", sa.BigInteger(), nullable=False),
        sa.Column("used_volume_cm3", sa.BigInteger(), nullable=False),
        sa.Column("used_weight_g", sa.BigInteger(), nullable=False),
        sa.Column("held_units", sa.BigInteger(), nullable=False),
        sa.Column("held_volume_cm3", sa.BigInteger(), nullable=False),
        sa.Column("held_weight_g", sa.BigInteger(), nullable=False),
        sa.Column(
            "free_units",
            sa.BigInteger(),
            sa.Computed("max_units - used_units - held_units", persisted=True),
            nullable=False,
        ),
        sa.Column(
            "free_volume_cm3",
            sa.BigInteger(),
            sa.Computed("max_volume_cm3 - used_volume_cm3 - held_volume_cm3", persisted=True),
            nullable=False,
        ),
        sa.Column(
            "free_weight_g",
            sa.BigInteger(),
            sa.Computed("max_weight_g - used_weight_g - held_weight_g", persisted=True),
            nullable=False,
        ),
        sa.CheckConstraint(
            "held_units >= 0 AND held_volume_cm3 >= 0 AND held_weight_g >= 0",
            name=op.f("ck_bin_space_held"),
        ),
        sa.CheckConstraint(
            "used_units >= 0 AND used_volume_cm3 >= 0 AND used_weight_g >= 0",
            name=op.f("ck_bin_space_used"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_bin_space_location_id_locations")
        ),
        sa.PrimaryKeyConstraint("location_id", name=op.f("pk_bin_space")),
    )
    with op.batch_alter_table("bin_space", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bin_space_rand",
            ["rand_key"],
            unique=False,
            postgresql_where=sa.text("free_units > 0"),
            sqlite_where=sa.text("free_units > 0"),
        )
        batch_op.create_index(
            "ix_bin_space_zone_rand",
            ["zone", "rand_key"],
            unique=False,
            postgresql_where=sa.text("free_units > 0"),
            sqlite_where=sa.text("free_units > 0"),
        )
        batch_op.create_index(
            "ix_bin_space_zone_seq",
            ["zone", "pick_sequence"],
            unique=False,
            postgresql_where=sa.text("free_units > 0"),
            sqlite_where=sa.text("free_units > 0"),
        )
        batch_op.create_index("ix_bin_space_zone_volume", ["zone", "free_volume_cm3"], unique=False)
        batch_op.create_index(
            "ix_bin_space_seq",
            ["pick_sequence"],
            unique=False,
            postgresql_where=sa.text("free_units > 0"),
            sqlite_where=sa.text("free_units > 0"),
        )
        batch_op.create_index("ix_bin_space_volume", ["free_volume_cm3"], unique=False)

    op.create_table(
        "stow_holds",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("volume_cm3", sa.BigInteger(), nullable=False),
        sa.Column("weight_g", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_stow_holds_location_id_locations")
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_stow_holds_lot_id_lots")),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_stow_holds_sku_id_skus")),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_stow_holds_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stow_holds")),
    )
    with op.batch_alter_table("stow_holds", schema=None) as batch_op:
        batch_op.create_index("ix_stow_holds_expires", ["expires_at"], unique=False)
        batch_op.create_index("ix_stow_holds_location", ["location_id", "sku_id"], unique=False)

    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("velocity_class", sa.String(length=1), server_default="C", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_skus_velocity_class"), "velocity_class IN ('A', 'B', 'C')"
        )
    _backfill_bin_space()


UNLIMITED = 10**15


def _backfill_bin_space() -> None:
    random_key = (
        "CAST(floor(random() * 2147483647) AS INTEGER)"
        if op.get_bind().dialect.name == "postgresql"
        else "abs(random()) % 2147483647"
    )
    op.execute(
        f"""
        INSERT INTO bin_space (location_id, zone, pick_sequence, rand_key, max_units,
            max_volume_cm3, max_weight_g, used_units, used_volume_cm3, used_weight_g,
            held_units, held_volume_cm3, held_weight_g)
        SELECT l.id, coalesce(l.zone, ''), l.pick_sequence, {random_key},
            coalesce(l.max_units, {UNLIMITED}), coalesce(l.max_volume_cm3, {UNLIMITED}),
            coalesce(l.max_weight_g, {UNLIMITED}),
            coalesce(sum(q.on_hand), 0),
            coalesce(sum(q.on_hand * s.unit_volume_cm3), 0),
            coalesce(sum(q.on_hand * s.unit_weight_g), 0),
            0, 0, 0
        FROM locations l
        LEFT JOIN quants q ON q.location_id = l.id
        LEFT JOIN skus s ON s.id = q.sku_id
        WHERE l.kind = 'bin'
        GROUP BY l.id, l.zone, l.pick_sequence, l.max_units, l.max_volume_cm3, l.max_weight_g
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_skus_velocity_class"), type_="check")
        batch_op.drop_column("velocity_class")

    with op.batch_alter_table("stow_holds", schema=None) as batch_op:
        batch_op.drop_index("ix_stow_holds_location")
        batch_op.drop_index("ix_stow_holds_expires")

    op.drop_table("stow_holds")
    with op.batch_alter_table("bin_space", schema=None) as batch_op:
        batch_op.drop_index("ix_bin_space_volume")
        batch_op.drop_index(
            "ix_bin_space_seq",
            postgresql_where=sa.text("free_units > 0"),
            sqlite_where=sa.text("free_units > 0"),
        )
        batch_op.drop_index("ix_bin_space_zone_volume")
        batch_op.drop_index(
            "ix_bin_space_zone_seq",
            postgresql_where=sa.text("free_units > 0"),
            sqlite_where=sa.text("free_units > 0"),
        )
        batch_op.drop_index(
            "ix_bin_space_zone_rand",
            postgresql_where=sa.text("free_units > 0"),
            sqlite_where=sa.text("free_units > 0"),
        )
        batch_op.drop_index(
            "ix_bin_space_rand",
            postgresql_where=sa.text("free_units > 0"),
            sqlite_where=sa.text("free_units > 0"),
        )

    op.drop_table("bin_space")
