"""Master data changed without SQL, in SQL: the rows an import with --update compares with, the
writes of its plan, deactivation and activation, and the audit rows of every change.

Everything here runs on the caller's connection, inside its one transaction: an import's plan,
its bin capacities kept in step, its PINs and its audit rows commit together or not at all.
Rows are read and written in bulk (one statement per question, one executemany per table),
never one round trip per row. A changed row gets a new `rev` from the triggers of migration
0005, so station replicas copy it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Connection, bindparam, select, text, update

from app.domain.catalogue import BarcodeSpec, LocationSpec, OperatorSpec, SkuSpec, StationSpec
from app.domain.import_rules import scan_forms, scan_key
from app.domain.master_data import (
    Action,
    Actor,
    ActorKind,
    BinLoad,
    Changed,
    Current,
    Holding,
    ImportPlan,
    MasterChange,
    MasterDataRefused,
    MasterKind,
    last_supervisor_problem,
    location_deactivation_problem,
    sku_deactivation_problem,
)
from app.domain.model import LocationKind, Role, Tracking

from . import space
from .catalogue import bulk_insert, codes_cte, ids_of, store_pins
from .schema import (
    ACTIVE_HOLD,
    UNLIMITED,
    BinSpaceRow,
    LocationRow,
    MasterChangeRow,
    OperatorRow,
    SkuRow,
    table,
)

Progress = Callable[[int], None]
Adder = Callable[[Connection, Any, Progress], int]
"""How an import adds new rows of its kind (cli.WRITERS: catalogue.add_skus...)."""

CHUNK = 5_000
"""Ids per IN list (SQLite allows 32,766 parameters a statement)."""


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    it = iter(values)
    while chunk := list(islice(it, CHUNK)):
        yield chunk


def _wanted(c: Connection, codes: Collection[str], query: str) -> Any:
    """Run `query`, which joins `wanted w` (the codes), with the codes as one parameter."""
    cte, params = codes_cte(c, codes)
    return c.execute(text(f"WITH {cte} {query}"), params)


def _for_update(c: Connection) -> str:
    """Row locks on PostgreSQL; SQLite's write transaction holds the whole database already."""
    return " FOR UPDATE" if c.dialect.name == "postgresql" else ""


# --- who --------------------------------------------------------------------------------------


def actor(c: Connection, by: str | None, os_user: str) -> Actor:
    """Who the audit names: the active operator whose badge is given with --by, else the OS
    user. MasterDataRefused for a badge that is not an active operator's."""
    if by is None:
        return Actor(os_user, ActorKind.OS_USER)
    o = table(OperatorRow)
    found = c.execute(select(o.c.active).where(o.c.badge == by)).first()
    if found is None:
        raise MasterDataRefused(
            f"--by {by}: no operator has this badge; give your own badge, or leave --by out to "
            f"be recorded as the OS user {os_user}. Nothing was changed."
        )
    if not found.active:
        raise MasterDataRefused(
            f"--by {by}: this operator is inactive; give an active operator's badge, or leave "
            f"--by out to be recorded as the OS user {os_user}. Nothing was changed."
        )
    return Actor(by, ActorKind.BADGE)


def record(c: Connection, changes: Iterable[MasterChange], who: Actor) -> int:
    """Append audit rows (one bulk insert, in the caller's transaction)."""
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    return bulk_insert(
        c,
        MasterChangeRow.__tablename__,
        ("actor", "actor_kind", "kind", "code", "action", "changes"),
        (
            (who.name, who.kind.value, ch.kind.value, ch.code, ch.action.value, dumps(ch.changes))
            for ch in changes
        ),
    )


# --- what the database holds: services/master_data.Existing ----------------------------------


