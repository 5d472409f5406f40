"""The `perpetua` command: database set-up, demo data, imports, stock reports and the audit."""

from __future__ import annotations

import gc
import json
import logging
import os
import random
import sys
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from app import __version__
from app.adapters import passwords
from app.adapters.db import authority, catalogue, queries
from app.adapters.db import errors as db_errors
from app.adapters.db import master_data as master_db
from app.adapters.db.app_role import AppRoleReport
from app.adapters.db.engine import READONLY
from app.adapters.db.uow import SqlLedger
from app.bootstrap import Runtime, SchemaOutOfDate, open_runtime
from app.commands.counts import counts_group
from app.commands.decode import decode_command
from app.commands.exceptions import exceptions_group
from app.commands.holds import expired_command, hold_command, holds_command, release_command
from app.commands.interpret import interpret_command
from app.commands.masterdata import activate_command, audit_command, deactivate_command, os_user
from app.commands.orders import order_group, orders_command, ship_command
from app.commands.outbox import outbox_group
from app.commands.policy import operator_group, operators_group, policy_group
from app.commands.receipts import receipt_command, receipts_command
from app.commands.replay import replay_command
from app.commands.report_flow import (
    age_command,
    health_command,
    picks_command,
    receiving_command,
    turnover_command,
)
from app.commands.report_replenishment import replenishment_command, replenishment_group
from app.commands.report_stock import (
    adjustments_report_command,
    expiring_report_command,
    stock_report_command,
    trace_report_command,
)
from app.commands.reports import report_group
from app.commands.rfid import rfid_group
from app.commands.sheet import sheet_command
from app.commands.station import station_command
from app.config import ConfigError, Settings, check_command_line_url, load_settings
from app.domain.commands import Opening, OpeningLine
from app.domain.errors import Rejection
from app.domain.import_rules import Holder
from app.domain.master_data import ImportPlan, MasterDataRefused, MasterKind, key_of
from app.domain.ports import DatabaseUnavailable
from app.services import demo as demo_plan
from app.services import stow as stow_service
from app.services.importing import PARSERS, ImportRules
from app.services.ledger import submit
from app.services.master_data import plan_import

PROGRESS_THRESHOLD = 20_000
"""Row counts above this get a progress bar."""

OPENING_CHUNK = 2_000


class Context:
    def __init__(self, db: str | None) -> None:
        self.db = db

    def settings(self) -> Settings:
        try:
            return load_settings(self.db)
        except ConfigError as error:
            raise click.ClickException(str(error)) from None

    def url(self) -> str:
        return self.settings().database_url

    @contextmanager
    def runtime(self, upgrade: bool = False) -> Iterator[Runtime]:
        settings = self.settings()
        try:
            runtime = open_runtime(
                settings.database_url, upgrade=upgrade, password=settings.database_password
            )
        except (SchemaOutOfDate, passwords.BadDatabaseUrl) as error:
            raise click.ClickException(str(error)) from None
        except Exception as error:
            if type(error).__module__.startswith(("sqlalchemy", "psycopg", "sqlite3")):
                first = str(error).splitlines()[0]
                hint = passwords.password_hint(first, settings.database_url)
                raise click.ClickException(f"cannot open the database: {first}{hint}") from None
            raise
        try:
            yield runtime
        finally:
            runtime.close()


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, default=str))


