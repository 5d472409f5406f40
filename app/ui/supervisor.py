"""The supervisor's screen (README "A supervisor's day"): the exceptions list, the count tasks and
the day's count plan, stock lookup, the reports, and the inventory-record accuracy, in tabs.

Opened with its button (or Ctrl+S) by a supervisor logged in at any station. Every query and every
decision runs on the window's one background runner (app/ui/runner.py) against the supervisor
desk (app/bootstrap.py `SupervisorDesk`); answers come back as immutable values and are shown
on the GUI thread. While the screen is open a scan looks its code up; a command barcode closes
the screen and goes to the station as usual.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QSpinBox,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.accuracy import AccuracyReport
from app.domain.cycle_counts import CountTaskLine
from app.domain.exceptions import RULES, Decision, ExceptionItem, ExceptionKind
from app.domain.ledger import Outcome
from app.domain.report_pages import (
    DEFAULT_DAYS,
    FILTERS,
    ExportDone,
    Filter,
    ReportAsk,
    ReportName,
    ReportShown,
    StockKey,
    StockPage,
)
from app.domain.scan import Scan, Source
from app.domain.workflow import Level, Reply
from app.services.station_view import StationView
from app.ui.report_model import ReportTableModel
from app.ui.runner import Runner
from app.ui.screens import StationScreen
from app.ui.supervisor_charts import ChartsTab
from app.ui.widgets.keypad import KeypadWidget
from app.ui.widgets.theme import BODY_PT, TABLE_PT, font, plain_label, touch_button

if TYPE_CHECKING:
    from app.bootstrap import ChartData

T = TypeVar("T")


def reason_codes(kind: ExceptionKind, decision: Decision) -> tuple[str, ...]:
    return RULES[kind].reasons(decision)


ACCURACY_DAYS = 30
"""The accuracy figure on the screen's header: the last this many days."""


class Desk(Protocol):
    """What the screen asks of the supervisor desk (app/bootstrap.py), on the runner's thread."""

    def exceptions(self, open_only: bool) -> tuple[ExceptionItem, ...]: ...
    def decide(
        self, operator: str, exception: int, decision: Decision, reason: str, pin: str
    ) -> Outcome: ...
    def count_tasks(self) -> tuple[CountTaskLine, ...]: ...
    def plan(self, operator: str, day: date, zone: str | None) -> Outcome: ...
    def assign(
        self, operator: str, locations: tuple[str, ...], to: str | None, zone: str | None
    ) -> Outcome: ...
    def lookup(self, operator: str, code: str) -> Reply | None: ...
    def accuracy(self, days: int) -> AccuracyReport: ...
    def charts(self, days: int) -> ChartData: ...
    def report(self, ask: ReportAsk, cancel: threading.Event) -> ReportShown: ...
    def stock_page(self, ask: ReportAsk, after: StockKey | None, limit: int) -> StockPage: ...
    def export_csv(
        self,
        ask: ReportAsk,
        path: Path,
        progress: Callable[[int, int], None],
        cancel: threading.Event,
    ) -> ExportDone: ...


