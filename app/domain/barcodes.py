"""Barcode values the catalogue stores: GTINs normalised to 14 digits (checked by biip)."""

from __future__ import annotations

from biip import ParseError
from biip.gtin import Gtin


def normalise_gtin(text: str) -> str:
    """A GTIN-8/12/13/14 as 14 digits; ValueError with biip's reason when it is not one."""
    value = text.strip()
    if not value.isdigit() or len(value) not in (8, 12, 13, 14):
        raise ValueError(f"{text!r} is not a GTIN: 8, 12, 13 or 14 digits")
    try:
        return Gtin.parse(value).as_gtin_14()
    except ParseError as error:
        raise ValueError(str(error)) from None
