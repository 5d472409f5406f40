"""The station replica: a local SQLite copy of what a station needs to work alone.

DESIGN.md section 2. Interpretation and every workflow read of a station go here, online or not,
so that a scan costs the shared database one transaction (the ledger's) and an outage costs the
station nothing it can do alone. The copy holds the catalogue (SKUs, barcodes, locations with
their capacities, operators with role and PIN hash, stations), receipts with what was received
against the open ones, orders with their claims, count tasks, the balances of real locations, and
the open reservations of the pick lists this station holds.

What the station has sent but the copy does not show yet lives in `effects`: each transaction the
station queues is written there with its payload (and, once confirmed, its answer), and reads
fold it in: a receive queued during an outage is in the dock lane at once, a queued putaway is
out of it, a posted pick leaves the list. A refresh copies the database's snapshot and, in the
same snapshot, asks which of those transactions the ledger has; those effects go, as the snapshot
now holds them. A refused transaction's effect goes when the refusal comes back. So the copy is
always "the database as of the last refresh, plus what this station did since", and never counts
a transaction twice.

The file belongs to one database (its permanent id, DESIGN.md section 2): a refresh from another
database is refused. Plain `sqlite3`, one connection guarded by a lock: the refresher thread writes
while the station's worker reads.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from app.adapters.pins import matches
from app.domain.commands import Command, TxKind
from app.domain.gs1 import gtin_forms
from app.domain.holds import hold_text
from app.domain.interpret import NO_MATCH, Barcode, CodeMatch
from app.domain.ledger import Outcome
from app.domain.model import LocationKind, Operator, Role, Tracking
from app.domain.orders import Claim, Person
from app.domain.policy import WarehousePolicy
from app.domain.rules import PinCheck, PinStatus, next_failure
from app.domain.workflow import (
    CountState,
    CountTask,
    CountTaskChoice,
    Freshness,
    Holding,
    PickLine,
    Receipt,
    ReceiptLine,
    SkuInfo,
    StationInfo,
    Stock,
    StockList,
)

SCHEMA_VERSION = "4"
"""Version 2: PIN verifiers left `operators` for `pins`; the warehouse policy is copied. Version
3: SKUs' minimum shelf life, barcodes' pack quantities, holds. Version 4: count tasks' assignee,
zone, planned day and origin (the count screen lists the counter's tasks). A file of another
version is emptied and copied again at open (its queued effects are kept)."""
CATALOGUE_TABLES = (
    "skus",
    "barcodes",
    "locations",
    "operators",
    "stations",
    "receipts",
    "receipt_lines",
    "orders",
    "count_tasks",
    "holds",
    "quants",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS skus (
    id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, name TEXT NOT NULL, tracking TEXT NOT NULL,
    unit_volume_cm3 INTEGER NOT NULL, unit_weight_g INTEGER NOT NULL, active INTEGER NOT NULL,
    min_shelf_days INTEGER);
CREATE TABLE IF NOT EXISTS barcodes (
    id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, sku_id INTEGER NOT NULL, kind TEXT NOT NULL,
    pack_qty INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS holds (
    id INTEGER PRIMARY KEY, location_id INTEGER, lot_id INTEGER, lot TEXT, sku TEXT,
    reason TEXT NOT NULL, active INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ix_holds_location ON holds (location_id, active);
CREATE INDEX IF NOT EXISTS ix_holds_lot ON holds (sku, lot, active);
CREATE INDEX IF NOT EXISTS ix_barcodes_sku ON barcodes (sku_id);
CREATE TABLE IF NOT EXISTS locations (
    id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, zone TEXT,
    pick_sequence INTEGER NOT NULL, max_units INTEGER, max_volume_cm3 INTEGER,
    max_weight_g INTEGER, active INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ix_locations_kind ON locations (kind, code);
CREATE TABLE IF NOT EXISTS operators (
    id INTEGER PRIMARY KEY, badge TEXT NOT NULL UNIQUE, name TEXT NOT NULL, role TEXT NOT NULL,
    active INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS policy (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pins (
    badge TEXT PRIMARY KEY, verifier TEXT, locked_until TEXT,
    local_failures INTEGER NOT NULL DEFAULT 0, local_locked_until TEXT);
CREATE TABLE IF NOT EXISTS stations (
    id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, zone TEXT, dock_location_id INTEGER);
CREATE TABLE IF NOT EXISTS receipts (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS receipt_lines (
    id INTEGER PRIMARY KEY, receipt_id INTEGER NOT NULL, line INTEGER NOT NULL,
    sku_id INTEGER NOT NULL, qty INTEGER NOT NULL, lot TEXT, expiry TEXT);
CREATE INDEX IF NOT EXISTS ix_receipt_lines_receipt ON receipt_lines (receipt_id, line);
CREATE TABLE IF NOT EXISTS received (
    receipt TEXT NOT NULL, sku TEXT NOT NULL, qty INTEGER NOT NULL, PRIMARY KEY (receipt, sku));
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, status TEXT NOT NULL,
    priority INTEGER NOT NULL, due_date TEXT, status_at TEXT, claim_station_id INTEGER,
    claim_operator_id INTEGER, claimed_at TEXT, claim_active_at TEXT, pickable INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ix_orders_pickable ON orders (pickable, priority, due_date, id);
CREATE TABLE IF NOT EXISTS count_tasks (
    id INTEGER PRIMARY KEY, location_id INTEGER NOT NULL, state TEXT NOT NULL,
    reason TEXT NOT NULL, counted_by TEXT, counts TEXT, snapshot TEXT, counters TEXT,
    assigned_to TEXT, zone TEXT, planned_for TEXT, origin TEXT);
CREATE INDEX IF NOT EXISTS ix_count_tasks_location ON count_tasks (location_id, state);
CREATE INDEX IF NOT EXISTS ix_count_tasks_state ON count_tasks (state);
CREATE TABLE IF NOT EXISTS quants (
    id INTEGER PRIMARY KEY, location_id INTEGER NOT NULL, sku_id INTEGER NOT NULL,
    lot_id INTEGER NOT NULL, on_hand INTEGER NOT NULL, reserved INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ix_quants_location ON quants (location_id);
CREATE INDEX IF NOT EXISTS ix_quants_sku ON quants (sku_id);
CREATE TABLE IF NOT EXISTS lots (
    id INTEGER PRIMARY KEY, sku_id INTEGER, code TEXT NOT NULL, expiry TEXT);
CREATE TABLE IF NOT EXISTS picks (
    reservation INTEGER PRIMARY KEY, order_code TEXT NOT NULL, line INTEGER NOT NULL,
    sku TEXT NOT NULL, lot TEXT, location TEXT NOT NULL, pick_sequence INTEGER NOT NULL,
    qty INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS effects (
    tx_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL,
    result TEXT);
"""

# Ledger kinds whose payload changes what a location holds: (from field, to field).
_MOVES: dict[str, tuple[str | None, str | None]] = {
    TxKind.RECEIVE.value: (None, "to_location"),
    TxKind.PUTAWAY.value: ("from_location", "to_location"),
    TxKind.TRANSFER.value: ("from_location", "to_location"),
    TxKind.RETURN.value: (None, "to_location"),
    TxKind.SHIP.value: ("from_location", None),
    TxKind.SCRAP.value: ("from_location", None),
    # Held goods released by quantity: to `to_location` (inspected ok), or out of stock (none).
    TxKind.RELEASE_HOLD.value: ("location", "to_location"),
}


class ReplicaMismatch(Exception):
    """The replica belongs to another database than the one it was asked to refresh from."""


class ReplicaBusy(Exception):
    """Another refresh holds the replica for longer than the caller would wait."""


@dataclass(frozen=True)
class RefreshReport:
    rows: dict[str, int]
    applied: int
    """Effects dropped because the ledger's snapshot now holds their transactions."""
    seconds: float
    full: bool


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list | dict):
        return json.dumps(value)
    return value


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _holdings(text: str | None) -> tuple[Holding, ...]:
    return tuple(Holding(h["sku"], h.get("lot"), int(h["qty"])) for h in json.loads(text or "[]"))


