"""A supervisor's release of held stock at a station (domain/holds.py): their badge, their PIN
(a logged-in supervisor approves with their own: the release is theirs to give), then the
reason: `@CMD:REASON:INSPECTED_OK` moves the goods where the worker was taking them,
`RETURNED_TO_VENDOR` or `SCRAPPED` takes them out of stock. One `ReleaseHold` per SKU and lot;
the ledger checks badge, PIN and hold again and records the release.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.approval import Approval, Approved
from app.domain.commands import Command, ReleaseHold, ReleaseReason
from app.domain.interpret import CommandName, Interpretation, Kind
from app.domain.ledger import Outcome
from app.domain.workflow import Feedback, Reply, StationData, WorkContext, error, ok
from app.domain.workflows.common import describe, queued, signed

REASONS = ", ".join(r.value.upper() for r in ReleaseReason)


@dataclass(frozen=True, slots=True)
class HeldGoods:
    """Goods of one SKU (and lot) that cannot leave `source` without a release, and why."""

    sku: str
    lot: str | None
    qty: int
    source: str
    why: str

    def __str__(self) -> str:
        lot = f" lot {self.lot}" if self.lot else ""
        return f"{self.qty} x {self.sku}{lot}"


def released(command: ReleaseHold) -> str:
    """'5 x MILK lot L1 from QUAR-1 to A-01-01 (inspected ok, approved by S1)'."""
    lot = f" lot {command.lot}" if command.lot else ""
    goods = f"{command.qty} x {command.sku}{lot} from {command.location}"
    why = f"{command.reason.value.replace('_', ' ')}, approved by {command.approved_by}"
    if command.to_location:
        return f"{goods} to {command.to_location} ({why})"
    return f"{goods} out of stock ({why})"


def release_answer(command: ReleaseHold, outcome: Outcome | None, data: StationData) -> Feedback:
    """What the station says when the ledger answered a release (None: it stays queued). Goods
    of a lot on hold stay held where they went: the release moved them, the lot's hold stays."""
    if outcome is None:
        return queued(f"Releasing {released(command)}")
    if not outcome.ok:
        return error(
            f"Releasing {released(command)} was refused: {outcome.message.rstrip('.')}. Nothing "
            "of it "
            "moved; it stays held."
        )
    still = None
    if command.to_location and command.sku and command.lot:
        still = data.held(command.to_location, command.sku, command.lot)
    if still is None:
        return ok(f"Released {released(command)}.")
    return ok(
        f"Released {released(command)}. {still[:1].upper()}{still[1:]}: the goods stay held "
        "there until that hold is lifted."
    )


class Release:
    """The exchange: `on_scan` and `on_entry` return the next Reply, or the ReleaseHold
    commands once the reason is scanned. `target`: where INSPECTED_OK moves the goods."""

    def __init__(self, ctx: WorkContext, goods: Sequence[HeldGoods], target: str) -> None:
        self.ctx = ctx
        self.goods = tuple(goods)
        self.target = target
        self.lines = tuple(f"Held in {g.source}: {g} ({g.why})" for g in self.goods)
        listing = " and ".join(str(g) for g in self.goods)
        self.approval = Approval(
            ctx.data, ctx.pins, f"releasing {listing} from {self.goods[0].source}", lines=self.lines
        )
        self.approved: Approved | None = None

    @property
    def wants_badge(self) -> bool:
        return self.approved is None and self.approval.badge is None

    def refusal(self) -> str:
        """Why the goods were not moved, and what to do: for the banner that starts this."""
        whys = "; ".join(dict.fromkeys(g.why for g in self.goods))
        listing = " and ".join(str(g) for g in self.goods)
        return (
            f"{listing} cannot be moved from {self.goods[0].source}: {whys}. Nothing was moved. "
            f"Supervisor: scan your badge and enter your PIN, then the reason ({REASONS}), to "
            "release it; CANCEL leaves it held."
        )

    def prompt(self, feedback: Feedback | None = None) -> Reply:
        if self.approved is None:
            reply = self.approval.prompt()
            return Reply(reply.prompt, feedback, lines=reply.lines, entry=reply.entry)
        return Reply(
            f"Supervisor {self.approved.supervisor}: scan the reason. INSPECTED_OK moves the "
            f"goods to {self.target}; RETURNED_TO_VENDOR or SCRAPPED takes them out of stock. "
            "CANCEL leaves them held.",
            feedback,
            lines=self.lines,
        )

    def on_scan(self, scan: Interpretation) -> Reply | tuple[Command, ...]:
        if self.approved is None:
            if scan.kind is Kind.COMMAND:
                return self.prompt(
                    error(
                        f"Scanned {describe(scan)}, but a supervisor's badge and PIN come first "
                        "to release held goods. Supervisor: scan your badge; or CANCEL."
                    )
                )
            step = self.approval.on_scan(scan)
            assert isinstance(step, Reply)  # a badge scan is never the whole approval
            return step
        reason = _release_reason(scan)
        if reason is None:
            return self.prompt(
                error(
                    f"Scanned {describe(scan)}, but the release needs its reason: scan one of "
                    f"{REASONS} (@CMD:REASON:...), or CANCEL."
                )
            )
        approved = self.approved
        return tuple(
            ReleaseHold(
                **signed(self.ctx),
                reason=reason,
                approved_by=approved.supervisor,
                approver_pin=approved.pin,
                location=g.source,
                sku=g.sku,
                lot=g.lot,
                qty=g.qty,
                to_location=self.target if reason is ReleaseReason.INSPECTED_OK else None,
            )
            for g in self.goods
        )

    def on_entry(self, text: str) -> Reply:
        if self.approved is not None:
            return self.prompt(
                error(f"The keypad is not used here: scan the reason ({REASONS}), or CANCEL.")
            )
        step = self.approval.on_entry(text)
        if isinstance(step, Approved):
            self.approved = step
            return self.prompt(ok(f"Approved by {step.supervisor}: scan the reason."))
        return step


def _release_reason(scan: Interpretation) -> ReleaseReason | None:
    if scan.kind is not Kind.COMMAND or scan.command is not CommandName.REASON:
        return None
    try:
        return ReleaseReason(scan.command_arg or "")
    except ValueError:
        return None