def _table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    if not rows:
        click.echo("(none)")
        return
    cells = [[("" if r[c] is None else str(r[c])) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


@click.group()
@click.option(
    "--db",
    "db",
    metavar="URL",
    help="Database URL, without a password: `ps` shows it to every user (default: "
    "PERPETUA_DATABASE_URL, the config file, or an SQLite file in the user data directory).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens.")
@click.version_option(__version__, prog_name="perpetua")
@click.pass_context
def main(ctx: click.Context, db: str | None, verbose: bool) -> None:
    """Perpetua: perpetual inventory for warehouse scanner stations."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if db:
        try:  # at once, whatever the command: a password there is in `ps` already
            check_command_line_url(db)
        except ConfigError as error:
            raise click.ClickException(str(error)) from None
    ctx.obj = Context(db)


# --- db ---------------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Create or migrate the database schema."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(obj: Context) -> None:
    """Migrate the database to the newest schema (creates it if empty)."""
    from app.adapters.db import migrate

    with obj.runtime(upgrade=True) as rt:
        click.echo(f"database at revision {migrate.current_revision(rt.engine)}: {_safe_url(rt)}")


def _safe_url(rt: Runtime) -> str:
    return rt.engine.url.render_as_string(hide_password=True)


APP_ROLE_PASSWORD_ENV = "PERPETUA_APP_ROLE_PASSWORD"


@db.command("create-app-role")
@click.argument("name")
@click.option(
    "--password",
    "ask_password",
    is_flag=True,
    help=f"Ask for the role's password (hidden). Or set {APP_ROLE_PASSWORD_ENV}.",
)
@click.pass_obj
def db_create_app_role(obj: Context, name: str, ask_password: bool) -> None:
    """Create or update NAME, the PostgreSQL role stations connect as (least privilege).

    Run it as the owner of the tables, and again after every `perpetua db upgrade`. The password
    is never taken on the command line: --password asks for it, or it is read from the
    environment; it reaches the server only as a SCRAM verifier made here, as psql's
    \\password does. Without either, an existing role keeps its password."""
    from app.adapters.db import app_role

    try:
        app_role.check_name(name)
    except app_role.AppRoleRefused as error:
        raise click.ClickException(str(error)) from None
    if obj.url().startswith("sqlite"):
        raise click.ClickException(
            "SQLite has no database roles: every program that can open the file can write it, "
            "so protect the file with the operating system's permissions. The ledger's history "
            "(moves, transactions, order events) is append-only there too: triggers refuse any "
            "UPDATE or DELETE of it."
        )
    password = os.environ.get(APP_ROLE_PASSWORD_ENV) or None
    if ask_password:
        password = click.prompt(
            f"password for {name}", hide_input=True, confirmation_prompt=True, err=True
        )
    with obj.runtime() as rt:
        try:
            with rt.engine.begin() as c:
                report = app_role.apply(c, name)
                if password:
                    verifier = app_role.scram_verifier(c, name, password)
                    app_role.set_password_verifier(c, name, verifier)
        except app_role.AppRoleRefused as error:
            raise click.ClickException(str(error)) from None
        except DBAPIError as error:
            first = str(error.orig).splitlines()[0] if error.orig else type(error).__name__
            raise click.ClickException(
                f"could not set up the role {name}: {first}. Run this as the owner of the "
                "tables, with the right to create roles (CREATEROLE or a superuser)."
            ) from None
        station_url = rt.engine.url.set(username=name, password=None)
    _report_app_role(report, station_url.render_as_string(hide_password=True), password)


def _report_app_role(report: AppRoleReport, station_url: str, password: str | None) -> None:
    verb = "created" if report.created else "updated"
    click.echo(f"{verb} role {report.role}: least privilege on schema {report.schema}")
    click.echo(
        f"  {len(report.tables)} tables, {len(report.sequences)} sequences, "
        f"{len(report.functions)} perpetua_* functions; no UPDATE/DELETE/TRUNCATE of the ledger's "
        "history, no DDL, owns nothing, no PIN hashes"
    )
    if report.unlisted:
        click.echo(f"  no access (not listed in app_role.GRANTS): {', '.join(report.unlisted)}")
    if report.revoked_public_create:
        click.echo(f"  revoked CREATE on schema {report.schema} from PUBLIC (no DDL for anyone)")
    if password:
        click.echo("  password set")
    elif report.created:
        click.echo(
            f"  no password yet: run again with --password (or {APP_ROLE_PASSWORD_ENV} set), "
            f"or in psql as the owner: \\password {report.role}"
        )
    click.echo(f"stations connect with: {station_url}")
    click.echo("run this again after every `perpetua db upgrade`")


# --- demo -------------------------------------------------------------------------------------


@main.command()
@click.option("--bins", default=200, show_default=True, type=click.IntRange(1, 5_000_000))
@click.option("--skus", default=100, show_default=True, type=click.IntRange(1, 2_000_000))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has SKUs.")
@click.option(
    "--history/--no-history",
    default=True,
    show_default=True,
    help="Post the last weeks' picks (what ranks the SKUs into ABC classes for cycle counts).",
)
@click.pass_obj
def demo(obj: Context, bins: int, skus: int, seed: int, if_empty: bool, history: bool) -> None:
    """Fill an empty database with a demo warehouse: bins, SKUs, operators, stock and orders."""
    with obj.runtime(upgrade=True) as rt:
        with rt.engine.connect() as c:
            existing = queries.counts(c)["skus"]
        if existing:
            if if_empty:
                click.echo(f"the database already holds {existing} SKUs; no demo data added")
                return
            raise click.ClickException(
                f"the database already holds {existing} SKUs; the demo fills only an empty one"
            )
        plan = demo_plan.build_demo(bins, skus, seed)
        total = len(plan.locations) + len(plan.skus) + len(plan.opening)
        with _progress(total, "building the demo warehouse") as step, rt.engine.begin() as c:
            catalogue.add_locations(c, plan.locations, step, random.Random(seed))
            catalogue.add_skus(c, plan.skus, step)
            catalogue.add_barcodes(c, plan.barcodes)
            catalogue.add_operators(c, plan.operators)
            catalogue.add_stations(c, plan.stations)
            catalogue.add_receipts(c, plan.receipts)
            catalogue.add_orders(c, plan.orders)
        with _progress(len(plan.opening), "loading opening stock") as step:
            _load_opening(rt.ledger, plan.opening, step)
        try:  # the last weeks' picks: what ranks the SKUs into ABC classes for cycle counts
            demo_plan.load_history(plan.history if history else [], rt.ledger)
        except ValueError as refused:
            raise click.ClickException(str(refused)) from None
        with rt.engine.begin() as c:
            catalogue.analyze(c)
        click.echo(
            f"demo warehouse: {len(plan.locations)} locations, {skus} SKUs "
            f"(and {demo_plan.CHAIR}, {demo_plan.MILK} for the README's first shift), "
            f"{len(plan.opening)} stocked bins, {len({r.receipt for r in plan.receipts})} expected "
            f"receipts, {len({o.order for o in plan.orders})} open orders"
        )
        click.echo(
            "badges: D001 dock, P001 picker, C001 counter, S001 supervisor (PIN 123456), "
            "S002 supervisor (PIN 567890)"
        )


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    if total < PROGRESS_THRESHOLD:
        yield lambda n: None
        return
    hidden = not sys.stderr.isatty()  # a bar on a terminal; nothing in a log or a pipe
    with click.progressbar(length=total, label=label, file=sys.stderr, hidden=hidden) as bar:
        yield bar.update


def _load_opening(ledger: SqlLedger, lines: list[OpeningLine], step: Callable[[int], None]) -> None:
    for start in range(0, len(lines), OPENING_CHUNK):
        chunk = tuple(lines[start : start + OPENING_CHUNK])
        command = Opening(
            tx_id=uuid.uuid4(),
            station=demo_plan.DEMO_STATION,
            operator=demo_plan.DEMO_OPERATOR,
            lines=chunk,
        )
        outcome = submit(command, ledger)
        if not outcome.ok:
            raise click.ClickException(f"opening stock refused: {outcome.message}")
        step(len(chunk))


# --- import -----------------------------------------------------------------------------------

IMPORT_HELP = """Import reference data from a CSV file with a header row. Columns:

\b
  skus:       sku,name[,gtin,unit_volume_cm3,unit_weight_g,tracking,lookalike_group,
              reorder_point,lead_time_days,aliases,min_shelf_days,unit_value]  (tracking
              none|lot|serial; aliases a|b; min_shelf_days: the fewest days of shelf life a lot
              must have left; unit_value: what one unit is worth, such as 12.50, for the ABC
              classes of cycle counts)
  barcodes:   sku,barcode,pack_qty[,kind]  (pack_qty: the units one scan stands for, 1 or more;
              kind gtin|alias, default gtin when the barcode reads as a GTIN)
  locations:  code,kind[,zone,aisle,bay,level,pick_sequence,max_units,max_volume_cm3,max_weight_g]
              (kind bin|dock|staging|quarantine|outbound|returns)
  operators:  badge,name,role[,pin]  (role dock|picker|counter|supervisor; supervisors need a
              pin of at least 6 digits 0-9, or the policy's pin_min_digits)
  stations:   code,name[,zone,dock]  (dock: the station's receiving location)
  receipts:   receipt,sku,qty[,lot,expiry,line]  (expiry YYYY-MM-DD)
  orders:     order,line,sku,qty[,priority,due_date]  (priority: higher is picked first;
              due_date YYYY-MM-DD; both belong to the order, on any of its lines)

Codes (sku, aliases, barcode, badge, location and station code, dock, receipt, order) hold only
the letters A-Z and a-z, the digits 0-9 and - . _ /. A code names one thing: a badge, location,
SKU, GTIN, alias, receipt or order code may not be another one's code, in the file or already in
the database (a SKU's own code, GTIN and aliases may coincide). A barcode or alias that reads as
a GTIN (8, 12, 13 or 14 digits, valid check digit) is stored as its 14 digits. Numbers are
whole, from 0 (1 for quantities, capacities and pack quantities) to 2147483647.

With --update (skus, barcodes, locations, operators, stations), a row whose code exists changes
that row and any other row is added; a column left out of the file keeps what is there. Every
row added or changed is recorded in the audit (perpetua audit) with --by BADGE or the OS user.

A bad row is reported with its line number and nothing of that file is imported.
"""

IMPORT_PROBLEMS_SHOWN = 200
"""Problems (and, with --update, rows of the report) printed at most; a count says the rest."""

WRITERS: dict[str, Callable[[Connection, Any, Callable[[int], None]], int]] = {
    "skus": catalogue.add_skus,
    "barcodes": catalogue.add_barcodes,
    "locations": catalogue.add_locations,
    "operators": catalogue.add_operators,
    "stations": catalogue.add_stations,
    "receipts": catalogue.add_receipts,
    "orders": catalogue.add_orders,
}

MASTER_KINDS = frozenset(k.value for k in MasterKind)
"""What an import may update; receipts and orders are documents: new ones are imported."""


@dataclass
class _Imported:
    errors: list[str]
    count: int = 0
    plan: ImportPlan[Any] | None = None


@main.command("import", help=IMPORT_HELP)
@click.argument("kind", type=click.Choice(sorted(PARSERS)))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--update",
    is_flag=True,
    help="Change the rows that exist (matched on their code, badge or barcode) and add the "
    "others; print what was added and changed.",
)
@click.option("--by", metavar="BADGE", help="Your badge, for the audit (default: the OS user).")
@click.pass_obj
def import_(obj: Context, kind: str, file: Path, update: bool, by: str | None) -> None:
    if update and kind not in MASTER_KINDS:
        raise click.ClickException(
            f"{kind} cannot be changed by an import: they are documents, not master data. "
            f"Import new {kind} under new codes instead (without --update). Nothing was imported."
        )
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(f"{file} is not UTF-8 text") from None
    with obj.runtime() as rt:
        done = _import_file(rt, kind, text, update, by)
        if not done.errors:
            with rt.engine.begin() as c:
                catalogue.analyze(c, catalogue.IMPORTED_TABLES[kind])
    if done.errors:
        for error in done.errors[:IMPORT_PROBLEMS_SHOWN]:
            click.echo(f"{file}: {error}", err=True)
        if len(done.errors) > IMPORT_PROBLEMS_SHOWN:
            click.echo(f"{file}: ... and {len(done.errors) - IMPORT_PROBLEMS_SHOWN} more", err=True)
        if update and done.plan is not None:
            click.echo(_update_summary(file, done.plan, done.errors), err=True)
        raise click.ClickException(f"{len(done.errors)} problem(s) in {file}; nothing was imported")
    if update and done.plan is not None:
        _report_update(file, done.plan)
    else:
        noun = {"receipts": "receipt lines", "orders": "order lines"}.get(kind, kind)
        click.echo(f"imported {done.count} {noun} from {file}")


def _import_file(rt: Runtime, kind: str, text: str, update: bool, by: str | None) -> _Imported:
    """Check and write one file: its problems and nothing written, or the rows written. The
    rows' own checks run before the transaction; the questions to the database (which codes it
    holds, and with --update the rows to compare) and the writes are one transaction, so on
    SQLite stations wait for the write lock only that long. The progress bar counts each row
    twice: checked, then written. Master data is written with its audit rows."""
    with rt.engine.connect().execution_options(**{READONLY: True}) as c:
        rules = ImportRules(pin_min_digits=authority.policy(c).pin_min_digits, update=update)
        try:
            who = master_db.actor(c, by, os_user())
        except MasterDataRefused as refused:
            raise click.ClickException(refused.message) from None
    rows = text.rstrip("\n").count("\n")  # lines after the header (a quoted newline aside)
    with _progress(2 * rows, f"importing {kind}") as step, _without_cycle_collector():
        try:
            # An error inside rolls the transaction back on its way out to the handler below.
            with ExitStack() as transaction:
                opened: list[Connection] = []

                def connection() -> Connection:  # the transaction begins with the first question
                    if not opened:
                        begun = catalogue.bulk_transaction(rt.engine)
                        opened.append(transaction.enter_context(begun))
                    return opened[0]

                def lookup(codes: Collection[str]) -> list[Holder]:
                    return catalogue.holders(connection(), codes)

                result = PARSERS[kind](text, lookup, rules, step)
                if kind not in MASTER_KINDS:
                    if not result.ok:
                        return _Imported(result.errors)  # nothing was written
                    return _Imported([], WRITERS[kind](connection(), result.rows, step))
                if any(line <= 1 for line, _ in result.problems):  # the header, or no rows
                    return _Imported(result.errors)
                existing = master_db.SqlExisting(connection()) if update else None
                plan = plan_import(MasterKind(kind), result, existing)
                problems = sorted(result.problems + plan.problems, key=lambda p: p[0])
                if problems:
                    return _Imported([message for _, message in problems], 0, plan)
                written = master_db.write_plan(connection(), plan, who, WRITERS[kind], step)
                return _Imported([], written, plan)  # commits
        except DBAPIError as error:
            failure = db_errors.classify(error)
            if failure is None:
                raise  # not the data, not the link: a bug
            if failure in db_errors.RETRYABLE:
                why = "the database could not finish it"
                then = "nothing was imported: run the import again"
            else:  # the checks passed, so another writer came in between
                why = "the database refused the file"
                then = "if another import ran at the same time, run this one again to see which"
            return _Imported([f"{why} ({db_errors.first_line(error)}); {then}"])


@contextmanager
def _without_cycle_collector() -> Iterator[None]:
    """Python's cycle collector off while a file is checked and written: an import makes a few
    objects per row that form no cycles (specs, codes, audit rows), and with hundreds of
    thousands of them alive each collection walks them all again, which took about half the
    checking time of 200,000 SKUs. Reference counting still frees everything."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _update_summary(file: Path, plan: ImportPlan[Any], errors: Sequence[str]) -> str:
    refused = len({e.split(":", 1)[0] for e in errors if e.startswith("line ")})
    return (
        f"{file}: refused {refused} row(s), so nothing was added or changed; the other rows "
        f"would have added {len(plan.added)}, changed {len(plan.changed)} and left "
        f"{plan.unchanged} unchanged"
    )


def _report_update(file: Path, plan: ImportPlan[Any]) -> None:
    """What an import with --update did: the counts, then each row added or changed."""
    click.echo(
        f"{plan.kind} from {file}: added {len(plan.added)}, changed {len(plan.changed)}, "
        f"unchanged {plan.unchanged}, refused 0"
    )
    rows: list[tuple[int, str]] = [
        (line, f"  line {line}: added {key_of(plan.kind, spec)}")
        for line, spec in zip(plan.added_lines, plan.added, strict=True)
    ]
    for ch in plan.changed:
        what = [f"{name} {_shown(old)} -> {_shown(new)}" for name, (old, new) in ch.changes.items()]
        code = key_of(plan.kind, ch.before)
        if code in plan.pins:
            what.append("PIN set")
        rows.append((ch.line, f"  line {ch.line}: changed {code}: {', '.join(what)}"))
    rows.sort()
    for _, row in rows[:IMPORT_PROBLEMS_SHOWN]:
        click.echo(row)
    if len(rows) > IMPORT_PROBLEMS_SHOWN:
        click.echo(
            f"  ... and {len(rows) - IMPORT_PROBLEMS_SHOWN} more "
            f"(perpetua audit --kind {plan.kind} lists every change)"
        )


def _shown(value: Any) -> str:
    """A value in the report: text quoted, nothing as (none), a list of codes as a|b."""
    if value is None or value == []:
        return "(none)"
    if isinstance(value, list):
        return "|".join(str(v) for v in value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# --- reports ----------------------------------------------------------------------------------


@main.command()
@click.option("--sku", help="Only this SKU.")
@click.option("--location", help="Only this location.")
@click.option(
    "--limit",
    default=1000,
    show_default=True,
    type=click.IntRange(min=0),
    help="Rows at most (0: all).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
def stock(obj: Context, sku: str | None, location: str | None, limit: int, as_json: bool) -> None:
    """Stock on hand per location, SKU and lot (real locations only). Held stock (in quarantine,
    or on a location or lot on hold) shows 0 available and why it is held."""
    with obj.runtime() as rt, rt.engine.connect() as c:
        rows = queries.stock(c, sku, location, limit or None)
        more = queries.stock_count(c, sku, location) - len(rows) if limit else 0
    if as_json:
        for row in rows:
            _echo_json(row)
        return
    columns = ["location", "sku", "lot", "expiry", "on_hand", "reserved", "available", "held"]
    _table(rows, [*columns, "name"])
    if more > 0:
        click.echo(f"... {more} more rows (use --limit 0 for all)")


@main.command()
@click.option("--sku", help="Only moves of this SKU.")
@click.option("--location", help="Only moves from or to this location.")
@click.option(
    "--limit",
    default=100,
    show_default=True,
    type=click.IntRange(min=0),
    help="The most recent N (0: all).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
def moves(obj: Context, sku: str | None, location: str | None, limit: int, as_json: bool) -> None:
    """The ledger: every move with its transaction, station, operator and reason."""
    with obj.runtime() as rt, rt.engine.connect() as c:
        rows = queries.moves(c, sku, location, limit or None)
    if as_json:
        for row in rows:
            _echo_json(row)
        return
    _table(
        rows,
        [
            "move",
            "db_time",
            "kind",
            "station",
            "operator",
            "sku",
            "lot",
            "qty",
            "from",
            "to",
            "reason",
        ],
    )


# --- stow -------------------------------------------------------------------------------------


@main.group()
def stow() -> None:
    """Chaotic storage: where to put goods away."""


@stow.command("suggest")
@click.option("--sku", required=True, help="The SKU to put away.")
@click.option("--qty", required=True, type=click.IntRange(1), help="How many units.")
@click.option("--zone", help="The zone to prefer (the station's zone).")
@click.option("--lot", help="The lot, for lot-tracked SKUs (two lots never share a bin).")
@click.option("--station", help="Hold the first bin's space for this station for a while.")
@click.option("--seed", type=int, help="Seed for the random choice among equal bins.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_obj
def stow_suggest(
    obj: Context,
    sku: str,
    qty: int,
    zone: str | None,
    lot: str | None,
    station: str | None,
    seed: int | None,
    as_json: bool,
) -> None:
    """Rank bins with room for QTY units of SKU; with --station, hold space in the first."""
    settings = obj.settings()
    with obj.runtime() as rt:
        try:
            answer = stow_service.suggest(
                rt.ledger,
                sku,
                qty,
                near_zone=zone,
                lot=lot,
                station=station,
                policy=settings.stow,
                rng=random.Random(seed),
                hold=station is not None,
            )
        except Rejection as refused:
            raise click.ClickException(refused.message) from None
    rows = [
        {
            "rank": n,
            "location": s.code,
            "zone": s.zone,
            "pick_sequence": s.pick_sequence,
            "free_units": s.free.units,
            "free_volume_cm3": s.free.volume_cm3,
            "free_weight_g": s.free.weight_g,
            "why": s.why,
            "held": answer.held is not None and answer.held.location_id == s.location_id,
        }
        for n, s in enumerate(answer.suggestions, 1)
    ]
    if as_json:
        _echo_json({"sku": answer.sku, "qty": answer.qty, "suggestions": rows})
        return
    if not rows:
        raise click.ClickException(f"no bin has room for {qty} x {sku}")
    _table(
        rows, ["rank", "location", "zone", "pick_sequence", "free_units", "free_volume_cm3", "why"]
    )
    if answer.held is not None:
        click.echo(f"holding space in {answer.held.code} for {settings.stow.hold_seconds} s")


@stow.command("classify")
@click.option("--days", default=30, show_default=True, type=click.IntRange(1))
@click.pass_obj
def stow_classify(obj: Context, days: int) -> None:
    """Mark fast movers: velocity classes A/B/C from the picks of the last DAYS days."""
    with obj.runtime() as rt:
        counts = stow_service.classify(rt.ledger, days)
    click.echo(
        f"velocity classes from {days} days of picks: {counts['A']} A (fast), {counts['B']} B"
    )


INVARIANT_NAMES = {
    "sum_not_zero": "1. per SKU and lot, the sum over all locations is 0",
    "negative_or_over_reserved": "2. no real location negative; reserved within on hand",
    "balance_not_replay": "3. balances equal a replay of the moves (and open reservations)",
    "move_without_provenance": "4. every move names operator, station, times and reason",
    "order_line_over": "5. per order line, reserved + picked <= ordered, shipped <= picked",
}


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_obj
def verify(obj: Context, as_json: bool) -> None:
    """Check the five ledger invariants; exit status 1 if any is violated."""
    with obj.runtime() as rt, rt.ledger.reader() as uow:
        report = uow.store.invariant_report()
    if as_json:
        _echo_json(
            {
                "violations": report.as_dict(),
                "order_lines": list(report.order_lines),
                "ok": report.total == 0,
            }
        )
    else:
        for key, label in INVARIANT_NAMES.items():
            click.echo(f"{report.as_dict()[key]:>8}  {label}")
        for line in report.order_lines:
            click.echo(f"          {line}")
        click.echo("ledger OK" if report.total == 0 else f"{report.total} violation(s)")
    if report.total:
        sys.exit(1)


# Scan-input commands live in app/commands, one module each.
for _command in (
    interpret_command,
    decode_command,
    rfid_group,
    replay_command,
    station_command,
    sheet_command,
    orders_command,
    ship_command,
    order_group,
    outbox_group,
    policy_group,
    operators_group,
    operator_group,
    deactivate_command,
    activate_command,
    audit_command,
    receipts_command,
    receipt_command,
    hold_command,
    release_command,
    holds_command,
    expired_command,
    exceptions_group,
    report_group,
    counts_group,
):
    main.add_command(_command)
report_group.add_command(age_command)
report_group.add_command(turnover_command)
report_group.add_command(receiving_command)
report_group.add_command(picks_command)
report_group.add_command(health_command)
report_group.add_command(stock_report_command)
report_group.add_command(trace_report_command)
report_group.add_command(expiring_report_command)
report_group.add_command(adjustments_report_command)
report_group.add_command(replenishment_command)
main.add_command(replenishment_group)


def run() -> None:
    """The `perpetua` command. Everything it prints, tracebacks and log lines included, goes
    through a filter that hides every database password the process knows of."""
    passwords.mask_output()
    try:
        main()
    except DatabaseUnavailable as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
