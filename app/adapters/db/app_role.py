"""The PostgreSQL role stations connect as: what it may do, table by table, and nothing more.

Stations that connect as the owner of the tables can rewrite anything (`UPDATE quants`, make a
picker a supervisor, `ALTER TABLE moves DISABLE TRIGGER`). The app role owns nothing, creates
nothing, reads what the stations read, inserts the ledger's history, and updates only the columns
of the balances and work tables that the ledger services update. PIN hashes it never reads: only
the `perpetua_*` functions (SECURITY DEFINER, migration 0007) touch them.

`GRANTS` below is the whole contract. A migration that adds a table or a column a station writes
adds a row or a column here; `perpetua db create-app-role NAME` (run again after every
`perpetua db upgrade`) revokes everything the role had and grants exactly this, in one
transaction, so a re-run also takes back what a row no longer lists. A table that has no row
here is not readable by the role at all (tests/integration/test_least_privilege.py fails until
every table is listed here or in `NO_ACCESS`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
"""Lower-case role names only: they need no quoting in `psql -U` or a connection URL."""


@dataclass(frozen=True)
class TableGrant:
    """What the app role may do on one table. SELECT is on every column but `hidden` ones
    (worked out from the table's columns when the grants are applied)."""

    why: str
    insert: bool = False
    update: tuple[str, ...] = ()
    delete: bool = False
    hidden: tuple[str, ...] = ()


GRANTS: Mapping[str, TableGrant] = {
    # What a station checks before it trusts a database.
    "alembic_version": TableGrant("a station refuses a schema it does not know"),
    "database_identity": TableGrant("outbox and replica belong to one database"),
    # Reference data: read only (imports and `perpetua demo` run as the owner).
    "skus": TableGrant("catalogue"),
    "barcodes": TableGrant("catalogue"),
    "stations": TableGrant("catalogue"),
    "receipt_lines": TableGrant("what a receipt expects"),
    "operators": TableGrant(
        "badges and roles; never the PIN hashes (only through the perpetua_* functions)",
        hidden=("pin_hash",),
    ),
    "locations": TableGrant(
        "catalogue; a count locks its location's row (FOR UPDATE needs an UPDATE grant: `rev` "
        "is the one column granted, and its trigger stamps it again whatever is written)",
        update=("rev",),
    ),
    "replica_clock": TableGrant("SQLite's rev counter (read by a refresh on SQLite only)"),
    "warehouse_policy": TableGrant(
        "the policy every station and the ledger apply; set as the owner (`perpetua policy`)"
    ),
    # The ledger's history: append-only (triggers refuse UPDATE, DELETE, TRUNCATE; 0006).
    "transactions": TableGrant("one row per transaction, with its outcome", insert=True),
    "moves": TableGrant("the ledger", insert=True),
    "order_events": TableGrant("each step of an order's life", insert=True),
    # Balances and work tables, and the columns the services update. The ledger writes on_hand
    # and reserved with plain UPDATEs, so the role can too: the check constraints hold, and
    # `perpetua verify` (invariant 3) finds a balance that is not a replay of the moves. Closing
    # that would take a SECURITY DEFINER function that writes moves and balances together.
    "quants": TableGrant("balances", insert=True, update=("on_hand", "reserved")),
    "lots": TableGrant("a receipt names a new lot, or its expiry", insert=True, update=("expiry",)),
    "serials": TableGrant("serial numbers and where each is", insert=True, update=("location_id",)),
    "reservations": TableGrant(
        "pick allocations, resolved once",
        insert=True,
        update=("state", "qty_posted", "resolved_tx_id"),
    ),
    "orders": TableGrant(
        "order state and who holds its pick list",
        update=(
            "status",
            "status_at",
            "claim_station_id",
            "claim_operator_id",
            "claimed_at",
            "claim_active_at",
        ),
    ),
    "order_lines": TableGrant("units closed short", update=("short_closed",)),
    "receipts": TableGrant(
        "closing a receipt",
        update=(
            "status",
            "closed_at",
            "closed_by_id",
            "close_approved_by_id",
            "close_tx_id",
            "discrepancies",
        ),
    ),
    "count_tasks": TableGrant(
        "cycle counts",
        insert=True,
        update=(
            "state",
            "counts",
            "snapshot",
            "counters",
            "counted_by_operator_id",
            "updated_at",
            "assigned_to",
            "zone",
            "reason",
            "first_counts",
            "first_snapshot",
            "first_counted_at",
            "done_at",
        ),
    ),
    "bin_space": TableGrant(
        "bin capacity kept with the moves, and space held for a suggestion",
        update=(
            "used_units",
            "used_volume_cm3",
            "used_weight_g",
            "held_units",
            "held_volume_cm3",
            "held_weight_g",
        ),
    ),
    "stow_holds": TableGrant(
        "space promised to a suggestion, released by the putaway or on expiry",
        insert=True,
        delete=True,
    ),
    "holds": TableGrant(
        "holds on a location or a lot, placed and released by ledger transactions",
        insert=True,
        update=("released_tx_id", "released_by_id", "released_at", "release_reason"),
    ),
    "sku_classes": TableGrant(
        "ABC classes for cycle counting, written by a count planning",
        insert=True,
        update=("abc", "picked_units", "usage_value_cents", "computed_on"),
        delete=True,
    ),
    "exceptions": TableGrant(
        "what waits on a person: raised and decided by ledger transactions",
        insert=True,
        update=("state", "what", "decided_tx_id", "decided_by_id", "decided_at", "decision_reason"),
    ),
    "master_changes": TableGrant(
        "who changed master data and when (written by imports, as the owner; append-only)"
    ),
}
"""Table -> what the stations' role may do there. Add a row when a migration adds a table."""

NO_ACCESS: frozenset[str] = frozenset({"operator_pins"})
"""Tables the role may not touch at all (PIN verifiers: only through perpetua_* functions)."""

FUNCTIONS = "perpetua\\_%"
"""Functions in the schema the role may EXECUTE (a LIKE pattern)."""


class AppRoleRefused(Exception):
    """The role cannot be made safely as asked; the message says why and what to do."""


@dataclass
class AppRoleReport:
    """What `apply` did, for the command to print."""

    role: str
    created: bool
    schema: str
    tables: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    """Rows of GRANTS whose table this database does not have (yet)."""
    unlisted: list[str] = field(default_factory=list)
    """Tables of the schema with no row in GRANTS nor NO_ACCESS: the role cannot read them."""
    sequences: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    revoked_public_create: bool = False


def check_name(name: str) -> str:
    if not ROLE_NAME.fullmatch(name):
        raise AppRoleRefused(
            f"{name!r} is not a usable role name: use lower-case letters, digits and _ "
            "(not starting with a digit, at most 63), for example perpetua_station"
        )
    return name


def _q(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote_identifier(name)


def _scalar(connection: Connection, sql: str, **params: object) -> object:
    return connection.execute(text(sql), params).scalar()


def _ensure_role(connection: Connection, role: str) -> bool:
    """Create the LOGIN role, or check an existing one holds no power beyond its grants."""
    if role == _scalar(connection, "SELECT current_user"):
        raise AppRoleRefused(
            f"{role} is the role you are connected as (the owner): choose another name for "
            "the stations' role"
        )
    found = connection.execute(
        text(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, "
            "rolcanlogin FROM pg_roles WHERE rolname = :r"
        ),
        {"r": role},
    ).first()
    if found is None:
        connection.exec_driver_sql(f"CREATE ROLE {_q(connection, role)} LOGIN")
        return False
    powers = [
        word
        for word, held in zip(
            ("SUPERUSER", "CREATEDB", "CREATEROLE", "REPLICATION", "BYPASSRLS"),
            found[:5],
            strict=True,
        )
        if held
    ]
    if powers:
        raise AppRoleRefused(
            f"the role {role} already exists with {', '.join(powers)}: a station's role must "
            f"have none. Run as a superuser: ALTER ROLE {role} "
            + " ".join(f"NO{p}" for p in powers)
            + "; or choose another name"
        )
    if not found.rolcanlogin:
        connection.exec_driver_sql(f"ALTER ROLE {_q(connection, role)} LOGIN")
    return True


def _check_owns_nothing(connection: Connection, role: str, schema: str) -> None:
    owners = connection.execute(
        text(
            "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :s AND pg_has_role(:r, c.relowner, 'MEMBER') "
            "UNION SELECT pg_get_userbyid(nspowner) FROM pg_namespace "
            "WHERE nspname = :s AND pg_has_role(:r, nspowner, 'MEMBER') "
            "UNION SELECT pg_get_userbyid(datdba) FROM pg_database "
            "WHERE datname = current_database() AND pg_has_role(:r, datdba, 'MEMBER')"
        ),
        {"s": schema, "r": role},
    ).scalars()
    owners_list = sorted(str(o) for o in owners)
    if owners_list:
        raise AppRoleRefused(
            f"the role {role} owns the database, the schema {schema} or its tables "
            f"(as {', '.join(owners_list)}) "
            "and could change anything there: give the stations a role of their own that owns "
            f"nothing (or REVOKE {', '.join(owners_list)} FROM {role})"
        )


def _columns(connection: Connection, schema: str) -> dict[str, list[str]]:
    rows = connection.execute(
        text(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = :s ORDER BY table_name, ordinal_position"
        ),
        {"s": schema},
    )
    out: dict[str, list[str]] = {}
    for table_name, column in rows:
        out.setdefault(str(table_name), []).append(str(column))
    return out


def _tables(connection: Connection, schema: str) -> list[str]:
    rows = connection.execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :s AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY c.relname"
        ),
        {"s": schema},
    )
    return [str(r) for r in rows.scalars()]


