"""warehouse policy and PIN verifiers in the database

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08

- `warehouse_policy`: the tolerances, thresholds, PIN rules and claim time every station and the
  ledger apply (app/domain/policy.py), one row per key, seeded with the defaults. Copied into
  every station's replica.
- `operator_pins`: the PIN verifiers, out of `operators` so that the station's database role
  never reads them (`perpetua db create-app-role`). Per operator: the online hash the database
  checks (PostgreSQL: bcrypt by pgcrypto; SQLite: argon2id, checked by the program, since SQLite
  has no server side), the slow offline verifier stations keep to check a supervisor while the
  database is out of reach (argon2id, costly on purpose: README "Securing a warehouse"), and the
  wrong attempts and lockout, so that a new process does not start with a clean slate.
- PostgreSQL functions, SECURITY DEFINER, the only way the app role reaches PIN data:
  `perpetua_check_pin(badge, pin)` verifies and counts attempts and lockouts in one statement;
  `perpetua_offline_verifiers(since)` hands a replica the offline verifiers of active
  supervisors changed since `since` (a `rev`).
- `operators.pin_hash` is dropped. The PINs it held were 4 digits and may not be kept: set
  each supervisor's PIN again (`perpetua operators set-pin BADGE`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

DEFAULTS = {
    "receipt_over_percent": 10,
    "receipt_over_units": 0,
    "receipt_under_percent": 10,
    "receipt_under_units": 0,
    "count_percent": 5,
    "count_units": 1,
    "adjust_percent": 5,
    "adjust_units": 1,
    "ship_short_percent": 0,
    "ship_short_units": 0,
    "claim_idle_minutes": 30,
    "pin_min_digits": 6,
    "pin_attempts": 3,
    "lockout_seconds": 300,
}
"""The policy's defaults as of this migration (app/domain/policy.py has the same)."""

NEW = ("warehouse_policy", "operator_pins")

PG_CHECK_PIN = """
CREATE FUNCTION perpetua_check_pin(p_badge text, p_pin text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    o record;
    attempts integer;
    lock_s integer;
    f integer;
BEGIN
    SELECT op.id, p.online_hash, p.failures, p.locked_until INTO o
      FROM operators op JOIN operator_pins p ON p.operator_id = op.id
     WHERE op.badge = p_badge AND op.role = 'supervisor' AND op.active
       FOR UPDATE OF p;
    IF NOT FOUND OR o.online_hash IS NULL THEN
        RETURN 'no_pin';
    END IF;
    IF o.locked_until IS NOT NULL AND o.locked_until > clock_timestamp() THEN
        RETURN 'locked:0:'
            || ceil(extract(epoch FROM o.locked_until - clock_timestamp()))::integer;
    END IF;
    IF crypt(p_pin, o.online_hash) = o.online_hash THEN
        IF o.failures <> 0 OR o.locked_until IS NOT NULL THEN
            UPDATE operator_pins SET failures = 0, locked_until = NULL WHERE operator_id = o.id;
        END IF;
        RETURN 'ok:0:0';
    END IF;
    attempts := coalesce((SELECT value FROM warehouse_policy WHERE key = 'pin_attempts'), 3);
    lock_s := coalesce((SELECT value FROM warehouse_policy WHERE key = 'lockout_seconds'), 300);
    f := o.failures + 1;
    IF f >= attempts THEN
        UPDATE operator_pins
           SET failures = 0, locked_until = clock_timestamp() + make_interval(secs => lock_s)
         WHERE operator_id = o.id;
        RETURN 'wrong:0:' || lock_s;
    END IF;
    UPDATE operator_pins SET failures = f WHERE operator_id = o.id;
    RETURN 'wrong:' || (attempts - f) || ':0';
END $$
"""

PG_OFFLINE = """
CREATE FUNCTION perpetua_offline_verifiers(since bigint)
RETURNS TABLE (badge text, offline_verifier text, locked_until timestamptz, rev bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT op.badge::text, p.offline_verifier::text, p.locked_until, p.rev
      FROM operator_pins p JOIN operators op ON op.id = p.operator_id
     WHERE p.rev >= since
$$
"""


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


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    policy = op.create_table(
        "warehouse_policy",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("rev", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("tx_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["operators.id"],
            name=op.f("fk_warehouse_policy_updated_by_id_operators"),
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_warehouse_policy")),
    )
    op.create_index(op.f("ix_warehouse_policy_rev"), "warehouse_policy", ["rev"], unique=False)
    op.bulk_insert(policy, [{"key": k, "value": v} for k, v in DEFAULTS.items()])
    op.create_table(
        "operator_pins",
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("rev", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("online_hash", sa.String(length=200), nullable=True),
        sa.Column("offline_verifier", sa.String(length=200), nullable=True),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_operator_pins_operator_id_operators")
        ),
        sa.PrimaryKeyConstraint("operator_id", name=op.f("pk_operator_pins")),
    )
    op.create_index(op.f("ix_operator_pins_rev"), "operator_pins", ["rev"], unique=False)
    for name in NEW:
        for statement in _rev_triggers(name, pg):
            op.execute(statement)
    if pg:
        # A virtual location's balance is the running total of all it ever gave: 32 bits run
        # out after 2.1 billion units of one item (SQLite's INTEGER is 64 bits already).
        op.execute("ALTER TABLE quants ALTER COLUMN on_hand TYPE BIGINT")
        op.execute("ALTER TABLE quants ALTER COLUMN reserved TYPE BIGINT")
        op.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")
        # As the driver's text: SQLAlchemy would read the function's ':0:' as bind parameters.
        op.get_bind().exec_driver_sql(PG_CHECK_PIN)
        op.get_bind().exec_driver_sql(PG_OFFLINE)
        op.execute("REVOKE ALL ON FUNCTION perpetua_check_pin(text, text) FROM PUBLIC")
        op.execute("REVOKE ALL ON FUNCTION perpetua_offline_verifiers(bigint) FROM PUBLIC")
        op.execute("ALTER TABLE operators DROP COLUMN pin_hash")
    else:
        # SQLite 3.35+ drops a column in place; batch mode would rebuild the table and lose the
        # replica triggers of 0005.
        op.execute("ALTER TABLE operators DROP COLUMN pin_hash")


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.execute("ALTER TABLE operators ADD COLUMN pin_hash VARCHAR(200)")
    if pg:
        op.execute("ALTER TABLE quants ALTER COLUMN reserved TYPE INTEGER")
        op.execute("ALTER TABLE quants ALTER COLUMN on_hand TYPE INTEGER")
        op.execute("DROP FUNCTION perpetua_offline_verifiers(bigint)")
        op.execute("DROP FUNCTION perpetua_check_pin(text, text)")
    for name in NEW:
        op.drop_index(op.f(f"ix_{name}_rev"), table_name=name)
        op.drop_table(name)