def _table(headers: Sequence[str], wide: int) -> QTableWidget:
    """A read-only table whose columns fit their contents, but column `wide` (the long text),
    which takes the room left and wraps: no line runs off the screen."""
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setFont(font(TABLE_PT))
    table.verticalHeader().setVisible(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(wide, QHeaderView.ResizeMode.Stretch)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setWordWrap(True)
    return table


def _fill(table: QTableWidget, rows: Sequence[Sequence[str]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            table.setItem(r, c, item)
    table.resizeRowsToContents()


def _when(item: ExceptionItem) -> str:
    return f"{item.raised_at.astimezone():%d %b %H:%M}"


def outcome_text(outcome: Outcome) -> str:
    """The ledger's answer as one sentence; a refusal says that nothing changed (once)."""
    message = outcome.message.rstrip(". ")
    if outcome.ok:
        return f"Done: {message}."
    if "nothing was" in message.lower():
        return f"Refused: {message}."
    return f"Refused: {message}. Nothing was changed."


class ExceptionsTab(QWidget):
    """The one list of what waits on a person; approve or reject with a reason and a PIN."""

    decided = Signal()

    def __init__(self, screen: SupervisorScreen) -> None:
        super().__init__()
        self._screen = screen
        self._items: tuple[ExceptionItem, ...] = ()
        self.setObjectName("supervisor-exceptions")
        self.show_all = QCheckBox("Show decided ones too")
        self.show_all.setFont(font(BODY_PT))
        self.refresh_button = touch_button("Refresh")
        self.table = _table(
            ("Id", "Kind", "Where", "Who", "When", "What happened, and what it needs"), 5
        )
        # One list of reasons beside each button, each with nothing chosen at first: a decision
        # never goes out with a reason nobody picked.
        self.reasons = {decision: QComboBox() for decision in Decision}
        for decision, box in self.reasons.items():
            box.setObjectName(f"{decision.value}-reason")
            box.setFont(font(BODY_PT))
            box.setMinimumWidth(200)
            box.setPlaceholderText(f"why {decision.value}?")
        self.pin = QLineEdit()
        self.pin.setObjectName("decision-pin")
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setPlaceholderText("your PIN")
        self.pin.setFont(font(BODY_PT))
        self.pin.setMaximumWidth(200)
        self.approve_button = touch_button("Approve")
        self.approve_button.setObjectName("approve")
        self.reject_button = touch_button("Reject")
        self.reject_button.setObjectName("reject")
        self._build()
        self._connect_signals()

    def _build(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.show_all, 1)
        top.addWidget(self.refresh_button)
        decide = QHBoxLayout()
        decide.addWidget(self.reasons[Decision.APPROVE])
        decide.addWidget(self.approve_button)
        decide.addWidget(self.reasons[Decision.REJECT])
        decide.addWidget(self.reject_button)
        decide.addWidget(self.pin)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(decide)

    def _connect_signals(self) -> None:
        self.show_all.toggled.connect(self.refresh)
        self.refresh_button.clicked.connect(self.refresh)
        self.table.itemSelectionChanged.connect(self._on_selected)
        self.approve_button.clicked.connect(lambda: self._decide(Decision.APPROVE))
        self.reject_button.clicked.connect(lambda: self._decide(Decision.REJECT))

    @Slot()
    def refresh(self, quiet: bool = False) -> None:
        """Read the list again; `quiet` keeps the message line as it is (after a decision)."""
        open_only = not self.show_all.isChecked()
        show = self._show_quietly if quiet else self._show
        doing = None if quiet else "Reading exceptions"
        self._screen.run(lambda desk: desk.exceptions(open_only), show, "exceptions", doing)

    def _show(self, items: tuple[ExceptionItem, ...]) -> None:
        self._show_quietly(items)
        waiting = sum(1 for i in items if i.state.value == "open")
        self._screen.say(Level.OK, f"{waiting} exception(s) wait for a decision.", self)

    def _show_quietly(self, items: tuple[ExceptionItem, ...]) -> None:
        """The list; the exception that was selected stays selected (by its number, not its
        row: new ones come in on top), or none is, so a decision never lands on another one."""
        chosen = self.selected()
        self._items = items
        _fill(
            self.table,
            [
                (
                    f"E-{i.id}",
                    i.kind.value.replace("_", " "),
                    i.where,
                    i.raised_by or "",
                    _when(i),
                    f"{i.what}\n→ {i.action if i.state.value == 'open' else self._decision(i)}",
                )
                for i in items
            ],
        )
        row = next((r for r, i in enumerate(items) if chosen and i.id == chosen.id), None)
        if row is None:
            self.table.clearSelection()
        else:
            self.table.selectRow(row)
        self._on_selected()

    @staticmethod
    def _decision(item: ExceptionItem) -> str:
        when = f" at {item.decided_at.astimezone():%d %b %H:%M}" if item.decided_at else ""
        by = f" by {item.decided_by}" if item.decided_by else ""
        why = f" ({item.decision_reason})" if item.decision_reason else ""
        return f"{item.state.value}{by}{when}{why}"

    def selected(self) -> ExceptionItem | None:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        if len(rows) != 1:
            return None
        row = rows.pop()
        return self._items[row] if row < len(self._items) else None

    @Slot()
    def _on_selected(self) -> None:
        item = self.selected()
        open_one = item is not None and item.state.value == "open"
        self.approve_button.setEnabled(open_one)
        self.reject_button.setEnabled(open_one)
        for decision, box in self.reasons.items():
            box.clear()
            if item is not None and open_one:
                box.addItems([c.upper() for c in reason_codes(item.kind, decision)])
            box.setCurrentIndex(-1)

    def _decide(self, decision: Decision) -> None:
        item, operator = self.selected(), self._screen.operator
        if item is None or operator is None:
            self._screen.say(Level.ERROR, "Touch one open exception in the list first.")
            return
        reason = self.reasons[decision].currentText().lower()
        if reason not in reason_codes(item.kind, decision):
            allowed = ", ".join(c.upper() for c in reason_codes(item.kind, decision))
            self._screen.say(
                Level.ERROR,
                f"To {decision.value} E-{item.id}, choose why in the list beside "
                f"{decision.value.capitalize()}: {allowed}.",
            )
            return
        pin = self.pin.text()
        if not pin:
            self._screen.say(Level.ERROR, f"Type your PIN to {decision.value} E-{item.id}.")
            self.pin.setFocus()
            return
        self.pin.clear()
        exception_id = item.id
        self._screen.run(
            lambda desk: desk.decide(operator, exception_id, decision, reason, pin),
            self._decided,
            None,
            f"Sending the decision on E-{exception_id}",
        )

    def _decided(self, outcome: Outcome) -> None:
        self._screen.say(Level.OK if outcome.ok else Level.ERROR, outcome_text(outcome))
        self.table.clearSelection()  # decided: the next decision starts from a fresh choice
        self.refresh(quiet=True)
        self.decided.emit()


class CountsTab(QWidget):
    """The open count tasks with why they exist, the day's plan, and assignment."""

    def __init__(self, screen: SupervisorScreen) -> None:
        super().__init__()
        self._screen = screen
        self._tasks: tuple[CountTaskLine, ...] = ()
        self.setObjectName("supervisor-counts")
        self.zone = QLineEdit()
        self.zone.setPlaceholderText("zone (empty: all)")
        self.zone.setFont(font(BODY_PT))
        self.zone.setMaximumWidth(220)
        self.plan_button = touch_button("Plan today's counts")
        self.plan_button.setObjectName("plan-counts")
        self.refresh_button = touch_button("Refresh")
        self.table = _table(
            ("Bin", "Zone", "State", "From", "Class", "Assigned to", "Planned for", "Why"), 7
        )
        self.assignee = QLineEdit()
        self.assignee.setPlaceholderText("badge or zone")
        self.assignee.setFont(font(BODY_PT))
        self.assignee.setMaximumWidth(220)
        self.to_counter = touch_button("Assign to counter")
        self.to_zone = touch_button("Assign to zone")
        self.to_anyone = touch_button("Anyone")
        self.plan_text = QPlainTextEdit()
        self.plan_text.setObjectName("plan-text")
        self.plan_text.setReadOnly(True)
        self.plan_text.setFont(font(TABLE_PT))
        self.plan_text.setMaximumHeight(110)
        self.plan_text.hide()
        self._build()
        self._connect_signals()

    def _build(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.zone)
        top.addWidget(self.plan_button)
        top.addStretch(1)
        top.addWidget(self.refresh_button)
        assign = QHBoxLayout()
        assign.addWidget(plain_label("Selected tasks:", BODY_PT))
        assign.addWidget(self.assignee)
        assign.addWidget(self.to_counter)
        assign.addWidget(self.to_zone)
        assign.addWidget(self.to_anyone)
        assign.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.plan_text)
        layout.addWidget(self.table, 1)
        layout.addLayout(assign)

    def _connect_signals(self) -> None:
        self.refresh_button.clicked.connect(self.refresh)
        self.plan_button.clicked.connect(self._plan)
        self.to_counter.clicked.connect(lambda: self._assign("counter"))
        self.to_zone.clicked.connect(lambda: self._assign("zone"))
        self.to_anyone.clicked.connect(lambda: self._assign("anyone"))

    @Slot()
    def refresh(self, quiet: bool = False) -> None:
        """Read the tasks again; `quiet` keeps the message line as it is (after a plan)."""
        show = self._show_quietly if quiet else self._show
        doing = None if quiet else "Reading count tasks"
        self._screen.run(lambda desk: desk.count_tasks(), show, "counts", doing)

    def _show(self, tasks: tuple[CountTaskLine, ...]) -> None:
        self._show_quietly(tasks)
        self._screen.say(Level.OK, f"{len(tasks)} count task(s) open.", self)

    def _show_quietly(self, tasks: tuple[CountTaskLine, ...]) -> None:
        self._tasks = tasks
        _fill(
            self.table,
            [
                (
                    t.location,
                    t.location_zone or "",
                    t.state,
                    t.origin,
                    t.abc or "",
                    t.assignee,
                    t.planned_for.isoformat() if t.planned_for else "",
                    t.reason,
                )
                for t in tasks
            ],
        )

    def _plan(self) -> None:
        operator = self._screen.operator
        if operator is None:
            return
        zone = self.zone.text().strip() or None
        today = date.today()
        self._screen.run(
            lambda desk: desk.plan(operator, today, zone),
            self._planned,
            None,
            f"Planning the counts of {today.isoformat()}",
        )

    def _planned(self, outcome: Outcome) -> None:
        self._screen.say(Level.OK if outcome.ok else Level.ERROR, outcome_text(outcome))
        if outcome.ok:
            self.plan_text.setPlainText("\n".join(plan_lines(outcome.result)))
            self.plan_text.show()
        self.refresh(quiet=True)

    def selected_locations(self) -> tuple[str, ...]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return tuple(self._tasks[r].location for r in rows if r < len(self._tasks))

    def _assign(self, how: str) -> None:
        operator, locations = self._screen.operator, self.selected_locations()
        if operator is None:
            return
        if not locations:
            self._screen.say(Level.ERROR, "Touch the tasks to assign in the list first.")
            return
        target = self.assignee.text().strip() or None
        if how != "anyone" and target is None:
            what = "a counter's badge" if how == "counter" else "a zone"
            self._screen.say(Level.ERROR, f"Type {what} beside the buttons first.")
            return
        to = target if how == "counter" else None
        zone = target if how == "zone" else None
        self._screen.run(
            lambda desk: desk.assign(operator, locations, to, zone),
            self._assigned,
            None,
            "Assigning",
        )

    def _assigned(self, outcome: Outcome) -> None:
        self._screen.say(Level.OK if outcome.ok else Level.ERROR, outcome_text(outcome))
        self.refresh(quiet=True)


def plan_lines(result: Any) -> list[str]:
    """The plan a PlanCounts transaction answered, one line per location (and what was open)."""
    lines = [f"{p.get('location')}: {p.get('reason')}" for p in (result.get("planned") or ()) if p]
    already = [str(p.get("location")) for p in (result.get("already_open") or ()) if p]
    if already:
        lines.append(f"Already open, not planned again: {', '.join(already)}.")
    return lines or ["Nothing new to plan for this day."]


class LookupTab(QWidget):
    """What a bin holds, or where an item stands (from the station's copy of the warehouse)."""

    def __init__(self, screen: SupervisorScreen) -> None:
        super().__init__()
        self._screen = screen
        self.setObjectName("supervisor-lookup")
        self.code = QLineEdit()
        self.code.setObjectName("lookup-code")
        self.code.setPlaceholderText("scan or type a bin or an item")
        self.code.setFont(font(BODY_PT))
        self.button = touch_button("Look up")
        self.summary = plain_label("", BODY_PT)
        self.summary.setWordWrap(True)
        self.lines = QPlainTextEdit()
        self.lines.setObjectName("lookup-lines")
        self.lines.setReadOnly(True)
        self.lines.setFont(font(TABLE_PT))
        top = QHBoxLayout()
        top.addWidget(self.code, 1)
        top.addWidget(self.button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.lines, 1)
        self.button.clicked.connect(lambda: self._look())
        self.code.returnPressed.connect(lambda: self._look())

    def look_up(self, scan: Scan) -> None:
        self.code.setText(scan.text)
        self._look(scan)

    @Slot()
    def _look(self, scan: Scan | None = None) -> None:
        operator, code = self._screen.operator, self.code.text().strip()
        if operator is None or not code:
            return
        asked = scan or Scan(code, Source.MANUAL, device="keyboard")
        self._screen.run(
            lambda desk: desk.lookup(operator, code),
            lambda reply: self._show(reply, asked),
            "lookup",
            f"Looking up {code}",
        )

    def _show(self, reply: Reply | None, scan: Scan) -> None:
        if reply is None:  # a badge: someone logs in at the station
            self.code.clear()
            self._screen.handOver.emit(scan)
            return
        self.summary.setText(reply.prompt)
        self.lines.setPlainText("\n".join(reply.lines))
        if reply.feedback is not None:
            self._screen.say(reply.feedback.level, reply.feedback.text)


class ExportProgress(QObject):
    """Carries an export's progress from the runner's thread to the screen: a signal of an
    object that lives on the GUI thread, so each emit is queued there (only ints cross)."""

    advanced = Signal(int, int)
    """(rows written, rows in all)."""


class ReportsTab(QWidget):
    """A report chosen by name, its few filters, Run, its rows, and Export CSV with a progress
    bar and Cancel. Stock on hand comes a page at a time as the table scrolls (a million rows
    never load whole); the rest are per SKU, receipt or operator and come whole. Everything runs
    on the screen's one query runner."""

    def __init__(self, screen: SupervisorScreen) -> None:
        super().__init__()
        self._screen = screen
        self._cancel: threading.Event | None = None
        self._exporting = False
        self.setObjectName("supervisor-reports")
        self.choose_path: Callable[[str], Path | None] = self._ask_for_path
        """Where to write the CSV file (a save dialog; given the suggested file name)."""
        self.report = QComboBox()
        self.report.setObjectName("report-name")
        self.report.setFont(font(BODY_PT))
        self.report.addItems([name.value for name in ReportName])
        self.fields = {f: QLineEdit() for f in (Filter.SKU, Filter.LOCATION, Filter.ZONE)}
        for f, field in self.fields.items():
            field.setObjectName(f"report-{f.value}")
            field.setPlaceholderText(f"{f.value} (empty: all)")
            field.setFont(font(BODY_PT))
            field.setMaximumWidth(180)
        self.days = QSpinBox()
        self.days.setObjectName("report-days")
        self.days.setRange(0, 3650)
        self.days.setSuffix(" days")
        self.days.setFont(font(BODY_PT))
        self.run_button = touch_button("Run")
        self.run_button.setObjectName("report-run")
        self.export_button = touch_button("Export CSV")
        self.export_button.setObjectName("report-export")
        self.cancel_button = touch_button("Cancel")
        self.cancel_button.setObjectName("report-cancel")
        self.cancel_button.hide()
        self.progress = QProgressBar()
        self.progress.setObjectName("report-progress")
        self.progress.hide()
        self.model = ReportTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setFont(font(TABLE_PT))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        # Fixed row heights and no fit-to-contents: a view that measured its rows would read
        # every one of them, and a million-row report would stall.
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.summary = plain_label("", BODY_PT)
        self.summary.setObjectName("report-summary")
        self.summary.setWordWrap(True)
        self._export_progress = ExportProgress(self)
        self._build()
        self._connect_signals()
        self._on_report_chosen(0)

    def _build(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.report)
        for field in self.fields.values():
            top.addWidget(field)
        top.addWidget(self.days)
        top.addStretch(1)
        top.addWidget(self.run_button)
        top.addWidget(self.export_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress, 1)
        bottom.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        layout.addLayout(bottom)

    def _connect_signals(self) -> None:
        self.report.currentIndexChanged.connect(self._on_report_chosen)
        self.run_button.clicked.connect(self._on_run)
        self.export_button.clicked.connect(self._on_export)
        self.cancel_button.clicked.connect(self._on_cancel)
        self.model.page_arrived.connect(self._on_rows)
        self.model.page_failed.connect(self._on_page_failed)
        self.model.page_refused.connect(self._on_page_refused)
        self._export_progress.advanced.connect(self._on_export_advanced)
        for field in self.fields.values():
            field.returnPressed.connect(self._on_run)

    def chosen(self) -> ReportName:
        return ReportName(self.report.currentText())

    def ask(self) -> ReportAsk:
        """The report chosen with the filters it takes (the others are not sent)."""
        name = self.chosen()
        takes = FILTERS[name]

        def text(f: Filter) -> str | None:
            return (self.fields[f].text().strip() or None) if f in takes else None

        days = self.days.value() if Filter.DAYS in takes else None
        return ReportAsk(name, text(Filter.SKU), text(Filter.LOCATION), text(Filter.ZONE), days)

    @Slot(int)
    def _on_report_chosen(self, _index: int) -> None:
        name = self.chosen()
        takes = FILTERS[name]
        for f, field in self.fields.items():
            field.setEnabled(f in takes)
        self.days.setEnabled(Filter.DAYS in takes)
        if name in DEFAULT_DAYS:
            self.days.setValue(DEFAULT_DAYS[name])

    def _working(self, doing: str | None, cancellable: bool) -> None:
        """Show that something runs (an indeterminate bar) and offer Cancel; None: idle."""
        busy = doing is not None
        self.run_button.setEnabled(not busy)
        self.export_button.setEnabled(not busy)
        self.cancel_button.setVisible(busy and cancellable)
        self.progress.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)
            self._screen.say(Level.OK, f"{doing}...")

    @Slot()
    def _on_run(self) -> None:
        ask = self.ask()
        if ask.name is ReportName.STOCK:
            self._working(f"Reading {ask.name.value}", cancellable=False)
            self.model.show_paged(functools.partial(self._page, ask))
            return
        self._working(f"Running the {ask.name.value} report", cancellable=True)
        self._cancel = cancel = threading.Event()
        self._screen.runner.submit(
            lambda desk: desk.report(ask, cancel),
            lambda shown: self._on_report(cancel, shown),
            lambda message: self._on_report_failed(cancel, message),
            "report",
        )

    def _page(
        self,
        ask: ReportAsk,
        after: StockKey | None,
        limit: int,
        done: Callable[[StockPage], None],
        failed: Callable[[str], None],
    ) -> None:
        self._screen.runner.submit(
            lambda desk: desk.stock_page(ask, after, limit), done, failed, "report"
        )

    def _on_report(self, cancel: threading.Event, shown: ReportShown) -> None:
        if cancel.is_set():
            return  # cancelled: said so already; the answer that came anyway is not shown
        self._cancel = None
        self._working(None, False)
        if shown.refused is not None:
            self.model.clear()
            self._screen.say(Level.ERROR, shown.refused)
            return
        self.model.show_whole(shown)

    def _on_report_failed(self, cancel: threading.Event, message: str) -> None:
        if not cancel.is_set():
            self._cancel = None
            self._working(None, False)
            self._screen._failed(message)

    @Slot(int)
    def _on_rows(self, held: int) -> None:
        if self.progress.isVisible() and self._cancel is None:
            self._working(None, False)
        self.table.resizeColumnsToContents()
        more = "" if self.model.complete else " so far (more as you scroll)"
        self.summary.setText(" ".join((self.model.title + ".", *self.model.notes)))
        self._screen.say(Level.OK, f"{self.model.title}: {held} row(s){more}.", self)

    @Slot(str)
    def _on_page_refused(self, message: str) -> None:
        self._working(None, False)
        self._screen.say(Level.ERROR, message)  # a filter that names nothing: it says what to do

    @Slot(str)
    def _on_page_failed(self, message: str) -> None:
        self._working(None, False)
        self._screen._failed(message)

    def _ask_for_path(self, suggested: str) -> Path | None:
        chosen, _ = QFileDialog.getSaveFileName(self, "Export CSV", suggested, "CSV (*.csv)")
        return Path(chosen) if chosen else None

    @Slot()
    def _on_export(self) -> None:
        ask = self.ask()
        path = self.choose_path(f"{ask.name.value}.csv")
        if path is None:
            return
        self._cancel = cancel = threading.Event()
        self._exporting = True
        self._working(f"Exporting {ask.name.value} to {path}", cancellable=True)
        progress = self._export_progress.advanced.emit
        self._screen.runner.submit(
            lambda desk: desk.export_csv(ask, path, progress, cancel),
            self._on_exported,
            self._on_export_failed,
            None,
        )

    @Slot(int, int)
    def _on_export_advanced(self, written: int, total: int) -> None:
        if self._cancel is None or self._cancel.is_set():
            return
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(written, total))
        self.progress.setFormat(f"{written:,} of {total:,} rows")

    def _on_exported(self, done: ExportDone) -> None:
        self._cancel, self._exporting = None, False
        self._working(None, False)
        if done.cancelled:
            self._screen.say(
                Level.WARNING,
                f"Export cancelled: {done.path} was not written (the part written is removed). "
                "Press Export CSV to start again.",
            )
            return
        self._screen.say(Level.OK, f"{done.rows:,} row(s) written to {done.path}.")

    def _on_export_failed(self, message: str) -> None:
        self._cancel, self._exporting = None, False
        self._working(None, False)
        first = message.splitlines()[0] if message else "an error"
        self._screen.say(
            Level.ERROR,
            f"The export stopped: {first}. No file was left half written; fix that and press "
            "Export CSV again.",
        )

    @Slot()
    def _on_cancel(self) -> None:
        """Set the job's cancel flag (it checks it between rows). An export answers when it has
        stopped and removed its file; a report's late answer is dropped, and the tab is free."""
        cancel = self._cancel
        if cancel is None:
            return
        cancel.set()
        self.cancel_button.hide()
        if self._exporting:
            self._screen.say(Level.WARNING, "Cancelling the export...")
            return
        self._cancel = None
        self._working(None, False)
        self._screen.say(Level.WARNING, "Cancelled: the report was not run to its end.")


