"""The exceptions list's rules (app/domain/exceptions.py): every kind has an action and reason
codes for both decisions, the codes each decision takes, the names E-12, and what a count beyond
tolerance says to the supervisor."""

from __future__ import annotations

import uuid

import pytest

from app.domain.commands import (
    AdjustReason,
    CountLine,
    Decide,
    ReleaseReason,
    command_from_payload,
)
from app.domain.errors import Rejection
from app.domain.exceptions import (
    ADJUST_REASONS,
    COUNT_KINDS,
    RULES,
    Decision,
    DecisionReason,
    ExceptionKind,
    count_differences,
    count_what,
    label,
    parse_label,
    reason_refusal,
)


def test_every_kind_has_an_action_and_reasons_for_both_decisions() -> None:
    assert set(RULES) == set(ExceptionKind)
    for kind, rule in RULES.items():
        assert rule.action and rule.approve_does and rule.reject_does, kind
        assert rule.approve_reasons and rule.reject_reasons, kind


def test_adjust_reasons_are_the_adjustment_codes() -> None:
    assert tuple(r.value for r in AdjustReason) == ADJUST_REASONS


@pytest.mark.parametrize("kind", sorted(COUNT_KINDS))
def test_a_count_is_approved_with_an_adjustment_reason_and_rejected_with_a_decision_reason(
    kind: ExceptionKind,
) -> None:
    assert reason_refusal(kind, Decision.APPROVE, "lost") is None
    assert reason_refusal(kind, Decision.REJECT, "recount") is None
    refused = reason_refusal(kind, Decision.APPROVE, "checked_ok")
    assert refused is not None
    assert refused.startswith("'checked_ok' is not a reason to approve a count")
    assert "count, damaged, found, lost, expired, correction" in refused
    assert reason_refusal(kind, Decision.REJECT, "lost") is not None


def test_a_hold_is_approved_only_as_inspected_ok() -> None:
    hold = ExceptionKind.HOLD
    assert reason_refusal(hold, Decision.APPROVE, ReleaseReason.INSPECTED_OK.value) is None
    assert reason_refusal(hold, Decision.APPROVE, ReleaseReason.SCRAPPED.value) is not None
    assert reason_refusal(hold, Decision.REJECT, DecisionReason.CHECKED_OK.value) is None


def test_other_kinds_take_decision_reasons_both_ways() -> None:
    for kind in set(ExceptionKind) - COUNT_KINDS - {ExceptionKind.HOLD}:
        for decision in Decision:
            assert reason_refusal(kind, decision, "vendor_error") is None
            assert reason_refusal(kind, decision, "lost") is not None


@pytest.mark.parametrize("text", ["12", "E-12", "e-12", " E-12 "])
def test_an_exception_is_named_by_its_number(text: str) -> None:
    assert parse_label(text) == 12
    assert label(12) == "E-12"


@pytest.mark.parametrize("text", ["", "E-", "E12", "twelve", "E-1x", "-3", "١٢"])
def test_anything_else_is_not_an_exception_number(text: str) -> None:
    with pytest.raises(ValueError, match="give its number, as 12 or E-12"):
        parse_label(text)


def test_a_count_says_counted_against_ledger_per_sku_and_lot() -> None:
    counts = [CountLine("WIDGET", 7), CountLine("MILK", 4, "L1"), CountLine("BOLT", 5)]
    snapshot = [CountLine("WIDGET", 10), CountLine("MILK", 4, "L1"), CountLine("MILK", 2, "L2")]
    assert count_differences(counts, snapshot) == [
        (("BOLT", None), 5, 0),
        (("MILK", "L2"), 0, 2),
        (("WIDGET", None), 7, 10),
    ]
    first = count_what("A-01-01", "C1", counts, snapshot)
    assert first == (
        "count of A-01-01 by C1 beyond tolerance, waiting for a recount by another operator: "
        "BOLT counted 5, ledger 0 (+5); MILK lot L2 counted 0, ledger 2 (-2); "
        "WIDGET counted 7, ledger 10 (-3)"
    )
    again = count_what("A-01-01", "C2", counts[:1], snapshot[:1], ["C1"])
    assert again == (
        "recount of A-01-01 by C2 (first count by C1) beyond tolerance too, waiting for a "
        "supervisor: WIDGET counted 7, ledger 10 (-3)"
    )


def test_a_decision_round_trips_through_a_station_outbox_payload() -> None:
    decide = Decide(
        tx_id=uuid.uuid4(),
        station="ST-1",
        operator="S1",
        exception=12,
        decision="approve",
        reason="lost",
        approved_by="S1",
        approver_pin="123456",
    )
    assert "approver_pin" not in decide.payload()
    again = command_from_payload(decide.tx_id, decide.payload())
    assert again == decide and again.approver == "S1"


def test_a_decision_is_approve_or_reject() -> None:
    with pytest.raises(Rejection, match="a decision is approve or reject, not 'maybe'"):
        Decide(
            tx_id=uuid.uuid4(),
            station="ST-1",
            operator="S1",
            exception=12,
            decision="maybe",
            reason="lost",
            approved_by="S1",
        )