class SqlExisting:
    """The rows an import with --update is compared with, on the import's connection."""

    def __init__(self, c: Connection) -> None:
        self._c = c

    def current(self, kind: MasterKind, keys: Collection[str]) -> Mapping[str, Current[Any]]:
        if not keys:
            return {}
        if kind is MasterKind.BARCODES:
            return self._barcodes(keys)
        return {key_: row for key_, row in _READERS[kind](self._c, keys)}

    def _barcodes(self, keys: Collection[str]) -> dict[str, Current[BarcodeSpec]]:
        wanted = set(keys)
        forms = {form for key_ in keys for form in scan_forms(key_)}
        found: dict[str, Current[BarcodeSpec]] = {}
        for r in _wanted(
            self._c,
            forms,
            "SELECT b.id, b.code, s.code AS sku, b.kind, b.pack_qty FROM barcodes b "
            "JOIN wanted w ON b.code = w.code JOIN skus s ON s.id = b.sku_id",
        ):
            key_ = scan_key(r.code)
            if key_ in wanted:
                found[key_] = Current(r.id, BarcodeSpec(r.sku, r.code, r.kind, r.pack_qty))
        return found

    def sku_barcodes(self, skus: Collection[str]) -> Mapping[str, Sequence[Current[BarcodeSpec]]]:
        found: dict[str, list[Current[BarcodeSpec]]] = defaultdict(list)
        for r in _wanted(
            self._c,
            skus,
            "SELECT s.code AS sku, b.id, b.code, b.kind, b.pack_qty FROM barcodes b "
            "JOIN skus s ON s.id = b.sku_id JOIN wanted w ON s.code = w.code",
        ):
            found[r.sku].append(Current(r.id, BarcodeSpec(r.sku, r.code, r.kind, r.pack_qty)))
        return found

    def with_history(self, skus: Collection[str]) -> set[str]:
        rows = _wanted(
            self._c,
            skus,
            "SELECT s.code FROM skus s JOIN wanted w ON s.code = w.code "
            "WHERE EXISTS (SELECT 1 FROM moves m WHERE m.sku_id = s.id)",
        )
        return {str(code) for (code,) in rows}

    def holdings(self, bins: Collection[str]) -> Mapping[str, Holding]:
        return holdings(self._c, ids_of(self._c, LocationRow.__tablename__, "code", bins))

    def active_supervisors(self) -> set[str]:
        return active_supervisors(self._c)

    def bin_loads(self, skus: Collection[str]) -> list[BinLoad]:
        return bin_loads(self._c, skus)

    def with_pin(self, badges: Collection[str]) -> set[str]:
        rows = _wanted(
            self._c,
            badges,
            "SELECT o.badge FROM operators o JOIN wanted w ON o.badge = w.code "
            "JOIN operator_pins p ON p.operator_id = o.id WHERE p.online_hash IS NOT NULL",
        )
        return {str(badge) for (badge,) in rows}


def _skus(c: Connection, codes: Collection[str]) -> Iterator[tuple[str, Current[SkuSpec]]]:
    for r in _wanted(
        c,
        codes,
        "SELECT x.id, x.code, x.name, x.unit_volume_cm3, x.unit_weight_g, x.tracking, "
        "x.lookalike_group, x.reorder_point, x.lead_time_days, x.min_shelf_days, "
        "x.unit_value_cents, x.active "
        "FROM skus x JOIN wanted w ON x.code = w.code",
    ):
        spec = SkuSpec(
            code=r.code,
            name=r.name,
            unit_volume_cm3=r.unit_volume_cm3,
            unit_weight_g=r.unit_weight_g,
            tracking=Tracking(r.tracking),
            lookalike_group=r.lookalike_group,
            reorder_point=r.reorder_point,
            lead_time_days=r.lead_time_days,
            min_shelf_days=r.min_shelf_days,
            unit_value_cents=r.unit_value_cents,
        )
        yield r.code, Current(r.id, spec, bool(r.active))


def _locations(
    c: Connection, codes: Collection[str]
) -> Iterator[tuple[str, Current[LocationSpec]]]:
    for r in _wanted(
        c,
        codes,
        "SELECT x.id, x.code, x.kind, x.zone, x.aisle, x.bay, x.level, x.pick_sequence, "
        "x.max_units, x.max_volume_cm3, x.max_weight_g, x.active "
        "FROM locations x JOIN wanted w ON x.code = w.code",
    ):
        spec = LocationSpec(
            code=r.code,
            kind=LocationKind(r.kind),
            zone=r.zone,
            aisle=r.aisle,
            bay=r.bay,
            level=r.level,
            pick_sequence=r.pick_sequence,
            max_units=r.max_units,
            max_volume_cm3=r.max_volume_cm3,
            max_weight_g=r.max_weight_g,
        )
        yield r.code, Current(r.id, spec, bool(r.active))


