"""The BSON corpus (tests/specs/bson-corpus, spec ``source/bson-corpus``), every case.

Our codec has a native representation (Python values), so each ``valid`` case checks
the spec's native-codec assertions:

- cB: ``encode(decode(cB)) == cB``; ``dumps(decode(cB))`` gives cEJ (canonical) and rEJ
  (relaxed, when the case has one);
- cEJ: ``dumps(loads(cEJ)) == cEJ`` and, unless ``lossy``, ``encode(loads(cEJ)) == cB``;
- dB: ``encode(decode(dB)) == cB`` (and its canonical JSON is cEJ);
- dEJ: ``dumps(loads(dEJ)) == cEJ`` and, unless ``lossy``, ``encode(loads(dEJ)) == cB``;
- rEJ: ``dumps(loads(rEJ), relaxed) == rEJ``.

Deprecated types (symbol, undefined, DBPointer) decode, as in PyMongo, to ``str``,
``None`` and ``DBRef``, so they cannot come back as themselves; the spec lets such
codecs use ``converted_bson``/``converted_extjson`` instead, and where a case has them
they replace cB/cEJ as the *expected output* (the inputs are still cB and cEJ), and the
converted forms are round-tripped themselves too.

``decodeErrors`` must raise InvalidBSON (and nothing else); ``parseErrors`` must make
``loads`` raise InvalidBSON, except in the decimal128 files (bson_type 0x13), where the
string is fed to the ``Decimal128`` constructor, which must refuse it, and also to
``loads`` as ``{"d": {"$numberDecimal": <string>}}``, which must raise InvalidBSON.

JSON texts are compared as ordered key/value pairs (key order and duplicates count),
with integers kept exact and floats compared by value and sign (so ``1.0E+18`` equals
``1e+18``, as JSON says, but ``-0.0`` differs from ``0.0`` and ``1.0`` from ``1``).
"""

from __future__ import annotations

import decimal
import json
from pathlib import Path
from typing import Any

import pytest

from driver.bson import decode, encode
from driver.bson.codec_options import CodecOptions, DatetimeConversion
from driver.bson.decimal128 import Decimal128
from driver.bson.json_util import JSONMode, JSONOptions, dumps, loads
from driver.errors import InvalidBSON

CORPUS = Path(__file__).resolve().parents[2] / "specs" / "bson-corpus" / "tests"

# DATETIME_AUTO: datetime.py's "Y10K" case (year 10000) is outside datetime.datetime's
# range, so it decodes (and parses) to DatetimeMS, which keeps every millisecond value;
# in-range dates still come back as datetime. The default UUID representation
# (UNSPECIFIED) keeps subtypes 3 and 4 as Binary, so their bytes round-trip exactly.
CODEC: CodecOptions[dict[str, Any]] = CodecOptions(
    datetime_conversion=DatetimeConversion.DATETIME_AUTO
)
RELAXED = JSONOptions(
    json_mode=JSONMode.RELAXED, datetime_conversion=DatetimeConversion.DATETIME_AUTO
)
CANONICAL = JSONOptions(
    json_mode=JSONMode.CANONICAL, datetime_conversion=DatetimeConversion.DATETIME_AUTO
)


def _cases(section: str) -> list[Any]:
    params = []
    for path in sorted(CORPUS.glob("*.json")):
        suite = json.loads(path.read_text(encoding="utf-8"))
        seen: dict[str, int] = {}
        for case in suite.get(section, []):
            name = f"{path.name}::{section}::{case['description']}"
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name += f" ({seen[name]})"
            params.append(pytest.param(suite, case, id=name))
    return params


def _float(text: str) -> tuple[str, str]:
    return ("double", repr(float(text)))


def _int(text: str) -> tuple[str, int]:
    return ("int", int(text))


def _norm(text: str) -> Any:
    """JSON text as nested ordered pairs, for a comparison blind only to spacing."""
    return json.loads(text, object_pairs_hook=list, parse_float=_float, parse_int=_int)


def assert_json(actual: str, expected: str) -> None:
    assert _norm(actual) == _norm(expected), f"\n got: {actual}\nwant: {expected}"


def _hex(text: str) -> bytes:
    return bytes.fromhex(text)


def test_corpus_is_vendored() -> None:
    assert len(list(CORPUS.glob("*.json"))) >= 30


@pytest.mark.parametrize(("suite", "case"), _cases("valid"))
def test_valid(suite: dict[str, Any], case: dict[str, Any]) -> None:
    cb = _hex(case["canonical_bson"])
    cej = case["canonical_extjson"]
    rej = case.get("relaxed_extjson")
    lossy = case.get("lossy", False)
    # Deprecated types: what our native values turn back into (see the module docstring).
    out_b = _hex(case["converted_bson"]) if "converted_bson" in case else cb
    out_cej = case.get("converted_extjson", cej)

    native = decode(cb, CODEC)
    assert encode(native, codec_options=CODEC) == out_b, "cB -> native -> cB"
    assert_json(dumps(native, json_options=CANONICAL), out_cej)
    if rej is not None:
        assert_json(dumps(native, json_options=RELAXED), rej)

    parsed = loads(cej, json_options=RELAXED)
    assert_json(dumps(parsed, json_options=CANONICAL), out_cej)
    if not lossy:
        assert encode(parsed, codec_options=CODEC) == out_b, "cEJ -> native -> cB"

    if "degenerate_bson" in case:
        degenerate = decode(_hex(case["degenerate_bson"]), CODEC)
        assert encode(degenerate, codec_options=CODEC) == out_b, "dB -> native -> cB"
        assert_json(dumps(degenerate, json_options=CANONICAL), out_cej)

    if "degenerate_extjson" in case:
        parsed = loads(case["degenerate_extjson"], json_options=RELAXED)
        assert_json(dumps(parsed, json_options=CANONICAL), out_cej)
        if not lossy:
            assert encode(parsed, codec_options=CODEC) == out_b, "dEJ -> native -> cB"

    if rej is not None:
        assert_json(dumps(loads(rej, json_options=RELAXED), json_options=RELAXED), rej)

    if "converted_bson" in case:
        converted = decode(out_b, CODEC)
        assert encode(converted, codec_options=CODEC) == out_b
        assert_json(dumps(converted, json_options=CANONICAL), out_cej)
    if "converted_extjson" in case:
        converted = loads(out_cej, json_options=RELAXED)
        assert_json(dumps(converted, json_options=CANONICAL), out_cej)
        assert encode(converted, codec_options=CODEC) == out_b


@pytest.mark.parametrize(("suite", "case"), _cases("decodeErrors"))
def test_decode_error(suite: dict[str, Any], case: dict[str, Any]) -> None:
    with pytest.raises(InvalidBSON):
        decode(_hex(case["bson"]), CODEC)


@pytest.mark.parametrize(("suite", "case"), _cases("parseErrors"))
def test_parse_error(suite: dict[str, Any], case: dict[str, Any]) -> None:
    text = case["string"]
    if suite["bson_type"] == "0x13":
        with pytest.raises((decimal.DecimalException, ValueError)):
            Decimal128(text)
        with pytest.raises(InvalidBSON):
            loads(json.dumps({"d": {"$numberDecimal": text}}), json_options=RELAXED)
        return
    # The spec asks that the text be valid plain JSON, so the error is Extended JSON's.
    json.loads(text)
    with pytest.raises(InvalidBSON):
        loads(text, json_options=RELAXED)
