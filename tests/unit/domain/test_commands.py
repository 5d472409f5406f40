"""Commands validate what a station sends and round-trip through their JSON payload."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.commands import (
    Adjust,
    AdjustReason,
    Opening,
    OpeningLine,
    PostPick,
    Receive,
    Reserve,
    command_from_payload,
)
from app.domain.errors import Reason, Rejection

ENVELOPE: dict[str, Any] = {
    "station": "ST-1",
    "operator": "D1",
    "station_time": datetime(2026, 11, 22, tzinfo=UTC),
}


@pytest.mark.parametrize("qty", [0, -1, True, 1.5, "3"])
def test_a_quantity_is_a_whole_number_above_zero(qty: object) -> None:
    with pytest.raises(Rejection) as refused:
        Receive(tx_id=uuid.uuid4(), sku="W", qty=qty, to_location="D", **ENVELOPE)  # type: ignore[arg-type]
    assert refused.value.reason is Reason.BAD_QUANTITY


@pytest.mark.parametrize("text", ["A\x00B", "A\nB", "x" * 65, "\x1b[31m"])
def test_control_characters_and_overlong_codes_are_refused(text: str) -> None:
    with pytest.raises(Rejection) as refused:
        Receive(tx_id=uuid.uuid4(), sku=text, qty=1, to_location="D", **ENVELOPE)
    assert refused.value.reason is Reason.BAD_INPUT


def test_a_naive_station_clock_is_refused() -> None:
    with pytest.raises(Rejection, match="time zone"):
        Receive(
            tx_id=uuid.uuid4(),
            station="S",
            operator="O",
            station_time=datetime(2026, 1, 1),
            sku="W",
            qty=1,
            to_location="D",
        )


def test_the_payload_hash_ignores_the_id_but_not_the_content() -> None:
    a = Receive(tx_id=uuid.uuid4(), sku="W", qty=1, to_location="D", **ENVELOPE)
    b = Receive(tx_id=uuid.uuid4(), sku="W", qty=1, to_location="D", **ENVELOPE)
    c = Receive(tx_id=a.tx_id, sku="W", qty=2, to_location="D", **ENVELOPE)
    assert a.payload_hash() == b.payload_hash() != c.payload_hash()


@pytest.mark.parametrize(
    "command",
    [
        Receive(
            tx_id=uuid.uuid4(),
            sku="M",
            qty=3,
            lot="L1",
            expiry=date(2027, 1, 2),
            serials=("a", "b", "c"),
            to_location="D",
            receipt="ASN-1",
            **ENVELOPE,
        ),
        Adjust(
            tx_id=uuid.uuid4(),
            sku="W",
            location="A",
            delta=-2,
            reason=AdjustReason.LOST,
            approved_by="S1",
            **ENVELOPE,
        ),
        Reserve(
            tx_id=uuid.uuid4(),
            order="SO",
            line=2,
            sku="W",
            qty=4,
            expires_at=datetime(2026, 12, 1, 8, tzinfo=UTC),
            **ENVELOPE,
        ),
        PostPick(tx_id=uuid.uuid4(), reservation=9, qty=0, to_location="OUT", **ENVELOPE),
        Opening(
            tx_id=uuid.uuid4(), lines=(OpeningLine("W", "A", 3, "L", date(2027, 1, 1)),), **ENVELOPE
        ),
    ],
)
def test_commands_round_trip_through_their_payload(command: object) -> None:
    assert command_from_payload(command.tx_id, command.payload()) == command  # type: ignore[attr-defined]


@given(
    st.dictionaries(st.text(max_size=10), st.one_of(st.text(max_size=10), st.integers(), st.none()))
)
def test_a_malformed_payload_is_refused_not_crashed(payload: dict[str, object]) -> None:
    try:
        command_from_payload(uuid.uuid4(), payload)
    except Rejection as refused:
        assert refused.reason is Reason.BAD_INPUT
