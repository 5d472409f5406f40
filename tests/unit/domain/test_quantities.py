"""Quantities beyond what the database keeps are refused when a command is built."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.domain.commands import (
    Adjust,
    AdjustReason,
    CountLine,
    HoldBin,
    Opening,
    OpeningLine,
    PostPick,
    Receive,
    Reserve,
    SaveCount,
    Transfer,
)
from app.domain.errors import Reason, Rejection
from app.domain.quantities import MAX_QUANTITY, balance_in_range, beyond_range

ENVELOPE: dict[str, Any] = {"station": "ST-1", "operator": "D1"}
TOO_MANY = MAX_QUANTITY + 1


def build(cls: type, **fields: Any) -> Any:
    return cls(tx_id=uuid.uuid4(), **ENVELOPE, **fields)


@pytest.mark.parametrize(
    ("cls", "fields", "message"),
    [
        (Receive, {"sku": "W", "qty": TOO_MANY, "to_location": "DOCK-1"}, "quantity 2147483648"),
        (
            Transfer,
            {"sku": "W", "qty": 2**70, "from_location": "A", "to_location": "B"},
            f"quantity {2**70}",
        ),
        (
            Adjust,
            {"sku": "W", "location": "A", "delta": -TOO_MANY, "reason": AdjustReason.COUNT},
            "an adjustment of 2147483648",
        ),
        (Reserve, {"order": "SO-1", "line": 1, "sku": "W", "qty": TOO_MANY}, "quantity"),
        (PostPick, {"reservation": 1, "qty": TOO_MANY, "to_location": "OUT-1"}, "picked"),
        (HoldBin, {"sku": "W", "qty": TOO_MANY}, "quantity 2147483648"),
        (
            Opening,
            {"lines": (OpeningLine("W", "A", 5), OpeningLine("BOLT", "A", TOO_MANY))},
            "opening quantity of BOLT 2147483648",
        ),
        (
            SaveCount,
            {
                "location": "A",
                "state": "open",
                "counter": "C1",
                "counts": (CountLine("W", TOO_MANY),),
            },
            "counted quantity of W 2147483648",
        ),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else "",
)
def test_a_quantity_beyond_the_database_is_refused_as_a_command(
    cls: type, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(Rejection) as refused:
        build(cls, **fields)
    assert refused.value.reason is Reason.BAD_QUANTITY
    assert refused.value.message.startswith(message)
    assert refused.value.message.endswith(
        "is above the largest quantity 2147483647: check the number and enter it again"
    )


def test_the_largest_quantity_itself_is_accepted() -> None:
    assert build(Receive, sku="W", qty=MAX_QUANTITY, to_location="DOCK-1").qty == MAX_QUANTITY
    adjust = build(Adjust, sku="W", location="A", delta=-MAX_QUANTITY, reason=AdjustReason.LOST)
    assert adjust.delta == -MAX_QUANTITY


def test_balances_and_the_sentence_that_refuses_one() -> None:
    assert balance_in_range(MAX_QUANTITY) and balance_in_range(-MAX_QUANTITY - 1)
    assert not balance_in_range(TOO_MANY) and not balance_in_range(-TOO_MANY - 1)
    assert beyond_range("DOCK-1", False, "WIDGET", 2_147_484_000) == (
        "DOCK-1 would then hold 2147484000 x WIDGET, above the largest quantity 2147483647; "
        "nothing was changed. Split the goods over other locations"
    )
    assert "running total of WIDGET at VENDOR" in beyond_range("VENDOR", True, "WIDGET", -(2**31))
    assert balance_in_range(-(2**40), virtual=True) and not balance_in_range(-(2**63) - 1, True)
