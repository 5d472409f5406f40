"""The exactly-once checker shared by the figure-reporting fault tests (T1, T5, T6).

It compares what the stations *intended* (every command their outboxes hold) with what the ledger
database holds, and re-derives the balances from the moves:

- a logical operation is one scan. Its identity is the command's payload hash (everything but the
  transaction id: station, operator, station clock, item, quantity, locations), so a broken
  station that resends one scan under a fresh id is seen as two transactions for one operation;
  test generators give every scan its own station time;
- lost: an operation the station was told about (its outbox entry is confirmed or refused) that
  has no transaction in the database, or one whose answer disagrees with the database;
- duplicated: more than one transaction for one operation;
- move_mismatch: a transaction whose moves are not what its stored outcome says (a second
  application under one id, or a half-written one, would show here);
- phantom: a transaction that no station intended;
- violations: the four invariants counted in SQL (`invariant_report`) plus balance rows that
  differ from an independent Python replay of every move.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select

from app.adapters.db.schema import MoveRow, QuantRow, TransactionRow
from app.adapters.db.store import invariant_report
from app.adapters.outbox import QUEUED, Outbox, OutboxEntry


def payload_hash(payload: Mapping[str, Any]) -> str:
    """The same hash as `Command.payload_hash()`, from a stored payload."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def intents_of(outboxes: Iterable[Outbox]) -> list[OutboxEntry]:
    """Every command the stations meant to send, from their outboxes."""
    return [entry for outbox in outboxes for entry in outbox.entries()]


@dataclass
class CheckReport:
    operations: int = 0
    transactions: int = 0
    confirmed: int = 0
    refused: int = 0
    pending: int = 0
    lost: int = 0
    duplicated: int = 0
    phantom: int = 0
    move_mismatch: int = 0
    moves: int = 0
    replay_diff: int = 0
    invariants: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    @property
    def violations(self) -> int:
        return self.invariants.get("total", 0) + self.replay_diff

    @property
    def ok(self) -> bool:
        bad = self.lost + self.duplicated + self.phantom + self.move_mismatch + self.violations
        return bad == 0 and self.pending == 0

    def figures(self) -> dict[str, Any]:
        return {
            "operations": self.operations,
            "transactions": self.transactions,
            "confirmed": self.confirmed,
            "refused": self.refused,
            "pending": self.pending,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "phantom": self.phantom,
            "move_mismatch": self.move_mismatch,
            "violations": self.violations,
            "replay_diff": self.replay_diff,
            "moves": self.moves,
        }

    def _note(self, text: str) -> None:
        if len(self.examples) < 10:
            self.examples.append(text)


def check(engine: Engine, intents: Iterable[OutboxEntry]) -> CheckReport:
    """Compare the stations' intents with the ledger in `engine`; see the module docstring."""
    report = CheckReport()
    t, m, q = TransactionRow.__table__, MoveRow.__table__, QuantRow.__table__
    with engine.connect() as c:
        txs = c.execute(select(t.c.id, t.c.payload_hash, t.c.status, t.c.result)).all()
        per_tx = {
            row.tx_id: (int(row.n), int(row.qty))
            for row in c.execute(
                select(m.c.tx_id, func.count().label("n"), func.sum(m.c.qty).label("qty")).group_by(
                    m.c.tx_id
                )
            )
        }
        legs = c.execute(
            select(m.c.from_location_id, m.c.to_location_id, m.c.sku_id, m.c.lot_id, m.c.qty)
        ).all()
        balances = {
            (r.location_id, r.sku_id, r.lot_id): int(r.on_hand)
            for r in c.execute(select(q.c.location_id, q.c.sku_id, q.c.lot_id, q.c.on_hand))
        }
        report.invariants = invariant_report(c).as_dict()

    # Operations: intents grouped by payload hash; a station may hold one scan under two ids.
    operations: dict[str, list[OutboxEntry]] = defaultdict(list)
    for entry in intents:
        operations[payload_hash(entry.payload)].append(entry)
    report.operations = len(operations)

    by_hash: dict[str, list[Any]] = defaultdict(list)
    for tx in txs:
        by_hash[tx.payload_hash].append(tx)
    report.transactions = len(txs)
    report.confirmed = sum(1 for tx in txs if tx.status == "confirmed")
    report.refused = len(txs) - report.confirmed

    for key, entries in operations.items():
        applied = by_hash.get(key, [])
        status_by_id = {tx.id: tx.status for tx in applied}
        for entry in entries:
            if entry.state == QUEUED:
                if entry.tx_id not in status_by_id:
                    report.pending += 1
            elif entry.tx_id not in status_by_id:
                report.lost += 1
                report._note(f"lost: {entry.kind} {entry.tx_id} was answered but is not stored")
            elif entry.state != status_by_id[entry.tx_id]:
                report.lost += 1
                report._note(f"answer differs: {entry.tx_id} {entry.state} vs database")
        if len(applied) > 1:
            report.duplicated += len(applied) - 1
            report._note(f"duplicated: {len(applied)} transactions for one {entries[0].kind} scan")
    report.phantom = sum(len(v) for k, v in by_hash.items() if k not in operations)

    # Moves must be what each stored outcome says: none for a refusal, `moves`/`qty` otherwise.
    for tx in txs:
        got = per_tx.get(tx.id, (0, 0))
        result = tx.result or {}
        want = (
            (0, 0) if tx.status != "confirmed" else (result.get("moves", 0), result.get("qty", 0))
        )
        if got != want:
            report.move_mismatch += 1
            report._note(f"moves of {tx.id}: {got} stored, outcome says {want}")
    report.moves = sum(n for n, _ in per_tx.values())

    # An independent replay of every move against the balance table.
    replay: Counter[tuple[int, int, int]] = Counter()
    for leg in legs:
        replay[(leg.from_location_id, leg.sku_id, leg.lot_id)] -= leg.qty
        replay[(leg.to_location_id, leg.sku_id, leg.lot_id)] += leg.qty
    for quant in set(replay) | set(balances):
        if replay.get(quant, 0) != balances.get(quant, 0):
            report.replay_diff += 1
            report._note(
                f"balance {quant}: {balances.get(quant, 0)} stored, replay {replay.get(quant, 0)}"
            )
    return report