def _operators(
    c: Connection, badges: Collection[str]
) -> Iterator[tuple[str, Current[OperatorSpec]]]:
    for r in _wanted(
        c,
        badges,
        "SELECT x.id, x.badge, x.name, x.role, x.active "
        "FROM operators x JOIN wanted w ON x.badge = w.code",
    ):
        yield r.badge, Current(r.id, OperatorSpec(r.badge, r.name, Role(r.role)), bool(r.active))


def _stations(c: Connection, codes: Collection[str]) -> Iterator[tuple[str, Current[StationSpec]]]:
    for r in _wanted(
        c,
        codes,
        "SELECT x.id, x.code, x.name, x.zone, l.code AS dock FROM stations x "
        "JOIN wanted w ON x.code = w.code LEFT JOIN locations l ON l.id = x.dock_location_id",
    ):
        yield r.code, Current(r.id, StationSpec(r.code, r.name, r.zone, r.dock))


_READERS: dict[MasterKind, Callable[[Connection, Collection[str]], Iterator[Any]]] = {
    MasterKind.SKUS: _skus,
    MasterKind.LOCATIONS: _locations,
    MasterKind.OPERATORS: _operators,
    MasterKind.STATIONS: _stations,
}


def holdings(c: Connection, location_ids: Mapping[str, int]) -> dict[str, Holding]:
    """What these locations hold that are bins: their space rows locked (in location order, as
    the ledger locks them) so that no putaway adds to them before the commit."""
    spaces = space.lock_spaces(c, location_ids.values())
    stock = _stock(c, list(spaces))
    return {
        code: Holding(s.used_units, s.used_volume_cm3, s.used_weight_g, tuple(stock[i]))
        for code, i in location_ids.items()
        if (s := spaces.get(i)) is not None
    }


def _stock(
    c: Connection, location_ids: Sequence[int]
) -> dict[int, list[tuple[str, str | None, int]]]:
    """(sku, lot, on hand) per location, largest first."""
    found: dict[int, list[tuple[str, str | None, int]]] = defaultdict(list)
    ids: Any = bindparam("ids", expanding=True)
    statement = text(
        "SELECT q.location_id, s.code, l.code AS lot, q.on_hand FROM quants q "
        "JOIN skus s ON s.id = q.sku_id JOIN lots l ON l.id = q.lot_id "
        "WHERE q.location_id IN :ids AND q.on_hand > 0 AND NOT q.is_virtual "
        "ORDER BY q.location_id, q.on_hand DESC, s.code, l.code"
    ).bindparams(ids)
    for chunk in _chunks(location_ids):
        for r in c.execute(statement, {"ids": chunk}):
            found[r.location_id].append((r.code, r.lot or None, int(r.on_hand)))
    return found


def bin_loads(c: Connection, skus: Collection[str]) -> list[BinLoad]:
    """Every bin holding any of these SKUs (by code): its space row locked (in location order,
    as the ledger locks them) so that no putaway adds to it before the commit, its limits and
    use, and its units of each of these SKUs."""
    query = (
        "SELECT q.location_id, s.code, SUM(q.on_hand) AS qty FROM quants q "
        "JOIN skus s ON s.id = q.sku_id JOIN wanted w ON s.code = w.code "
        "JOIN bin_space b ON b.location_id = q.location_id "
        "WHERE q.on_hand > 0 GROUP BY q.location_id, s.code"
    )
    spaces = space.lock_spaces(c, {int(r.location_id) for r in _wanted(c, skus, query)})
    units: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for r in _wanted(c, skus, query):  # again, the bins locked: what no putaway changes now
        units[int(r.location_id)].append((str(r.code), int(r.qty)))
    return [
        BinLoad(
            s.code,
            None if s.max_volume_cm3 >= UNLIMITED else s.max_volume_cm3,
            None if s.max_weight_g >= UNLIMITED else s.max_weight_g,
            s.used_volume_cm3,
            s.used_weight_g,
            tuple(sorted(units[i])),
        )
        for i, s in spaces.items()
    ]


def active_supervisors(c: Connection) -> set[str]:
    """Every active supervisor's badge, their rows locked: two changes at once cannot each
    leave the other as the last one and end with none."""
    rows = c.execute(
        text("SELECT badge FROM operators WHERE role = 'supervisor' AND active" + _for_update(c))
    )
    return {str(badge) for (badge,) in rows}