def _owned_sequences(connection: Connection, schema: str, table_name: str) -> list[str]:
    """The sequences behind the table's serial or identity columns."""
    rows = connection.execute(
        text(
            "SELECT s.relname FROM pg_class s "
            "JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass "
            "AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') "
            "JOIN pg_class t ON t.oid = d.refobjid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE s.relkind = 'S' AND n.nspname = :s AND t.relname = :t ORDER BY s.relname"
        ),
        {"s": schema, "t": table_name},
    )
    return [str(r) for r in rows.scalars()]


def grant_statements(
    role: str, grants: Mapping[str, TableGrant], columns: Mapping[str, Sequence[str]]
) -> list[str]:
    """The GRANTs for the tables this database has (`columns`: table -> its columns).

    Pure, so that a reader can see the statements without a server. Names are quoted."""
    r = f'"{role}"'
    out: list[str] = []
    for name, grant in grants.items():
        if name not in columns:
            continue
        t = f'"{name}"'
        visible = [c for c in columns[name] if c not in grant.hidden]
        if grant.hidden:
            out.append(f"GRANT SELECT ({', '.join(_quoted(visible))}) ON {t} TO {r}")
        else:
            out.append(f"GRANT SELECT ON {t} TO {r}")
        if grant.insert:
            out.append(f"GRANT INSERT ON {t} TO {r}")
        present = [c for c in grant.update if c in columns[name]]
        if present:
            out.append(f"GRANT UPDATE ({', '.join(_quoted(present))}) ON {t} TO {r}")
        if grant.delete:
            out.append(f"GRANT DELETE ON {t} TO {r}")
    return out


