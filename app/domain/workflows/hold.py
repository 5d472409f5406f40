"""Putting stock on hold from any station mode (`@CMD:HOLD`): then, if wanted, a reason code
(`@CMD:REASON:DAMAGED`), then the location to hold or an item label that carries the lot to hold.
The station sends a `Hold`; nothing of that stock is picked, moved or shipped until a supervisor
releases it (domain/holds.py). The shift runs this step above the mode's workflow, which waits.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.commands import MAX_CODE_LENGTH, Command, Hold, new_tx_id
from app.domain.interpret import CommandName, Interpretation, Kind
from app.domain.ledger import Outcome
from app.domain.model import Tracking
from app.domain.workflow import Feedback, Reply, StationData, error, ok
from app.domain.workflows.common import describe, queued


def held_what(command: Hold) -> str:
    """'location A-01-01' or 'lot L1 of MILK', for messages."""
    if command.location is not None:
        return f"location {command.location}"
    return f"lot {command.lot} of {command.sku}"


def hold_answer(command: Hold, outcome: Outcome | None) -> Feedback:
    """What the station says when the ledger answered a Hold (None: it stays queued)."""
    what = held_what(command)
    if outcome is None:
        return queued(f"Putting {what} on hold")
    if not outcome.ok:
        return error(
            f"Putting {what} on hold was refused: {outcome.message.rstrip('.')}. Nothing was "
            "put on hold; tell a supervisor."
        )
    if outcome.result.get("already"):  # "B-01 is already on hold since ...; nothing changed"
        return ok(f"{outcome.message[:1].upper()}{outcome.message[1:]}.")
    return ok(
        f"{what[0].upper()}{what[1:]} is on hold ({command.reason}): nothing of it is picked, "
        "moved or shipped until a supervisor releases it."
    )


@dataclass
class HoldStep:
    """The exchange after `@CMD:HOLD`. `on_scan` returns the next Reply, or the `Hold` to send
    once the location or lot is scanned."""

    data: StationData
    station: str
    badge: str
    reason: str | None = None
    """The reason code scanned in this step, in words ("damaged"); None: the default."""

    @property
    def why(self) -> str:
        default = f"held at station {self.station} by {self.badge}"
        return (self.reason or default)[:MAX_CODE_LENGTH]

    def prompt(self, feedback: Feedback | None = None) -> Reply:
        reason = f" (reason: {self.reason})" if self.reason else ""
        return Reply(
            f"Hold{reason}: scan the location to hold, or an item label with the lot to hold. "
            "A REASON code first says why; CANCEL drops the hold.",
            feedback,
        )

    def on_scan(self, scan: Interpretation) -> Reply | Command:
        if scan.kind is Kind.COMMAND and scan.command is CommandName.REASON and scan.command_arg:
            self.reason = scan.command_arg.replace("_", " ")
            return self.prompt(ok(f"Reason: {self.reason}. Scan the location or lot to hold."))
        if scan.kind is Kind.LOCATION and scan.code:
            return self._hold(location=scan.code)
        if scan.kind is Kind.ITEM:
            return self._lot(scan)
        return self.prompt(
            error(
                f"Scanned {describe(scan)}, but a hold needs a location label or an item label "
                "with its lot. Scan one, or CANCEL."
            )
        )

    def refuse_input(self, what: str) -> Reply:
        """Keypad or RFID input during the step: not taken."""
        return self.prompt(
            error(f"{what} is not taken while putting stock on hold: scan a location or a lot.")
        )

    def _lot(self, scan: Interpretation) -> Reply | Command:
        gtin = scan.gtin or scan.content_gtin
        sku = self.data.sku(scan.sku) if scan.sku else None
        if sku is None and gtin:
            sku = self.data.sku_by_gtin(gtin)
        if sku is None:
            code = gtin or scan.code or "this barcode"
            return self.prompt(
                error(
                    f"No item in the catalogue has barcode {code}, so its lot cannot be held. "
                    "Hold the location it stands in instead."
                )
            )
        if sku.tracking is not Tracking.LOT:
            return self.prompt(
                error(
                    f"{sku.code} is not tracked by lot, so no lot of it can be held: scan the "
                    "location it stands in to hold that."
                )
            )
        if not scan.lot:
            return self.prompt(
                error(
                    f"This label of {sku.code} carries no lot (10): scan the GS1 label with the "
                    "lot, or the location to hold."
                )
            )
        return self._hold(sku=sku.code, lot=scan.lot)

    def _hold(
        self, location: str | None = None, sku: str | None = None, lot: str | None = None
    ) -> Command:
        return Hold(
            tx_id=new_tx_id(),
            station=self.station,
            operator=self.badge,
            reason=self.why,
            location=location,
            sku=sku,
            lot=lot,
        )