# --- writing a plan ---------------------------------------------------------------------------


def write_plan(
    c: Connection, plan: ImportPlan[Any], who: Actor, add: Adder, progress: Progress
) -> int:
    """Write an import's plan and its audit rows; the number of rows added or changed."""
    written = add(c, plan.added, progress) if plan.added else 0
    if plan.changed:
        _UPDATERS[plan.kind](c, plan.changed)
    if plan.kind is MasterKind.SKUS:
        _sku_barcodes(c, plan)
        if plan.resized:
            recompute_bins(c, plan.resized)
    if plan.pins:
        store_pins(c, plan.pins)
    record(c, plan.audit(), who)
    return written + len(plan.changed)


def _executemany(c: Connection, statement: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        c.execute(text(statement), rows)


def _update_skus(c: Connection, changed: Sequence[Changed[SkuSpec]]) -> None:
    _executemany(
        c,
        "UPDATE skus SET name = :name, unit_volume_cm3 = :unit_volume_cm3, "
        "unit_weight_g = :unit_weight_g, tracking = :tracking, "
        "lookalike_group = :lookalike_group, reorder_point = :reorder_point, "
        "lead_time_days = :lead_time_days, min_shelf_days = :min_shelf_days, "
        "unit_value_cents = :unit_value_cents WHERE id = :id",
        [
            {
                "id": ch.id,
                "name": s.name,
                "unit_volume_cm3": s.unit_volume_cm3,
                "unit_weight_g": s.unit_weight_g,
                "tracking": s.tracking.value,
                "lookalike_group": s.lookalike_group,
                "reorder_point": s.reorder_point,
                "lead_time_days": s.lead_time_days,
                "min_shelf_days": s.min_shelf_days,
                "unit_value_cents": s.unit_value_cents,
            }
            for ch in changed
            if ch.changes.keys() - {"barcodes"}
            for s in (ch.after,)
        ],
    )


def _sku_barcodes(c: Connection, plan: ImportPlan[Any]) -> None:
    if plan.new_barcodes:
        ids = ids_of(c, SkuRow.__tablename__, "code", {b.sku for b in plan.new_barcodes})
        bulk_insert(
            c,
            "barcodes",
            ("code", "sku_id", "kind", "pack_qty"),
            ((b.code, ids[b.sku], b.kind, b.pack_qty) for b in plan.new_barcodes),
        )
    _executemany(
        c,
        "UPDATE barcodes SET code = :code, kind = :kind WHERE id = :id",
        [{"id": i, "code": b.code, "kind": b.kind} for i, _, b in plan.renamed_barcodes],
    )


def _limit(value: int | None) -> int:
    return UNLIMITED if value is None else value


def _update_locations(c: Connection, changed: Sequence[Changed[LocationSpec]]) -> None:
    rows = [
        {
            "id": ch.id,
            "zone": s.zone,
            "aisle": s.aisle,
            "bay": s.bay,
            "level": s.level,
            "pick_sequence": s.pick_sequence,
            "max_units": s.max_units,
            "max_volume_cm3": s.max_volume_cm3,
            "max_weight_g": s.max_weight_g,
        }
        for ch in changed
        for s in (ch.after,)
    ]
    _executemany(
        c,
        "UPDATE locations SET zone = :zone, aisle = :aisle, bay = :bay, level = :level, "
        "pick_sequence = :pick_sequence, max_units = :max_units, "
        "max_volume_cm3 = :max_volume_cm3, max_weight_g = :max_weight_g WHERE id = :id",
        rows,
    )
    # A bin's space row keeps a copy of its zone, pick sequence and limits (for its indexes).
    b = table(BinSpaceRow)
    bins: list[dict[str, Any]] = [
        {
            "l": ch.id,
            "zone": ch.after.zone or "",
            "seq": ch.after.pick_sequence,
            "mu": _limit(ch.after.max_units),
            "mv": _limit(ch.after.max_volume_cm3),
            "mw": _limit(ch.after.max_weight_g),
        }
        for ch in changed
        if ch.after.kind is LocationKind.BIN
    ]
    if bins:
        c.execute(
            update(b)
            .where(b.c.location_id == bindparam("l"))
            .values(
                zone=bindparam("zone"),
                pick_sequence=bindparam("seq"),
                max_units=bindparam("mu"),
                max_volume_cm3=bindparam("mv"),
                max_weight_g=bindparam("mw"),
            ),
            sorted(bins, key=lambda r: int(r["l"])),
        )


def _update_operators(c: Connection, changed: Sequence[Changed[OperatorSpec]]) -> None:
    _executemany(
        c,
        "UPDATE operators SET name = :name, role = :role WHERE id = :id",
        [
            {"id": ch.id, "name": ch.after.name, "role": ch.after.role.value}
            for ch in changed
            if ch.changes
        ],
    )


def _update_stations(c: Connection, changed: Sequence[Changed[StationSpec]]) -> None:
    docks = ids_of(
        c, LocationRow.__tablename__, "code", {ch.after.dock for ch in changed if ch.after.dock}
    )
    _executemany(
        c,
        "UPDATE stations SET name = :name, zone = :zone, dock_location_id = :dock WHERE id = :id",
        [
            {
                "id": ch.id,
                "name": ch.after.name,
                "zone": ch.after.zone,
                "dock": docks.get(ch.after.dock) if ch.after.dock else None,
            }
            for ch in changed
        ],
    )


def _update_barcodes(c: Connection, changed: Sequence[Changed[BarcodeSpec]]) -> None:
    skus = ids_of(c, SkuRow.__tablename__, "code", {ch.after.sku for ch in changed})
    _executemany(
        c,
        "UPDATE barcodes SET code = :code, sku_id = :sku, kind = :kind, pack_qty = :pack "
        "WHERE id = :id",
        [
            {
                "id": ch.id,
                "code": ch.after.code,
                "sku": skus[ch.after.sku],
                "kind": ch.after.kind,
                "pack": ch.after.pack_qty,
            }
            for ch in changed
        ],
    )


_UPDATERS: dict[MasterKind, Callable[[Connection, Sequence[Changed[Any]]], None]] = {
    MasterKind.SKUS: _update_skus,
    MasterKind.LOCATIONS: _update_locations,
    MasterKind.OPERATORS: _update_operators,
    MasterKind.STATIONS: _update_stations,
    MasterKind.BARCODES: _update_barcodes,
}


def recompute_bins(c: Connection, sku_ids: Collection[int]) -> int:
    """Set the used volume and weight of every bin holding these SKUs from what it holds, at
    the SKUs' sizes as they are now in this transaction; the number of bins."""
    ids: Any = bindparam("ids", expanding=True)
    bins: set[int] = set()
    find = text(
        "SELECT DISTINCT q.location_id FROM quants q "
        "JOIN bin_space b ON b.location_id = q.location_id "
        "WHERE q.sku_id IN :ids AND q.on_hand > 0"
    ).bindparams(ids)
    for chunk in _chunks(sorted(sku_ids)):
        bins.update(int(i) for (i,) in c.execute(find, {"ids": chunk}))
    space.lock_spaces(c, bins)
    sums = text(
        "SELECT q.location_id, SUM(q.on_hand * s.unit_volume_cm3) AS v, "
        "SUM(q.on_hand * s.unit_weight_g) AS w FROM quants q JOIN skus s ON s.id = q.sku_id "
        "WHERE q.location_id IN :ids AND q.on_hand > 0 GROUP BY q.location_id"
    ).bindparams(ids)
    rows: list[dict[str, Any]] = []
    for chunk in _chunks(sorted(bins)):
        rows += [
            {"l": int(r.location_id), "v": int(r.v or 0), "w": int(r.w or 0)}
            for r in c.execute(sums, {"ids": chunk})
        ]
    if rows:
        b = table(BinSpaceRow)
        c.execute(
            update(b)
            .where(b.c.location_id == bindparam("l"))
            .values(used_volume_cm3=bindparam("v"), used_weight_g=bindparam("w")),
            rows,
        )
    return len(rows)


# --- deactivate and activate ------------------------------------------------------------------

_TABLES = {
    MasterKind.OPERATORS: ("operators", "badge", "operator", "badge"),
    MasterKind.LOCATIONS: ("locations", "code", "location", "code"),
    MasterKind.SKUS: ("skus", "code", "SKU", "code"),
}


def set_active(
    c: Connection, kind: MasterKind, code: str, active: bool, who: Actor, force: bool = False
) -> str:
    """Deactivate or activate one operator, location or SKU, with its audit row; what was done.
    MasterDataRefused, with nothing written, for an unknown code or a deactivation that would
    strand stock or leave the warehouse without a supervisor."""
    name, column, noun, what = _TABLES[kind]
    found = c.execute(
        text(f"SELECT id, active FROM {name} WHERE {column} = :code" + _for_update(c)),
        {"code": code},
    ).first()
    if found is None:
        raise MasterDataRefused(
            f"no {noun} has the {what} {code}; check the {what} (codes are exact, upper and "
            "lower case differ). Nothing was changed."
        )
    verb = "activated" if active else "deactivated"
    if bool(found.active) == active:
        return f"{noun} {code} is {'active' if active else 'inactive'} already; nothing was changed"
    if not active:
        problem = _deactivation_problem(c, kind, code, int(found.id), force)
        if problem:
            raise MasterDataRefused(f"{problem}. Nothing was changed.")
    c.execute(
        text(f"UPDATE {name} SET active = :active WHERE id = :id"),
        {"active": active, "id": found.id},
    )
    action = Action.ACTIVATED if active else Action.DEACTIVATED
    changes: dict[str, list[Any]] = {"active": [not active, active]}
    if force and not active:
        changes["force"] = [None, True]
    record(c, [MasterChange(kind, code, action, changes)], who)
    return f"{noun} {code} {verb}"


def _deactivation_problem(
    c: Connection, kind: MasterKind, code: str, row_id: int, force: bool
) -> str | None:
    if kind is MasterKind.OPERATORS:
        supervisors = active_supervisors(c)
        if supervisors == {code}:
            return last_supervisor_problem(code, "deactivated")
        return None
    if kind is MasterKind.LOCATIONS:
        location_kind = c.execute(
            text("SELECT kind FROM locations WHERE id = :id"), {"id": row_id}
        ).scalar_one()
        space.lock_spaces(c, [row_id])
        stock = _stock(c, [row_id]).get(row_id, [])
        docks = [
            str(s)
            for (s,) in c.execute(
                text("SELECT code FROM stations WHERE dock_location_id = :id ORDER BY code"),
                {"id": row_id},
            )
        ]
        held = (
            stock
            and c.execute(
                text(f"SELECT 1 FROM holds WHERE location_id = :id AND {ACTIVE_HOLD}"),
                {"id": row_id},
            ).first()
        )
        return location_deactivation_problem(
            code, LocationKind(location_kind), stock, docks, bool(held)
        )
    stock = [
        (str(r.location), r.lot or None, int(r.on_hand))
        for r in c.execute(
            text(
                "SELECT l.code AS location, lt.code AS lot, q.on_hand FROM quants q "
                "JOIN locations l ON l.id = q.location_id JOIN lots lt ON lt.id = q.lot_id "
                "WHERE q.sku_id = :id AND q.on_hand > 0 AND NOT q.is_virtual "
                "ORDER BY q.on_hand DESC, l.code"
            ),
            {"id": row_id},
        )
    ]
    orders = _codes(
        c,
        "SELECT DISTINCT o.code FROM orders o JOIN order_lines ol ON ol.order_id = o.id "
        "WHERE ol.sku_id = :id AND o.status IN ('open', 'picking', 'picked') ORDER BY o.code",
        row_id,
    )
    receipts = _codes(
        c,
        "SELECT DISTINCT r.code FROM receipts r JOIN receipt_lines rl ON rl.receipt_id = r.id "
        "WHERE rl.sku_id = :id AND r.status = 'open' ORDER BY r.code",
        row_id,
    )
    return sku_deactivation_problem(code, stock, orders, receipts, force)


def _codes(c: Connection, query: str, row_id: int) -> list[str]:
    return [str(code) for (code,) in c.execute(text(query), {"id": row_id})]


def pin_set(c: Connection, badge: str, who: Actor) -> None:
    """The audit row of a PIN set by `perpetua operator set-pin` (never the PIN)."""
    record(c, [MasterChange(MasterKind.OPERATORS, badge, Action.PIN_SET, {})], who)
