"""EPCs read from RFID tags, decoded to the GS1 keys a warehouse works with.

SGTIN-96 gives the item's GTIN-14 and serial (and the filter value: 1 point-of-sale item, 2 full
case, 6 unit load, ...); SSCC-96 gives the pallet's SSCC-18; any other EPC (a factory EPC
such as `E280...`, another scheme, another length) is kept as raw hex.

Written here rather than taken from epcpy (STYLE.md rule 20 says why it has to be argued):
the domain imports only the standard library, and epcpy's hex decoding drops the filter value,
which tells a case from a pallet. It is two fixed bit layouts from the GS1 EPC Tag Data Standard
(TDS, SGTIN-96 and SSCC-96), checked against the TDS worked example and cross-checked against
epcpy, both ways, in tests/unit/domain/test_epc.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class EpcScheme(StrEnum):
    SGTIN_96 = "sgtin-96"
    SSCC_96 = "sscc-96"
    RAW = "raw"


@dataclass(frozen=True, slots=True)
class EpcInfo:
    """A tag's EPC (upper-case hex) and, for GS1 schemes, what it identifies."""

    epc: str
    scheme: EpcScheme
    filter: int | None = None
    company_prefix: str | None = None
    gtin: str | None = None
    serial: str | None = None
    sscc: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The fields `perpetua rfid listen --json` prints."""
        return {
            "epc": self.epc,
            "scheme": self.scheme.value,
            "gtin": self.gtin,
            "serial": self.serial,
            "sscc": self.sscc,
        }


SGTIN_96_HEADER = 0x30
SSCC_96_HEADER = 0x31

# Partition value -> (company prefix bits, digits), TDS tables 14-2 (SGTIN) and 14-3 (SSCC).
# The item reference (SGTIN, 44 bits with the prefix) and serial reference (SSCC, 58 bits) take
# the remaining bits and 13 or 17 digits minus the prefix's.
_PREFIX = {0: (40, 12), 1: (37, 11), 2: (34, 10), 3: (30, 9), 4: (27, 8), 5: (24, 7), 6: (20, 6)}


def gs1_check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit for a GTIN or SSCC without its check digit."""
    weighted_3 = sum(map(int, digits[-1::-2]))  # the rightmost digit and every second one
    return str(-(3 * weighted_3 + sum(map(int, digits[-2::-2]))) % 10)


def _split(value: int, bits: int, partition: int, digits: int) -> tuple[str, str] | None:
    """Company prefix and the other reference, as digit strings; None if either does not fit."""
    prefix_bits, prefix_digits = _PREFIX[partition]
    other_bits, other_digits = bits - prefix_bits, digits - prefix_digits
    prefix, other = value >> other_bits, value & ((1 << other_bits) - 1)
    if prefix >= 10**prefix_digits or other >= 10**other_digits:
        return None  # TDS: "the decoding fails"
    return f"{prefix:0{prefix_digits}d}", f"{other:0{other_digits}d}"


def decode_epc(epc: str) -> EpcInfo:
    """Decode an EPC given as hex; SGTIN-96 and SSCC-96 that do not decode are kept raw."""
    epc = epc.upper()
    value = int(epc, 16)  # ValueError for text that is not hex: parsers only pass hex
    if len(epc) != 24:
        return EpcInfo(epc, EpcScheme.RAW)
    header, filter_value, partition = value >> 88, (value >> 85) & 7, (value >> 82) & 7
    if partition == 7:
        return EpcInfo(epc, EpcScheme.RAW)
    if header == SGTIN_96_HEADER:
        parts = _split((value >> 38) & ((1 << 44) - 1), 44, partition, 13)
        if parts is None:
            return EpcInfo(epc, EpcScheme.RAW)
        prefix, item = parts
        gtin = item[0] + prefix + item[1:]
        serial = str(value & ((1 << 38) - 1))
        return EpcInfo(
            epc,
            EpcScheme.SGTIN_96,
            filter=filter_value,
            company_prefix=prefix,
            gtin=gtin + gs1_check_digit(gtin),
            serial=serial,
        )
    if header == SSCC_96_HEADER:
        parts = _split((value >> 24) & ((1 << 58) - 1), 58, partition, 17)
        if parts is None:
            return EpcInfo(epc, EpcScheme.RAW)
        prefix, reference = parts
        sscc = reference[0] + prefix + reference[1:]
        return EpcInfo(
            epc,
            EpcScheme.SSCC_96,
            filter=filter_value,
            company_prefix=prefix,
            sscc=sscc + gs1_check_digit(sscc),
        )
    return EpcInfo(epc, EpcScheme.RAW)