def _task_places(kind: str, p: dict[str, Any]) -> tuple[str, ...]:
    """The bins a count-task transaction's payload names."""
    if kind == TxKind.ASSIGN_COUNT.value:
        return tuple(p.get("locations") or ())
    return (str(p["location"]),)


def _with_effect(
    task: CountTask | None, location: str, kind: str, p: dict[str, Any]
) -> CountTask | None:
    """A bin's unfinished count task once one of the station's own transactions applies to it
    (as app/services/work_ledger.py applies it in the database)."""
    if kind == TxKind.RAISE_COUNT.value:
        return task if task is not None else CountTask(0, location, CountState.OPEN, p["reason"])
    if kind == TxKind.ASSIGN_COUNT.value:
        if task is None:
            return None
        return replace(task, assigned_to=p.get("to"), zone=p.get("zone"))
    state = CountState(p["state"])
    if state is CountState.DONE:
        return None
    counters = tuple(task.counters) if task else ()
    if p["counter"] not in counters:
        counters = (*counters, p["counter"])
    return CountTask(
        task.id if task else 0,
        location,
        state,
        task.reason if task else "counted",
        p["counter"],
        tuple(Holding(c["sku"], c.get("lot"), int(c["qty"])) for c in p["counts"]),
        tuple(Holding(c["sku"], c.get("lot"), int(c["qty"])) for c in p["snapshot"]),
        counters,
        task.assigned_to if task else None,
        task.zone if task else None,
    )


def _choice(task: CountTask, pick_sequence: int) -> CountTaskChoice:
    counters = task.counters
    if task.counted_by and task.counted_by not in counters:
        counters = (*counters, task.counted_by)
    return CountTaskChoice(
        task.location,
        task.state,
        pick_sequence,
        task.reason,
        task.assigned_to,
        task.zone,
        counters,
    )