def _quoted(names: Sequence[str]) -> list[str]:
    return [f'"{n}"' for n in names]


def apply(connection: Connection, role: str) -> AppRoleReport:
    """Create or update the stations' role on the connected PostgreSQL database, in the
    caller's transaction: everything it held here is revoked, then `GRANTS` granted."""
    check_name(role)
    schema = str(_scalar(connection, "SELECT current_schema()"))
    database = str(_scalar(connection, "SELECT current_database()"))
    existed = _ensure_role(connection, role)
    _check_owns_nothing(connection, role, schema)
    r, s = _q(connection, role), _q(connection, schema)
    report = AppRoleReport(role, created=not existed, schema=schema)

    for statement in (
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {r}",
        f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {s} FROM {r}",
        f"REVOKE ALL ON SCHEMA {s} FROM {r}",
        f"GRANT CONNECT ON DATABASE {_q(connection, database)} TO {r}",
        f"GRANT USAGE ON SCHEMA {s} TO {r}",
    ):
        connection.exec_driver_sql(statement)

    columns = _columns(connection, schema)
    for statement in grant_statements(role, GRANTS, columns):
        connection.exec_driver_sql(statement)
    report.tables = sorted(t for t in GRANTS if t in columns)
    report.missing = sorted(t for t in GRANTS if t not in columns)
    report.unlisted = sorted(
        t for t in _tables(connection, schema) if t not in GRANTS and t not in NO_ACCESS
    )

    for name in report.tables:
        if GRANTS[name].insert:
            for sequence in _owned_sequences(connection, schema, name):
                connection.exec_driver_sql(
                    f"GRANT USAGE ON SEQUENCE {s}.{_q(connection, sequence)} TO {r}"
                )
                report.sequences.append(sequence)

    functions = connection.execute(
        text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = :s AND p.proname LIKE :f AND p.prokind = 'f' ORDER BY 1"
        ),
        {"s": schema, "f": FUNCTIONS},
    ).scalars()
    for signature in functions:
        connection.exec_driver_sql(f"GRANT EXECUTE ON FUNCTION {signature} TO {r}")
        report.functions.append(str(signature))

    # PostgreSQL before 15 lets every role create tables in `public`: that is DDL, refused here
    # the way the PostgreSQL manual recommends (the owner keeps CREATE as the schema's owner).
    if _scalar(connection, "SELECT has_schema_privilege(:r, :s, 'CREATE')", r=role, s=schema):
        connection.exec_driver_sql(f"REVOKE CREATE ON SCHEMA {s} FROM PUBLIC")
        report.revoked_public_create = True
        if _scalar(connection, "SELECT has_schema_privilege(:r, :s, 'CREATE')", r=role, s=schema):
            raise AppRoleRefused(
                f"the role {role} may still create objects in the schema {schema} (granted to "
                f"a role it belongs to): REVOKE CREATE ON SCHEMA {schema} from that role"
            )
    return report


def set_password_verifier(connection: Connection, role: str, verifier: str) -> None:
    """Set the role's password from a SCRAM verifier made on this side (as psql's \\password
    does): the password itself never reaches the server, its log, or any log of ours. The
    statement goes straight to the driver, past SQLAlchemy's statement logging."""
    from psycopg import sql

    check_name(role)
    raw = connection.connection.dbapi_connection
    assert raw is not None
    statement = sql.SQL("ALTER ROLE {} PASSWORD {}").format(
        sql.Identifier(role), sql.Literal(verifier)
    )
    cursor = raw.cursor()
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


def scram_verifier(connection: Connection, role: str, password: str) -> str:
    """The SCRAM-SHA-256 verifier of `password` for `role`, computed by libpq on this side."""
    raw = connection.connection.dbapi_connection
    assert raw is not None
    pgconn = raw.pgconn
    encrypted = pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256")
    return bytes(encrypted).decode("ascii")