def accuracy_text(report: AccuracyReport, days: int) -> str:
    overall = report.overall
    if not overall.counted or overall.percent is None:
        return f"Inventory-record accuracy, last {days} days: no counts yet"
    return (
        f"Inventory-record accuracy, last {days} days: {overall.percent:.1f} % "
        f"({overall.matched} of {overall.counted} locations)"
    )


class SupervisorScreen(StationScreen):
    """The tabs, a header with the accuracy figure, and a line saying what the last action did.
    `closeRequested` asks the window to go back to the station's screens. It draws no station
    view (`show_view` keeps it as it is: the session's screens go on drawing theirs behind it);
    its keypad is the station screens' one, hidden (the session asks no PIN while it is open:
    scans come here)."""

    closeRequested = Signal()
    handOver = Signal(Scan)
    """A badge scanned here: the window closes this screen and gives the scan to the station."""

    def __init__(self, runner: Runner[Desk], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("screen-supervisor")
        self.keypad = KeypadWidget()
        self.keypad.hide()
        self.runner = runner
        self.operator: str | None = None
        self.title = plain_label("Supervisor", 22, bold=True)
        self.accuracy = plain_label("", BODY_PT)
        self.accuracy.setObjectName("accuracy-figure")
        self.back = touch_button("Back to the station (Ctrl+S)")
        self.back.setObjectName("supervisor-back")
        self.message = plain_label("", BODY_PT)
        self.message.setObjectName("supervisor-message")
        self.message.setWordWrap(True)
        self.tabs = QTabWidget()
        self.tabs.setFont(font(BODY_PT))
        self.exceptions = ExceptionsTab(self)
        self.counts = CountsTab(self)
        self.lookup = LookupTab(self)
        self.reports = ReportsTab(self)
        self.tabs.addTab(self.exceptions, "Exceptions")
        self.tabs.addTab(self.counts, "Counts")
        self.tabs.addTab(self.lookup, "Stock lookup")
        self.tabs.addTab(self.reports, "Reports")
        self.charts = ChartsTab(self)
        self.tabs.addTab(self.charts, "Charts")
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.accuracy, 1)
        header.addWidget(self.back)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)
        self.back.clicked.connect(self.closeRequested)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.exceptions.decided.connect(self.refresh_accuracy)

    def show_view(self, view: StationView) -> None:
        """Not drawn from station views (see the class)."""

    def open_for(self, badge: str) -> None:
        """Shown to the supervisor `badge`: every tab reads afresh."""
        self.operator = badge
        self.message.clear()
        self.exceptions.refresh()
        self.counts.refresh()
        self.refresh_accuracy()

    @Slot(int)
    def _on_tab_changed(self, _index: int) -> None:
        if self.operator is None:
            return
        shown = self.tabs.currentWidget()
        if shown is self.exceptions:
            self.exceptions.refresh()
        elif shown is self.counts:
            self.counts.refresh()
        elif shown is self.charts:
            self.charts.refresh()

    def take_scan(self, scan: Scan) -> None:
        """A scan while the screen is open: looked up (a badge is handed to the station: see
        `handOver`). Digits typed fast into the PIN field and
        ended with Enter arrive as a scan too: they go back into the PIN field, never on show."""
        pin = self.exceptions.pin
        if pin.hasFocus():
            pin.setText(scan.text)
            return
        self.tabs.setCurrentWidget(self.lookup)
        self.lookup.look_up(scan)

    @Slot()
    def refresh_accuracy(self) -> None:
        self.run(
            lambda desk: desk.accuracy(ACCURACY_DAYS),
            lambda report: self.accuracy.setText(accuracy_text(report, ACCURACY_DAYS)),
            "accuracy",
            None,
        )

    def say(self, level: Level, text: str, tab: QWidget | None = None) -> None:
        """Show what happened; a tab's routine news only while that tab is shown."""
        if tab is not None and self.tabs.currentWidget() is not tab:
            return
        colour = {Level.OK: "#1b7a34", Level.WARNING: "#8a6100", Level.ERROR: "#c62828"}[level]
        self.message.setStyleSheet(f"color: {colour};")
        self.message.setText(text)

    def run(
        self,
        job: Callable[[Desk], T],
        done: Callable[[T], None],
        key: str | None,
        doing: str | None,
    ) -> None:
        """Run `job` on the runner; say what is being done meanwhile, and any failure after."""
        if doing:
            self.say(Level.OK, f"{doing}...")
        self.runner.submit(job, done, self._failed, key)

    def _failed(self, message: str) -> None:
        first = message.splitlines()[0] if message else "an error"
        self.say(
            Level.ERROR,
            f"That could not be done: {first}. Nothing was changed: try again once the "
            "database answers (the list shown may be out of date).",
        )