class _ReadLock:
    """The reader connection's lock: held, it is one read transaction (a consistent view of
    the copy and the effects), however deeply reads nest."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self.connection: sqlite3.Connection | None = None

    def __enter__(self) -> _ReadLock:
        self._lock.acquire()
        self._depth += 1
        if self._depth == 1 and self.connection is not None:
            self.connection.execute("BEGIN")
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._depth == 1 and self.connection is not None:
                self.connection.execute("COMMIT")
        finally:
            self._depth -= 1
            self._lock.release()

    def held(self) -> threading.RLock:
        """The lock alone, without a read transaction (to close the connection)."""
        return self._lock


class Replica:
    """One station's replica file. Safe to share between threads (one connection, one lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Two connections: the refresher writes on one while the station reads on the other,
        # so a scan never waits for a refresh's batch (WAL: a reader sees the last commit).
        self._lock = _ReadLock()
        self._write_lock = threading.RLock()
        self._refreshing = threading.Lock()
        self._writer = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._writer.execute("PRAGMA journal_mode=WAL")
        self._writer.execute("PRAGMA synchronous=NORMAL")
        self._writer.execute("PRAGMA busy_timeout=5000")
        self._upgrade()
        self._writer.executescript(_SCHEMA)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout=5000")
        self._lock.connection = self._db

    def _upgrade(self) -> None:
        """Empty a copy made by another version of this file's layout (it is copied again at
        the next refresh); the effects of queued transactions stay."""
        db = self._writer
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
            return
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None or row[0] == SCHEMA_VERSION:
            return
        names = [
            r[0]
            for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if r[0] not in ("effects", "sqlite_sequence")
        ]
        db.execute("BEGIN IMMEDIATE")
        for name in names:
            db.execute(f"DROP TABLE {name}")
        db.execute("COMMIT")

    def close(self) -> None:
        with self._lock.held(), self._write_lock:
            self._lock.connection = None
            self._db.close()
            self._writer.close()

    def reset(self) -> None:
        """Forget everything: the next refresh copies the whole database again (this replica
        was another database's, and nothing of the station's waits for it)."""
        with self._refreshing, self._writing() as db:
            for name in (
                *CATALOGUE_TABLES,
                *("lots", "received", "picks", "effects", "meta", "policy", "pins"),
            ):
                db.execute(f"DELETE FROM {name}")

    # --- meta ----------------------------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, **values: Any) -> None:
        self._writer.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [(k, str(v)) for k, v in values.items()],
        )

    @property
    def database_id(self) -> str | None:
        with self._lock:
            return self._meta("database_id")

    @property
    def refreshed_at(self) -> datetime | None:
        """When the last refresh finished (None: never)."""
        with self._lock:
            return _when(self._meta("refreshed_at"))

    @property
    def ready(self) -> bool:
        return self.refreshed_at is not None

    # --- refresh -------------------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._writer.execute("COMMIT")

    def refresh(self, source: Any, station: str, wait_s: float | None = None) -> RefreshReport:
        """Copy what changed in the database since the last refresh (everything the first time).

        `source` is an app.adapters.db.replica_source.Source. One refresh at a time: with
        `wait_s`, ReplicaBusy if another one is still running after that long (the station's
        worker never waits long on a refresher stuck in a dying connection). Raises
        ReplicaMismatch when the database is not the one this replica was made from; database
        errors propagate."""
        if not self._refreshing.acquire(timeout=-1 if wait_s is None else wait_s):
            raise ReplicaBusy(f"another refresh is still running after {wait_s} s")
        try:
            return self._refresh(source, station)
        finally:
            self._refreshing.release()

    def _refresh(self, source: Any, station: str) -> RefreshReport:
        started = time.perf_counter()
        with self._lock:
            since = int(self._meta("since") or 0)
            known = self._meta("database_id")
            pending = [uuid.UUID(r[0]) for r in self._db.execute("SELECT tx_id FROM effects")]
        full = since == 0
        counts: dict[str, int] = {}
        # A first copy is written batch by batch (there are no effects yet to count twice); a
        # refresh writes everything in one transaction with the removal of the effects the
        # snapshot now holds, so that a read sees either the old copy with them or the new
        # copy without them, never a transaction twice or not at all.
        later: list[tuple[str, list[tuple[Any, ...]]]] = []
        lot_ids: set[int] = set()
        for snap in source.snapshot(since):
            if known is not None and snap.database_id != known:
                raise ReplicaMismatch(
                    f"this replica belongs to database {known}, not {snap.database_id}"
                )
            for name in CATALOGUE_TABLES:
                counts[name] = 0
                for batch in snap.rows(name):
                    counts[name] += len(batch)
                    if name == "quants":
                        lot_ids.update(int(row[3]) for row in batch)
                    if full:
                        with self._writing() as db:
                            self._upsert(db, name, batch)
                    else:
                        later.append((name, batch))
            missing = self._missing_lots(sorted(lot_ids))
            lot_rows = snap.lots(missing) if missing else []
            received = snap.received()
            policy, pins = snap.policy(), snap.pins()
            picks = snap.picks(station)
            applied = snap.applied(pending)
            with self._writing() as db:
                for name, batch in later:
                    self._upsert(db, name, batch)
                if lot_rows:
                    db.executemany(
                        "INSERT OR REPLACE INTO lots VALUES (?, ?, ?, ?)",
                        [tuple(_iso(v) for v in r) for r in lot_rows],
                    )
                db.executemany(
                    "INSERT INTO policy VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    policy,
                )
                db.executemany(
                    "INSERT INTO pins (badge, verifier, locked_until) VALUES (?, ?, ?) "
                    "ON CONFLICT (badge) DO UPDATE SET verifier = excluded.verifier, "
                    "locked_until = excluded.locked_until",
                    [(b, v, _iso(u)) for b, v, u, _ in pins],
                )
                db.execute("DELETE FROM received")
                db.executemany("INSERT INTO received VALUES (?, ?, ?)", received)
                db.execute("DELETE FROM picks")
                db.executemany(
                    "INSERT INTO picks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (r[0], r[1], r[2], r[3], None if r[4] == 0 else r[5], r[6], r[7], r[8])
                        for r in picks
                    ],
                )
                db.executemany("DELETE FROM effects WHERE tx_id = ?", [(str(t),) for t in applied])
                self._set_meta(
                    database_id=snap.database_id,
                    station=station,
                    since=snap.next_since,
                    refreshed_at=datetime.now(UTC).isoformat(),
                    schema=SCHEMA_VERSION,
                )
        return RefreshReport(counts, len(applied), time.perf_counter() - started, full)

    def _missing_lots(self, ids: Sequence[int]) -> list[int]:
        """Lots the copied balances name that the copy does not have yet (lots are never
        changed in a way a station reads, so they are fetched once, by id)."""
        have: set[int] = set()
        with self._lock:
            for start in range(0, len(ids), 900):
                chunk = ids[start : start + 900]
                marks = ", ".join("?" * len(chunk))
                found = self._db.execute(f"SELECT id FROM lots WHERE id IN ({marks})", chunk)
                have.update(int(r[0]) for r in found)
        return [i for i in ids if i not in have]

    @staticmethod
    def _upsert(db: sqlite3.Connection, name: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        marks = ", ".join("?" * len(rows[0]))
        db.executemany(
            f"INSERT OR REPLACE INTO {name} VALUES ({marks})",
            [tuple(_iso(v) for v in r) for r in rows],
        )

    # --- effects of the station's own transactions ---------------------------------------------

    def add_effect(self, command: Command) -> None:
        """The station queued this transaction: reads show its effect from now on."""
        payload = json.dumps(command.payload(), sort_keys=True)
        with self._write_lock:
            self._writer.execute(
                "INSERT INTO effects (tx_id, seq, kind, payload) VALUES (?, "
                "(SELECT coalesce(max(seq), 0) + 1 FROM effects), ?, ?) "
                "ON CONFLICT (tx_id) DO NOTHING",
                (str(command.tx_id), command.kind.value, payload),
            )

    def answered(self, outcome: Outcome) -> None:
        """The ledger answered: a refusal's effect goes; a confirmation keeps it (with the
        answer) until a refresh shows the ledger's own figures."""
        with self._write_lock:
            if outcome.ok:
                self._writer.execute(
                    "UPDATE effects SET result = ? WHERE tx_id = ?",
                    (json.dumps(dict(outcome.result)), str(outcome.tx_id)),
                )
            else:
                self._writer.execute("DELETE FROM effects WHERE tx_id = ?", (str(outcome.tx_id),))

    def _effects(self, *kinds: str) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
        marks = ", ".join("?" * len(kinds))
        rows = self._db.execute(
            f"SELECT kind, payload, result FROM effects WHERE kind IN ({marks}) ORDER BY seq",
            kinds,
        ).fetchall()
        return [(k, json.loads(p), json.loads(r) if r else None) for k, p, r in rows]

    # --- reads: who and where ------------------------------------------------------------------

    def _one(self, sql: str, *params: Any) -> Any:
        with self._lock:
            return self._db.execute(sql, params).fetchone()

    def _all(self, sql: str, *params: Any) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def station(self, code: str) -> StationInfo | None:
        r = self._one(
            "SELECT s.code, s.zone, d.code FROM stations s "
            "LEFT JOIN locations d ON d.id = s.dock_location_id WHERE s.code = ?",
            code,
        )
        if r is None:
            return None
        return StationInfo(
            r[0],
            r[1],
            r[2],
            self._first(LocationKind.QUARANTINE),
            self._first(LocationKind.RETURNS),
        )

    def _first(self, kind: LocationKind) -> str | None:
        r = self._one(
            "SELECT code FROM locations WHERE kind = ? AND active = 1 ORDER BY code LIMIT 1",
            kind.value,
        )
        return None if r is None else str(r[0])

    def operator(self, badge: str) -> Operator | None:
        r = self._one("SELECT id, badge, name, role, active FROM operators WHERE badge = ?", badge)
        return None if r is None else Operator(r[0], r[1], r[2], Role(r[3]), bool(r[4]))

    def policy(self) -> WarehousePolicy:
        """The warehouse policy as last copied (the defaults before the first copy)."""
        with self._lock:
            rows = self._db.execute("SELECT key, value FROM policy").fetchall()
        return WarehousePolicy.from_values(dict(rows))

    def check_pin(self, badge: str, pin: str) -> PinCheck:
        """A supervisor's PIN against the offline verifier, while the database is out of reach.
        Honours a lockout the database had when last copied, and counts wrong PINs here (the
        database learns nothing of them: a station's own count is all there is offline)."""
        rules = self.policy()
        now = datetime.now(UTC)
        with self._lock:
            r = self._db.execute(
                "SELECT p.verifier, p.locked_until, p.local_failures, p.local_locked_until "
                "FROM pins p JOIN operators o ON o.badge = p.badge "
                "WHERE p.badge = ? AND o.role = ? AND o.active = 1",
                (badge, Role.SUPERVISOR.value),
            ).fetchone()
        if r is None or not r[0]:
            return PinCheck(PinStatus.NO_PIN)
        until = max((t for t in (_when(r[1]), _when(r[3])) if t is not None), default=None)
        if until is not None and until > now:
            return PinCheck(
                PinStatus.LOCKED, locked_s=max(1, int((until - now).total_seconds() + 1))
            )
        if matches(r[0], pin):
            self._set_local(badge, 0, None)
            return PinCheck(PinStatus.OK)
        failures, lock_s = next_failure(int(r[2]), rules.pin_attempts, rules.lockout_seconds)
        locked = (now + timedelta(seconds=lock_s)).isoformat() if lock_s else None
        self._set_local(badge, failures, locked)
        return PinCheck(PinStatus.WRONG, 0 if lock_s else rules.pin_attempts - failures, lock_s)

    def _set_local(self, badge: str, failures: int, locked_until: str | None) -> None:
        with self._write_lock:
            self._writer.execute(
                "UPDATE pins SET local_failures = ?, local_locked_until = ? WHERE badge = ?",
                (failures, locked_until, badge),
            )

    def held(self, location: str, sku: str | None = None, lot: str | None = None) -> str | None:
        """Why stock in `location` (of `lot` of `sku`, if given) is held, as last copied."""
        r = self._one(
            "SELECT l.kind, (SELECT h.reason FROM holds h WHERE h.location_id = l.id "
            "AND h.active) FROM locations l WHERE l.code = ?",
            location,
        )
        lot_reason = None
        if sku and lot:
            found = self._one(
                "SELECT reason FROM holds WHERE sku = ? AND lot = ? AND active", sku, lot
            )
            lot_reason = None if found is None else str(found[0])
        return hold_text(
            location,
            quarantine=r is not None and r[0] == LocationKind.QUARANTINE.value,
            location_reason=None if r is None or r[1] is None else str(r[1]),
            sku=sku,
            lot=lot,
            lot_reason=lot_reason,
        )

    def location_kind(self, code: str) -> str | None:
        r = self._one("SELECT kind FROM locations WHERE code = ? AND kind != 'virtual'", code)
        return None if r is None else str(r[0])

    # --- reads: items --------------------------------------------------------------------------

    def _sku(self, r: Any) -> SkuInfo | None:
        return None if r is None else SkuInfo(r[0], r[1], Tracking(r[2]), r[3], r[4])

    _SKU = (
        "SELECT s.code, s.name, s.tracking, (SELECT b.code FROM barcodes b WHERE b.sku_id = s.id "
        "AND b.kind = 'gtin' ORDER BY b.id LIMIT 1), s.min_shelf_days FROM skus s "
    )

    def sku(self, code: str) -> SkuInfo | None:
        return self._sku(self._one(self._SKU + "WHERE s.code = ?", code))

    def sku_by_gtin(self, gtin: str) -> SkuInfo | None:
        """The SKU of the 14-digit `gtin`: its GTIN barcode, else an alias under one of its
        forms (old data), as the interpreter finds it."""
        found = self.barcode(gtin_forms(gtin))
        if found is None:
            return None
        r = self._one(
            "SELECT code, name, tracking, ?, min_shelf_days FROM skus WHERE code = ?",
            gtin,
            found.sku,
        )
        return self._sku(r)

    # --- the interpreter's catalogue -------------------------------------------------------------

    def identify(self, code: str) -> CodeMatch:
        r = self._one(
            "SELECT "
            "EXISTS (SELECT 1 FROM operators WHERE badge = ?1), "
            "EXISTS (SELECT 1 FROM locations WHERE code = ?1 AND kind != 'virtual'), "
            "(SELECT s.code FROM barcodes b JOIN skus s ON s.id = b.sku_id "
            " WHERE b.code = ?1 AND b.kind = 'alias'), "
            "EXISTS (SELECT 1 FROM receipts WHERE code = ?1), "
            "EXISTS (SELECT 1 FROM orders WHERE code = ?1), "
            "(SELECT b.pack_qty FROM barcodes b WHERE b.code = ?1 AND b.kind = 'alias')",
            code,
        )
        if r is None:
            return NO_MATCH
        pack = 1 if r[5] is None else int(r[5])
        return CodeMatch(
            badge=bool(r[0]),
            location=bool(r[1]),
            alias_sku=r[2],
            receipt=bool(r[3]),
            order=bool(r[4]),
            alias_pack=pack,
        )

    def barcode(self, codes: Sequence[str]) -> Barcode | None:
        """The first of `codes` that is a barcode (GTIN or alias), with its SKU and pack."""
        wanted = list(dict.fromkeys(codes))
        if not wanted:
            return None
        rows = self._all(
            "SELECT b.code, s.code, b.pack_qty, b.kind FROM barcodes b "
            f"JOIN skus s ON s.id = b.sku_id WHERE b.code IN ({', '.join('?' * len(wanted))})",
            *wanted,
        )
        found = {r[0]: Barcode(r[0], r[1], int(r[2]), r[3]) for r in rows}
        return next((found[c] for c in wanted if c in found), None)

    def gtin_sku(self, gtin: str) -> str | None:
        """The SKU of the GTIN barcode `gtin` (14 digits), aliases aside."""
        found = self.barcode((gtin,))
        return found.sku if found is not None and found.kind == "gtin" else None

    # --- receipts --------------------------------------------------------------------------------

    def _closed_here(self) -> set[str]:
        return {p["receipt"] for _, p, _ in self._effects(TxKind.CLOSE_RECEIPT.value)}

    def open_receipts(self, limit: int) -> list[str]:
        with self._lock:
            closed = self._closed_here()
            rows = self._db.execute(
                "SELECT code FROM receipts WHERE status = 'open' ORDER BY id LIMIT ?",
                (limit + len(closed),),
            ).fetchall()
        return [r[0] for r in rows if r[0] not in closed][: max(limit, 0)]

    def receipt(self, code: str) -> Receipt | None:
        with self._lock:
            head = self._db.execute(
                "SELECT id, status FROM receipts WHERE code = ?", (code,)
            ).fetchone()
            if head is None:
                return None
            lines = self._db.execute(
                "SELECT l.line, s.code, l.qty, l.lot, l.expiry FROM receipt_lines l "
                "JOIN skus s ON s.id = l.sku_id WHERE l.receipt_id = ? ORDER BY l.line",
                (head[0],),
            ).fetchall()
            received: dict[str, int] = defaultdict(int)
            for sku, qty in self._db.execute(
                "SELECT sku, qty FROM received WHERE receipt = ?", (code,)
            ):
                received[sku] += int(qty)
            for _, p, _ in self._effects(TxKind.RECEIVE.value):
                if p.get("receipt") == code:
                    received[p["sku"]] += int(p["qty"])
            status = "closed" if code in self._closed_here() else head[1]
        return Receipt(
            code,
            status,
            tuple(
                ReceiptLine(n, sku, qty, lot, date.fromisoformat(exp) if exp else None)
                for n, sku, qty, lot, exp in lines
            ),
            dict(received),
        )

    # --- orders and picks ------------------------------------------------------------------------

    def _released_here(self) -> set[str]:
        return {p["order"] for _, p, _ in self._effects(TxKind.RELEASE_LIST.value)}

    def open_orders(self, limit: int) -> list[str]:
        rows = self._all(
            "SELECT code FROM orders WHERE pickable = 1 "
            "ORDER BY priority DESC, due_date IS NULL, due_date, id LIMIT ?",
            max(limit, 0),
        )
        return [r[0] for r in rows]

    def open_order_count(self) -> int:
        return int(self._one("SELECT count(*) FROM orders WHERE pickable = 1")[0])

    def order_claim(self, order: str) -> Claim | None:
        with self._lock:
            if order in self._released_here():
                return None
            r = self._db.execute(
                "SELECT o.claimed_at, o.claim_active_at, p.badge, p.name, s.code FROM orders o "
                "JOIN operators p ON p.id = o.claim_operator_id "
                "JOIN stations s ON s.id = o.claim_station_id WHERE o.code = ?",
                (order,),
            ).fetchone()
        if r is None:
            return None
        since, active = _when(r[0]), _when(r[1])
        assert since is not None and active is not None
        return Claim(Person(r[2], r[3], r[4]), since, active)

    def open_picks(self, order: str) -> list[PickLine]:
        """The open reservations of a list this station holds (a TakeList is followed by a
        refresh, so its reservations are here), less the picks posted since."""
        with self._lock:
            rows = self._db.execute(
                "SELECT reservation, line, sku, lot, location, pick_sequence, qty FROM picks "
                "WHERE order_code = ?",
                (order,),
            ).fetchall()
            picks = {r[0]: PickLine(r[0], order, r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows}
            for _, p, _ in self._effects(TxKind.POST_PICK.value, TxKind.VOID.value):
                picks.pop(int(p["reservation"]), None)
            if order in self._released_here():
                picks.clear()
        return sorted(picks.values(), key=lambda p: (p.pick_sequence, p.location, p.reservation))

    # --- stock -----------------------------------------------------------------------------------

    def contents(self, location: str) -> list[Holding]:
        """What a real location holds: the copy's balances plus the station's own transactions
        not in them yet."""
        with self._lock:
            place = self._db.execute(
                "SELECT id FROM locations WHERE code = ? AND kind != 'virtual'", (location,)
            ).fetchone()
            if place is None:
                return []
            held: dict[tuple[str, str | None], int] = defaultdict(int)
            for sku, lot_id, lot, qty in self._db.execute(
                "SELECT s.code, q.lot_id, l.code, q.on_hand FROM quants q "
                "JOIN skus s ON s.id = q.sku_id LEFT JOIN lots l ON l.id = q.lot_id "
                "WHERE q.location_id = ? AND q.on_hand != 0",
                (place[0],),
            ):
                held[(sku, None if lot_id == 0 else lot)] += int(qty)
            for delta in self._deltas():
                if delta[0] == location:
                    held[(delta[1], delta[2])] += delta[3]
        return [
            Holding(sku, lot, qty)
            for (sku, lot), qty in sorted(held.items(), key=lambda i: (i[0][0], i[0][1] or ""))
            if qty > 0
        ]

    def freshness(self) -> Freshness:
        """The copy's age: as of its last refresh (None: never copied)."""
        return Freshness(live=False, copied_at=self.refreshed_at)

    def stock_at(self, location: str) -> list[Stock]:
        """What a real location holds, per SKU and lot, with expiry and reserved units (a stock
        lookup), the station's own transactions folded in."""
        return sorted(self._stock(location=location), key=lambda s: (s.sku, s.lot or ""))

    def stock_of(self, sku: str, limit: int) -> StockList:
        """Every real location holding `sku`, in pick-path order, capped at `limit` locations."""
        lines = sorted(
            self._stock(sku=sku),
            key=lambda s: (s.pick_sequence, s.location, s.expiry or date.max, s.lot or ""),
        )
        return StockList.capped(lines, limit)

    def _stock(self, location: str | None = None, sku: str | None = None) -> list[Stock]:
        """Balances on hand of one real location or of one SKU: the copy's (with its reserved
        units and lot expiry) plus the station's transactions not in it yet. Reserved units are
        the copy's less the picks this station posted since; never more than what is on hand."""
        where, key = ("l.code = ?", location) if location is not None else ("s.code = ?", sku)

        def wanted(place: str, item: str) -> bool:
            return place == location if location is not None else item == sku

        figures: dict[tuple[str, str, str | None], list[int]] = defaultdict(lambda: [0, 0])
        sequence: dict[str, int] = {}
        expiry: dict[tuple[str, str], date] = {}
        with self._lock:
            rows = self._db.execute(
                "SELECT l.code, l.pick_sequence, s.code, q.lot_id, t.code, t.expiry, q.on_hand, "
                "q.reserved FROM quants q JOIN locations l ON l.id = q.location_id "
                "JOIN skus s ON s.id = q.sku_id LEFT JOIN lots t ON t.id = q.lot_id "
                f"WHERE {where} AND l.kind != 'virtual' AND q.on_hand != 0",
                (key,),
            ).fetchall()
            for place, seq, item, lot_id, lot, expires, on_hand, reserved in rows:
                code = None if lot_id == 0 else lot
                figure = figures[(place, item, code)]
                figure[0] += int(on_hand)
                figure[1] += int(reserved)
                sequence[place] = int(seq)
                if code and expires:
                    expiry[(item, code)] = date.fromisoformat(expires)
            for place, item, lot, units in self._deltas():
                if wanted(place, item):
                    figures[(place, item, lot)][0] += units
            picks = {
                r[0]: (r[1], r[2], r[3])
                for r in self._db.execute("SELECT reservation, location, sku, lot FROM picks")
            }
            for _, p, _ in self._effects(TxKind.POST_PICK.value):
                where_from = picks.get(int(p["reservation"]))
                if where_from is not None and wanted(where_from[0], where_from[1]):
                    figures[where_from][1] -= int(p["qty"])
            for place in {k[0] for k in figures} - set(sequence):
                r = self._db.execute(
                    "SELECT pick_sequence FROM locations WHERE code = ? AND kind != 'virtual'",
                    (place,),
                ).fetchone()
                if r is not None:
                    sequence[place] = int(r[0])
            for item, lot in {(k[1], k[2]) for k in figures if k[2]} - set(expiry):
                assert lot is not None
                found = self._lot_expiry(item, lot)
                if found is not None:
                    expiry[(item, lot)] = found
        return [
            Stock(
                place,
                item,
                lot,
                expiry.get((item, lot)) if lot else None,
                on_hand,
                min(max(reserved, 0), on_hand),
                sequence[place],
            )
            for (place, item, lot), (on_hand, reserved) in figures.items()
            if on_hand > 0 and place in sequence
        ]

    def _lot_expiry(self, sku: str, lot: str) -> date | None:
        """A lot's expiry as copied, else as the station's own receive or return of it says."""
        r = self._db.execute(
            "SELECT t.expiry FROM lots t JOIN skus s ON s.id = t.sku_id "
            "WHERE s.code = ? AND t.code = ?",
            (sku, lot),
        ).fetchone()
        if r is not None and r[0]:
            return date.fromisoformat(r[0])
        for _, p, _ in self._effects(TxKind.RECEIVE.value, TxKind.RETURN.value):
            if p.get("sku") == sku and p.get("lot") == lot and p.get("expiry"):
                return date.fromisoformat(p["expiry"])
        return None

    def _deltas(self) -> list[tuple[str, str, str | None, int]]:
        """(location, sku, lot, units) of the station's transactions not in the copy yet."""
        out: list[tuple[str, str, str | None, int]] = []
        kinds = (*_MOVES, TxKind.ADJUST.value, TxKind.POST_PICK.value)
        picks: dict[int, tuple[str, str, str | None]] | None = None
        for kind, p, _ in self._effects(*kinds):
            if kind == TxKind.ADJUST.value:
                out.append((p["location"], p["sku"], p.get("lot"), int(p["delta"])))
                continue
            if kind == TxKind.POST_PICK.value:
                if picks is None:
                    picks = {
                        r[0]: (r[1], r[2], r[3])
                        for r in self._db.execute(
                            "SELECT reservation, location, sku, lot FROM picks"
                        )
                    }
                where = picks.get(int(p["reservation"]))
                if where is not None:
                    out.append((where[0], where[1], where[2], -int(p["qty"])))
                    out.append((p["to_location"], where[1], where[2], int(p["qty"])))
                continue
            if p.get("qty") is None:  # a release that lifts a hold moves nothing
                continue
            source, target = _MOVES[kind]
            qty = int(p["qty"])
            if source:
                out.append((p[source], p["sku"], p.get("lot"), -qty))
            if target:
                out.append((p[target], p["sku"], p.get("lot"), qty))
        return out

    def room(self, location: str, sku: str, qty: int) -> str | None:
        """Why `qty` of `sku` would not fit in the bin as the copy knows it (None: it fits, or
        nothing is known against it). Held space of other stations is not in the copy: the
        ledger checks again when the putaway arrives."""
        with self._lock:
            place = self._db.execute(
                "SELECT id, max_units, max_volume_cm3, max_weight_g FROM locations "
                "WHERE code = ? AND kind = 'bin'",
                (location,),
            ).fetchone()
            dims = {
                r[0]: (int(r[1]), int(r[2]))
                for r in self._db.execute(
                    "SELECT code, unit_volume_cm3, unit_weight_g FROM skus WHERE code = ?", (sku,)
                )
            }
        if place is None or sku not in dims:
            return None
        units = volume = weight = 0
        for h in self.contents(location):
            other = self.sku_dims(h.sku)
            units += h.qty
            volume += h.qty * other[0]
            weight += h.qty * other[1]
        vol, wt = dims[sku]
        limits = (
            ("units", place[1], units + qty),
            ("cm3", place[2], volume + qty * vol),
            ("g", place[3], weight + qty * wt),
        )
        for unit, limit, needed in limits:
            if limit is not None and needed > int(limit):
                return f"{location} has room for at most {limit} {unit}; it would hold {needed}"
        return None

    def sku_dims(self, sku: str) -> tuple[int, int]:
        r = self._one("SELECT unit_volume_cm3, unit_weight_g FROM skus WHERE code = ?", sku)
        return (0, 0) if r is None else (int(r[0]), int(r[1]))

    # --- count tasks -----------------------------------------------------------------------------

    _TASK = (
        "SELECT t.id, t.state, t.reason, t.counted_by, t.counts, t.snapshot, t.counters, "
        "t.assigned_to, t.zone FROM count_tasks t JOIN locations l ON l.id = t.location_id "
    )

    def _count_effects(self) -> list[tuple[str, dict[str, Any]]]:
        """The station's own count-task transactions not in the copy yet, oldest first."""
        kinds = (TxKind.RAISE_COUNT.value, TxKind.SAVE_COUNT.value, TxKind.ASSIGN_COUNT.value)
        return [(kind, p) for kind, p, _ in self._effects(*kinds)]

    def _copied_task(self, location: str) -> CountTask | None:
        r = self._db.execute(
            self._TASK + "WHERE l.code = ? AND t.state != 'done' ORDER BY t.id DESC LIMIT 1",
            (location,),
        ).fetchone()
        if r is None:
            return None
        return CountTask(
            r[0],
            location,
            CountState(r[1]),
            r[2],
            r[3],
            _holdings(r[4]),
            _holdings(r[5]),
            tuple(json.loads(r[6] or "[]")),
            r[7],
            r[8],
        )

    def _task_here(
        self, location: str, effects: Sequence[tuple[str, dict[str, Any]]]
    ) -> CountTask | None:
        """The bin's unfinished task as copied, with the station's own transactions on it."""
        task = self._copied_task(location)
        for kind, p in effects:
            if location in _task_places(kind, p):
                task = _with_effect(task, location, kind, p)
        return task

    def count_task(self, location: str) -> CountTask | None:
        with self._lock:
            return self._task_here(location, self._count_effects())

    def count_tasks_for(
        self, badge: str, zone: str | None, limit: int, *, supervisor: bool = False
    ) -> list[CountTaskChoice]:
        """The copy's unfinished tasks (read by the index on their state, narrowed by state and
        assignment, in pick-path order, until `limit` are the operator's), with the bins this
        station raised, counted or assigned since the last refresh read as they now stand."""
        if limit <= 0:
            return []
        states = [CountState.OPEN.value, CountState.RECOUNT.value]
        if supervisor:
            states.append(CountState.APPROVAL.value)
        found: list[CountTaskChoice] = []
        with self._lock:
            effects = self._count_effects()
            touched = {place for kind, p in effects for place in _task_places(kind, p)}
            for place in touched:
                task = self._task_here(place, effects)
                seq = self._db.execute(
                    "SELECT pick_sequence FROM locations WHERE code = ?", (place,)
                ).fetchone()
                if task is not None and seq is not None:
                    choice = _choice(task, int(seq[0]))
                    if choice.open_to(badge, zone, supervisor):
                        found.append(choice)
            rows = self._db.execute(
                "SELECT l.code, t.state, l.pick_sequence, t.reason, t.assigned_to, t.zone, "
                "t.counters, t.counted_by FROM count_tasks t "
                "JOIN locations l ON l.id = t.location_id "
                f"WHERE t.state IN ({', '.join('?' * len(states))}) AND (t.assigned_to = ? "
                "OR (t.assigned_to IS NULL AND (t.zone IS NULL OR t.zone = ?)) "
                "OR t.state != 'open') "
                # A task planned for a later day waits for its day (ISO dates sort as text).
                "AND (t.planned_for IS NULL OR t.planned_for <= ?) "
                "ORDER BY l.pick_sequence, l.code",
                (*states, badge, zone, date.today().isoformat()),
            )
            mine = 0
            try:
                for code, state, seq, reason, assignee, task_zone, counters, by in rows:
                    if code in touched:
                        continue
                    named = tuple(json.loads(counters or "[]"))
                    choice = CountTaskChoice(
                        code,
                        CountState(state),
                        int(seq),
                        reason,
                        assignee,
                        task_zone,
                        named if by is None or by in named else (*named, by),
                    )
                    if choice.open_to(badge, zone, supervisor):
                        found.append(choice)
                        mine += 1
                        if mine >= limit:
                            break
            finally:
                rows.close()
        found.sort(key=lambda t: (t.pick_sequence, t.location))
        return found[:limit]

    def counts(self) -> dict[str, int]:
        """Rows per table (for `perpetua outbox status` and the refresh figures)."""
        with self._lock:
            return {
                name: int(self._db.execute(f"SELECT count(*) FROM {name}").fetchone()[0])
                for name in (*CATALOGUE_TABLES, "lots", "picks", "effects")
            }
