"""The scan interpreter's catalogue (domain/interpret.Catalogue) in SQL: badges, location labels,
alias barcodes and GTINs, one statement per question.

Scanned text is hostile: it only ever travels as a bound parameter of a prepared statement, and
text that no column could hold (longer than a code, NUL, not encodable) is answered without a
query. Each lookup is its own short read transaction (a plain BEGIN on SQLite, never the write
lock), so a station's lookups neither block writers nor see a stale snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Executable,
    String,
    bindparam,
    literal,
    null,
    select,
    union_all,
)

from app.domain.commands import MAX_CODE_LENGTH
from app.domain.interpret import NO_MATCH, CodeMatch
from app.domain.model import LocationKind

from .engine import READONLY
from .schema import BarcodeRow, LocationRow, OperatorRow, OrderRow, ReceiptRow, SkuRow, table

_B, _L, _O, _S = table(BarcodeRow), table(LocationRow), table(OperatorRow), table(SkuRow)
_R, _ORD = table(ReceiptRow), table(OrderRow)
_CODE = bindparam("code", type_=String())
_BADGE, _LOCATION, _ALIAS, _RECEIPT, _ORDER = 1, 2, 3, 4, 5

# One statement answers all the questions about a code, each part on a unique index.
_IDENTIFY = union_all(
    select(literal(_RECEIPT), null()).where(_R.c.code == _CODE),
    select(literal(_ORDER), null()).where(_ORD.c.code == _CODE),
    select(literal(_BADGE), null()).where(_O.c.badge == _CODE),
    select(literal(_LOCATION), null()).where(
        _L.c.code == _CODE, _L.c.kind != LocationKind.VIRTUAL.value
    ),
    select(literal(_ALIAS), _S.c.code)
    .select_from(_B.join(_S, _S.c.id == _B.c.sku_id))
    .where(_B.c.code == _CODE, _B.c.kind == "alias"),
)
_GTIN = (
    select(_S.c.code)
    .select_from(_B.join(_S, _S.c.id == _B.c.sku_id))
    .where(_B.c.code == _CODE, _B.c.kind == "gtin")
)


class SqlCatalogue:
    """Lookups on one connection, for one thread (a station's database worker, or the CLI)."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def identify(self, code: str) -> CodeMatch:
        if not _storable(code):
            return NO_MATCH
        found = {row[0]: row[1] for row in self._read(_IDENTIFY, code)}
        alias = found.get(_ALIAS)
        return CodeMatch(
            badge=_BADGE in found,
            location=_LOCATION in found,
            receipt=_RECEIPT in found,
            order=_ORDER in found,
            alias_sku=None if alias is None else str(alias),
        )

    def gtin_sku(self, gtin: str) -> str | None:
        if not _storable(gtin):
            return None
        rows = self._read(_GTIN, gtin)
        return str(rows[0][0]) if rows else None

    def _read(self, statement: Executable, code: str) -> list[tuple[Any, ...]]:
        try:
            return [tuple(row) for row in self._c.execute(statement, {"code": code})]
        finally:
            self._c.rollback()


def _storable(code: str) -> bool:
    """Whether a code column could hold this text at all."""
    if not code or len(code) > MAX_CODE_LENGTH or "\x00" in code:
        return False
    try:
        code.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@contextmanager
def open_catalogue(engine: Engine) -> Iterator[SqlCatalogue]:
    """A catalogue on its own read-only connection, closed on exit."""
    with engine.connect().execution_options(**{READONLY: True}) as connection:
        yield SqlCatalogue(connection)


class EngineCatalogue:
    """A catalogue that takes a fresh read-only connection for each question, for a station that
    must survive the database going away and coming back between two scans."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def identify(self, code: str) -> CodeMatch:
        if not _storable(code):
            return NO_MATCH
        with open_catalogue(self._engine) as catalogue:
            return catalogue.identify(code)

    def gtin_sku(self, gtin: str) -> str | None:
        if not _storable(gtin):
            return None
        with open_catalogue(self._engine) as catalogue:
            return catalogue.gtin_sku(gtin)
