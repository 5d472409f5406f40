"""One station process asking for a bin with a capacity hold, for the SQLite multi-process race
in tests/integration/test_stow.py.

    python -m tests.support.stow_worker --db sqlite:///x.db --station ST-1 --sku WIDGET --qty 8 \\
        --ready ready-1 --go go

It opens its engine, writes the `--ready` file, waits for the `--go` file (so that every process
asks at the same moment), asks once and prints one JSON line: {"held": bin code or null}.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from app.adapters.db.engine import make_engine
from app.adapters.db.uow import SqlLedger
from app.services import stow


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--station", required=True)
    parser.add_argument("--sku", required=True)
    parser.add_argument("--qty", required=True, type=int)
    parser.add_argument("--ready", required=True, type=Path)
    parser.add_argument("--go", required=True, type=Path)
    args = parser.parse_args(argv)
    engine = make_engine(args.db)
    ledger = SqlLedger(engine)
    _ = ledger.virtual_ids  # connect and read before the start, not in the race
    args.ready.touch()
    while not args.go.exists():
        time.sleep(0.001)
    answer = stow.suggest(ledger, args.sku, args.qty, station=args.station)
    print(json.dumps({"held": answer.held.code if answer.held else None}))
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
