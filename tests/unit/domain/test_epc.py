"""EPC decoding: the GS1 TDS worked examples, the corpus tags, and a cross-check against epcpy.

The decoder is our own (app/domain/epc.py says why); epcpy, the library STYLE.md rule 20 names
for EPCs, is the reference it must agree with, in both directions: on EPCs epcpy encodes from
chosen GTINs, serials and filters, and on random 96-bit values where both must decode the same
or both refuse.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from epcpy.epc_schemes.sgtin import SGTIN, SGTINFilterValue
from epcpy.epc_schemes.sscc import SSCC, SSCCFilterValue
from epcpy.utils.common import ConvertException
from epcpy.utils.parsers import hex_to_tag_encodable

from app.domain.epc import EpcInfo, EpcScheme, decode_epc, gs1_check_digit

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus" / "rfid"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())


def test_the_tds_sgtin_96_example() -> None:
    example = EXPECTED["tds_example"]
    tag = decode_epc(example["epc"])
    assert tag == EpcInfo(
        epc="3074257BF7194E4000001A85",
        scheme=EpcScheme.SGTIN_96,
        filter=example["filter"],
        company_prefix="0614141",
        gtin=example["gtin"],
        serial=example["serial"],
    )
    assert tag.as_dict() == {
        "epc": "3074257BF7194E4000001A85",
        "scheme": "sgtin-96",
        "gtin": "80614141123458",
        "serial": "6789",
        "sscc": None,
    }


def test_the_tds_sscc_96_example() -> None:
    # TDS: urn:epc:tag:sscc-96:3.0614141.1234567890 is SSCC (00) 106141412345678908.
    tag = decode_epc("3174257BF4499602D2000000")
    assert (tag.scheme, tag.filter, tag.company_prefix) == (EpcScheme.SSCC_96, 3, "0614141")
    assert tag.sscc == "106141412345678908" and tag.gtin is None


@pytest.mark.parametrize("epc", EXPECTED["unique_epcs"])
def test_every_corpus_tag_decodes_to_the_item_and_its_serial(epc: str) -> None:
    tag = decode_epc(epc.lower())
    assert tag.epc == epc and tag.scheme is EpcScheme.SGTIN_96
    assert tag.gtin == "80614141123458"
    assert tag.serial == str(int(epc[-10:], 16) & ((1 << 38) - 1))
    assert tag.serial in {"1", "2", "3", "6789"}


@pytest.mark.parametrize(
    "epc",
    [
        "E28011700000020A1B2C3D4E",  # a factory EPC
        "E2801170000002",  # another length
        "3074257BF7194E4000001A85" + "0000",  # SGTIN header but 112 bits
        "307C257BF7194E4000001A85",  # partition 7 does not exist
        "3074FFFFFFFFFFC000001A85",  # company prefix 16777215 needs 8 digits, partition 5 has 7
        "3574257BF7194E4000001A85",  # GID-96 and other schemes are kept as they are
    ],
)
def test_other_epcs_are_kept_as_raw_hex(epc: str) -> None:
    assert decode_epc(epc) == EpcInfo(epc, EpcScheme.RAW)
    assert decode_epc(epc).as_dict()["scheme"] == "raw"


def test_check_digits() -> None:
    assert gs1_check_digit("8061414112345") == "8"
    assert gs1_check_digit("10614141234567890") == "8"
    assert gs1_check_digit("400638133393") == "1"  # GTIN-13 4006381333931


def digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def test_agrees_with_epcpy_on_tags_epcpy_encodes() -> None:
    rng = random.Random(96)
    for _ in range(1500):
        prefix_digits = rng.randint(6, 12)
        prefix = digits(rng, prefix_digits)
        indicator_and_item = digits(rng, 13 - prefix_digits)
        gtin13 = indicator_and_item[0] + prefix + indicator_and_item[1:]
        serial = str(rng.choice([0, 1, rng.randrange(2**38)]))
        filter_value = rng.randrange(8)
        sgtin = SGTIN(f"urn:epc:id:sgtin:{prefix}.{indicator_and_item}.{serial}")
        epc = sgtin.hex(
            binary_coding_scheme=SGTIN.BinaryCodingScheme.SGTIN_96,
            filter_value=SGTINFilterValue(str(filter_value)),
        ).zfill(24)
        tag = decode_epc(epc)
        assert tag.gtin == sgtin.gtin() == gtin13 + gs1_check_digit(gtin13)
        assert (tag.serial, tag.filter, tag.company_prefix) == (serial, filter_value, prefix)

        sscc = SSCC(f"urn:epc:id:sscc:{prefix}.{digits(rng, 17 - prefix_digits)}")
        epc = sscc.hex(filter_value=SSCCFilterValue(str(filter_value))).zfill(24)
        tag = decode_epc(epc)
        assert tag.scheme is EpcScheme.SSCC_96
        assert (tag.sscc, tag.filter, tag.company_prefix) == (sscc.gs1_key(), filter_value, prefix)


def test_agrees_with_epcpy_on_random_bits_both_decoding_or_both_refusing() -> None:
    rng = random.Random(3031)
    decoded = refused = 0
    for _ in range(3000):
        header = rng.choice((0x30, 0x31))
        bits = header << 88 | rng.getrandbits(88)
        if header == 0x31:
            bits &= ~0xFFFFFF  # SSCC-96's reserved bits are zero
        epc = f"{bits:024X}"
        tag = decode_epc(epc)
        try:
            theirs = hex_to_tag_encodable(epc)
        except ConvertException:
            assert tag.scheme is EpcScheme.RAW, epc
            refused += 1
            continue
        assert tag.scheme is not EpcScheme.RAW, epc
        assert tag.company_prefix == theirs.epc_uri.split(":")[-1].split(".")[0]
        if isinstance(theirs, SGTIN):
            assert (tag.gtin, tag.serial) == (theirs.gtin(), theirs.epc_uri.split(".")[-1])
        else:
            assert isinstance(theirs, SSCC) and tag.sscc == theirs.gs1_key()
        decoded += 1
    assert decoded > 300 and refused > 300  # both branches were really exercised
