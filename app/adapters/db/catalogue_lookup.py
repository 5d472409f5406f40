"""The scan interpreter's catalogue (domain/interpret.Catalogue) in SQL: badges, location labels,
alias barcodes and GTINs with their pack quantities, one statement per question.

Scanned text is hostile: it only ever travels as a bound parameter of a prepared statement, and
text that no column could hold (longer than a code, NUL, not encodable) is answered without a
query. Each lookup is its own short read transaction (a plain BEGIN on SQLite, never the write
lock), so a station's lookups neither block writers nor see a stale snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Executable,
    Integer,
    String,
    bindparam,
    cast,
    literal,
    null,
    select,
    union_all,
)

from app.domain.commands import MAX_CODE_LENGTH
from app.domain.interpret import NO_MATCH, Barcode, CodeMatch
from app.domain.model import LocationKind

from .engine import READONLY
from .schema import BarcodeRow, LocationRow, OperatorRow, OrderRow, ReceiptRow, SkuRow, table

_B, _L, _O, _S = table(BarcodeRow), table(LocationRow), table(OperatorRow), table(SkuRow)
_R, _ORD = table(ReceiptRow), table(OrderRow)
_CODE = bindparam("code", type_=String())
_CODES = bindparam("codes", type_=String(), expanding=True)
_BADGE, _LOCATION, _ALIAS, _RECEIPT, _ORDER = 1, 2, 3, 4, 5
_NO_PACK = cast(null(), Integer)  # typed: PostgreSQL will not unite untyped NULLs with integers

# One statement answers all the questions about a code, each part on a unique index.
_IDENTIFY = union_all(
    select(literal(_RECEIPT), null(), _NO_PACK).where(_R.c.code == _CODE),
    select(literal(_ORDER), null(), _NO_PACK).where(_ORD.c.code == _CODE),
    select(literal(_BADGE), null(), _NO_PACK).where(_O.c.badge == _CODE),
    select(literal(_LOCATION), null(), _NO_PACK).where(
        _L.c.code == _CODE, _L.c.kind != LocationKind.VIRTUAL.value
    ),
    select(literal(_ALIAS), _S.c.code, _B.c.pack_qty)
    .select_from(_B.join(_S, _S.c.id == _B.c.sku_id))
    .where(_B.c.code == _CODE, _B.c.kind == "alias"),
)
_BARCODES = (
    select(_B.c.code, _S.c.code, _B.c.pack_qty, _B.c.kind)
    .select_from(_B.join(_S, _S.c.id == _B.c.sku_id))
    .where(_B.c.code.in_(_CODES))
)


class SqlCatalogue:
    """Lookups on one connection, for one thread (a station's database worker, or the CLI)."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def identify(self, code: str) -> CodeMatch:
        if not _storable(code):
            return NO_MATCH
        found = {row[0]: row[1:] for row in self._read(_IDENTIFY, {"code": code})}
        alias = found.get(_ALIAS)
        return CodeMatch(
            badge=_BADGE in found,
            location=_LOCATION in found,
            receipt=_RECEIPT in found,
            order=_ORDER in found,
            alias_sku=None if alias is None else str(alias[0]),
            alias_pack=1 if alias is None else int(alias[1]),
        )

    def barcode(self, codes: Sequence[str]) -> Barcode | None:
        wanted = list(dict.fromkeys(c for c in codes if _storable(c)))
        if not wanted:
            return None
        found = {row[0]: row for row in self._read(_BARCODES, {"codes": wanted})}
        return next((_barcode(found[c]) for c in wanted if c in found), None)

    def gtin_sku(self, gtin: str) -> str | None:
        """The SKU of the GTIN barcode `gtin` (14 digits), aliases aside."""
        found = self.barcode((gtin,))
        return found.sku if found is not None and found.kind == "gtin" else None

    def _read(self, statement: Executable, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        try:
            return [tuple(row) for row in self._c.execute(statement, params)]
        finally:
            self._c.rollback()


def _barcode(row: tuple[Any, ...]) -> Barcode:
    return Barcode(str(row[0]), str(row[1]), int(row[2]), str(row[3]))


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

    def barcode(self, codes: Sequence[str]) -> Barcode | None:
        if not any(_storable(c) for c in codes):
            return None
        with open_catalogue(self._engine) as catalogue:
            return catalogue.barcode(codes)
