"""append-only history on both databases, with messages a person can act on

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08

The ledger's history (moves, transactions) and the order history (order_events) are written
once and never changed: a mistake is corrected by a new transaction, so the audit trail keeps
both. Until now only PostgreSQL refused changes (0001, 0004), with a message naming the table;
SQLite refused nothing.

- PostgreSQL: `perpetua_refuse_change()` now raises the message its trigger passes it, and every
  history table gets a row trigger (UPDATE, DELETE) and a statement trigger (TRUNCATE; 0004 gave
  order_events none). The table owner can still disable a trigger: stations connect as the app
  role (`perpetua db create-app-role`), which owns nothing and cannot.
- SQLite: BEFORE UPDATE and BEFORE DELETE triggers that RAISE(ABORT) with the same message.
  (SQLite has no TRUNCATE; a DELETE without WHERE fires the trigger too.)

To make a new history table append-only in a later migration, on PostgreSQL:
    CREATE TRIGGER t_append_only BEFORE UPDATE OR DELETE ON t FOR EACH ROW
        EXECUTE FUNCTION perpetua_refuse_change('... are append-only: ...');
    CREATE TRIGGER t_no_truncate BEFORE TRUNCATE ON t FOR EACH STATEMENT
        EXECUTE FUNCTION perpetua_refuse_change('... are append-only: ...');
and on SQLite the two RAISE(ABORT) triggers below. Beware: on SQLite, `batch_alter_table`
rebuilds a table and its triggers are gone with the old copy; create them again after it.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CORRECT = "post a correcting transaction instead"
APPEND_ONLY = {
    "moves": f"moves are append-only: {CORRECT}",
    "transactions": f"transactions are append-only: {CORRECT}",
    "order_events": f"order events are append-only: {CORRECT}",
}
"""History tables and the message a refused UPDATE, DELETE or TRUNCATE raises."""

PG_REFUSE = """
CREATE OR REPLACE FUNCTION perpetua_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'insufficient_privilege',
        MESSAGE = COALESCE(TG_ARGV[0], format('the ledger table %s is append-only', TG_TABLE_NAME)),
        DETAIL = format('%s on %s refused by trigger %s', TG_OP, TG_TABLE_NAME, TG_NAME);
END $$
"""

PG_REFUSE_0001 = """
CREATE OR REPLACE FUNCTION perpetua_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$
"""
"""The function as 0001 made it, put back by the downgrade."""

PG_BEFORE = {"moves": True, "transactions": True, "order_events": False}
"""Which tables had a TRUNCATE trigger before this migration (0001: yes; 0004: no)."""


def _quote(message: str) -> str:
    return "'" + message.replace("'", "''") + "'"


def _pg_upgrade() -> None:
    op.execute(PG_REFUSE)
    for name, message in APPEND_ONLY.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name}_append_only ON {name}")
        op.execute(f"DROP TRIGGER IF EXISTS {name}_no_truncate ON {name}")
        op.execute(
            f"CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {name} "
            f"FOR EACH ROW EXECUTE FUNCTION perpetua_refuse_change({_quote(message)})"
        )
        op.execute(
            f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION perpetua_refuse_change({_quote(message)})"
        )


def _pg_downgrade() -> None:
    for name, had_truncate_trigger in PG_BEFORE.items():
        op.execute(f"DROP TRIGGER {name}_append_only ON {name}")
        op.execute(f"DROP TRIGGER {name}_no_truncate ON {name}")
        op.execute(
            f"CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {name} "
            "FOR EACH ROW EXECUTE FUNCTION perpetua_refuse_change()"
        )
        if had_truncate_trigger:
            op.execute(
                f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
                "FOR EACH STATEMENT EXECUTE FUNCTION perpetua_refuse_change()"
            )
    op.execute(PG_REFUSE_0001)


def _sqlite_upgrade() -> None:
    for name, message in APPEND_ONLY.items():
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {name}_no_{event.lower()} BEFORE {event} ON {name} "
                f"BEGIN SELECT RAISE(ABORT, {_quote(message)}); END"
            )


def _sqlite_downgrade() -> None:
    for name in APPEND_ONLY:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER {name}_no_{event}")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pg_upgrade()
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pg_downgrade()
    else:
        _sqlite_downgrade()
