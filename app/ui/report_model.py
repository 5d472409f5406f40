"""A report's rows for a Qt table (README "Reports on the supervisor's screen"): a whole report
shown at once, or stock on hand fetched a page at a time as the supervisor scrolls.

Stock on hand of a large warehouse is a million rows: the model never asks for them all. It
holds what was read so far and, when the view scrolls to its end, Qt asks `canFetchMore` and
`fetchMore`, and the model asks for the next page through `PageRequest` (the supervisor's
screen runs it on its query runner, by keyset: app/adapters/db/reports_stock.py `stock_page`).
One page is asked at a time; an answer to an older run (the supervisor ran another report) is
dropped by its generation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from app.domain.report_pages import ReportShown, StockKey, StockPage
from app.domain.report_table import Column, ColumnKind, Value, shown

PageRequest = Callable[
    [StockKey | None, int, Callable[[StockPage], None], Callable[[str], None]], None
]
"""`request(after, limit, done, failed)`: read `limit` rows after `after`, off the GUI thread;
call `done(page)` or `failed(message)` on it."""

PAGE_ROWS = 200
"""Rows per page: a few screens' worth, so that scrolling rarely waits, and small enough that
the first page is on screen at once."""

RIGHT = (ColumnKind.INT, ColumnKind.MONEY, ColumnKind.PERCENT, ColumnKind.NUMBER)

Index = QModelIndex | QPersistentModelIndex


class ReportTableModel(QAbstractTableModel):
    """The rows of one report, as its printed table shows them (app/domain/report_table.py
    `shown`), numbers on the right. `pages_asked` counts the pages asked for since the last run."""

    page_arrived = Signal(int)
    """A page (or a whole report) is in: the rows held now."""
    page_failed = Signal(str)
    """A page could not be read (the database): the next scroll to the end asks again."""
    page_refused = Signal(str)
    """The filters name nothing: what to type instead."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._columns: tuple[Column, ...] = ()
        self._rows: list[tuple[Value, ...]] = []
        self._request: PageRequest | None = None
        self._after: StockKey | None = None
        self._complete = True
        self._asking = False
        self._generation = 0
        self.page_rows = PAGE_ROWS
        self.pages_asked = 0
        self.title = ""
        self.notes: tuple[str, ...] = ()

    # --- what is shown ---

    def show_whole(self, report: ReportShown) -> None:
        """A report read whole: nothing more to fetch."""
        self._generation += 1
        self.beginResetModel()
        self._columns, self._rows = report.columns, list(report.rows)
        self._request, self._after, self._complete, self._asking = None, None, True, False
        self.title, self.notes = report.title, report.notes
        self.endResetModel()
        self.page_arrived.emit(len(self._rows))

    def show_paged(self, request: PageRequest) -> None:
        """Start again from the first page of a paged report; more come as the view scrolls."""
        self._generation += 1
        self.beginResetModel()
        self._columns, self._rows = (), []
        self._request, self._after, self._complete, self._asking = request, None, False, False
        self.pages_asked = 0
        self.title, self.notes = "", ()
        self.endResetModel()
        self._ask()

    def clear(self) -> None:
        self.show_whole(ReportShown("", (), ()))

    @property
    def complete(self) -> bool:
        """Every row is held (the last page came, or the report was read whole)."""
        return self._complete

    @property
    def columns(self) -> tuple[Column, ...]:
        return self._columns

    def row_values(self, row: int) -> tuple[Value, ...]:
        return self._rows[row]

    # --- fetching ---

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        if parent.isValid():
            return False
        return self._request is not None and not self._complete and not self._asking

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent):
            self._ask()

    def _ask(self) -> None:
        request, generation = self._request, self._generation
        if request is None:
            return
        self._asking = True
        self.pages_asked += 1
        request(
            self._after,
            self.page_rows,
            lambda page: self._on_page(generation, page),
            lambda message: self._on_failed(generation, message),
        )

    def _on_page(self, generation: int, page: StockPage) -> None:
        if generation != self._generation:
            return  # an answer to a report no longer shown
        self._asking = False
        if page.refused is not None:
            self._complete = True
            self.page_refused.emit(page.refused)
            return
        if not self._columns:
            self.beginResetModel()
            self._columns, self.title, self.notes = page.columns, page.title, page.notes
            self._rows = list(page.rows)
            self.endResetModel()
        elif page.rows:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(page.rows) - 1)
            self._rows.extend(page.rows)
            self.endInsertRows()
        self._after = page.after
        self._complete = page.after is None
        self.page_arrived.emit(len(self._rows))

    def _on_failed(self, generation: int, message: str) -> None:
        if generation != self._generation:
            return
        self._asking = False  # the next scroll to the end asks again
        self.page_failed.emit(message)

    # --- the table model ---

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        column = self._columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return shown(self._rows[index.row()][index.column()], column.kind)
        if role == Qt.ItemDataRole.TextAlignmentRole and column.kind in RIGHT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and section < len(self._columns)
        ):
            return self._columns[section].title
        return None
