"""Tests for driver.bson.decimal128: the BSON corpus, properties, and PyMongo parity.

The BSON corpus (decimal128-1.json .. decimal128-7.json) is the reference. It is read
from the project's vendored copy under tests/specs/ and, until that exists, from the
shared read-only checkout.
"""

from __future__ import annotations

import copy
import decimal
import json
import pickle
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driver.bson.decimal128 import Decimal128, create_decimal128_context


def _pymongo_decimal128() -> Any:
    # PyMongo is the reference implementation here and nowhere in driver/.
    try:
        from bson.decimal128 import Decimal128 as reference
    except ImportError:  # pragma: no cover - pymongo is a dev dependency
        return None
    return reference


PyMongoDecimal128: Any = _pymongo_decimal128()

needs_pymongo = pytest.mark.skipif(PyMongoDecimal128 is None, reason="pymongo not installed")

_VENDORED = Path(__file__).resolve().parents[2] / "specs" / "bson-corpus" / "tests"
_SHARED = Path("/work/shared/specs/bson-corpus/tests")
CORPUS_FILES = [f"decimal128-{n}.json" for n in range(1, 8)]


def _corpus_dir() -> Path | None:
    for candidate in (_VENDORED, _SHARED):
        if (candidate / CORPUS_FILES[0]).is_file():
            return candidate
    return None


CORPUS_DIR = _corpus_dir()


def _corpus() -> Iterator[tuple[str, dict[str, Any]]]:
    if CORPUS_DIR is None:
        return
    for name in CORPUS_FILES:
        with open(CORPUS_DIR / name, encoding="utf-8") as f:
            yield name, json.load(f)


def _value_bytes(canonical_bson: str) -> bytes:
    # The whole document is {"d": <decimal128>}: int32 length, type 0x13, "d\0",
    # 16 value bytes, terminating 0x00.
    doc = bytes.fromhex(canonical_bson)
    assert len(doc) == 24 == int.from_bytes(doc[:4], "little")
    assert doc[4] == 0x13 and doc[5:7] == b"d\x00" and doc[23] == 0
    return doc[7:23]


def _number_decimal(extjson: str) -> str:
    value = json.loads(extjson)["d"]["$numberDecimal"]
    assert isinstance(value, str)
    return value


VALID: list[Any] = []
PARSE_ERRORS: list[Any] = []
for _name, _doc in _corpus():
    for _i, _case in enumerate(_doc.get("valid", [])):
        VALID.append(pytest.param(_case, id=f"{_name}#{_i}:{_case['description']}"))
    for _i, _case in enumerate(_doc.get("parseErrors", [])):
        PARSE_ERRORS.append(pytest.param(_case, id=f"{_name}#{_i}:{_case['description']}"))


def _expected_parse_error(case: dict[str, Any]) -> type[Exception]:
    # The corpus descriptions name the decNumber condition: a string that cannot be
    # stored exactly (too many digits, underflow, overflow) raises decimal.Inexact
    # (decimal.Overflow is a subclass); anything else is bad syntax and raises
    # decimal.InvalidOperation. No corpus string leads to the ValueError that a NaN
    # with a payload gets.
    return decimal.Inexact if "Inexact" in case["description"] else decimal.InvalidOperation


# --- BSON corpus --------------------------------------------------------------------


@pytest.mark.skipif(CORPUS_DIR is None, reason="BSON corpus not found")
def test_corpus_is_complete() -> None:
    assert CORPUS_DIR is not None
    for name in CORPUS_FILES:
        assert (CORPUS_DIR / name).is_file(), name
    assert len(VALID) > 500
    assert len(PARSE_ERRORS) > 100


@pytest.mark.parametrize("case", VALID)
def test_corpus_decode_to_canonical_string(case: dict[str, Any]) -> None:
    bid = _value_bytes(case["canonical_bson"])
    value = Decimal128.from_bid(bid)
    assert str(value) == _number_decimal(case["canonical_extjson"])
    assert value.bid == bid
    assert repr(value) == f"Decimal128('{value}')"
    if "degenerate_bson" in case:  # pragma: no cover - no decimal128 file has one today
        degenerate = Decimal128.from_bid(_value_bytes(case["degenerate_bson"]))
        assert str(degenerate) == _number_decimal(case["canonical_extjson"])


# A lossy case's canonical string does not identify its bytes (every NaN prints as
# "NaN", non-canonical encodings print as zero), so the spec skips string -> bytes.
@pytest.mark.parametrize("case", [c for c in VALID if not c.values[0].get("lossy")])
def test_corpus_encode_canonical_string(case: dict[str, Any]) -> None:
    bid = _value_bytes(case["canonical_bson"])
    assert Decimal128(_number_decimal(case["canonical_extjson"])).bid == bid


@pytest.mark.parametrize("case", [c for c in VALID if "degenerate_extjson" in c.values[0]])
def test_corpus_degenerate_string(case: dict[str, Any]) -> None:
    bid = _value_bytes(case["canonical_bson"])
    value = Decimal128(_number_decimal(case["degenerate_extjson"]))
    assert str(value) == _number_decimal(case["canonical_extjson"])
    # Holds for the one lossy case too: "-NaN" keeps its sign in the bytes.
    assert value.bid == bid


@pytest.mark.parametrize("case", VALID)
def test_corpus_decimal_round_trip(case: dict[str, Any]) -> None:
    bid = _value_bytes(case["canonical_bson"])
    dec = Decimal128.from_bid(bid).to_decimal()
    if dec.is_finite():
        assert str(dec) == _number_decimal(case["canonical_extjson"])
    if not case.get("lossy"):
        assert Decimal128(dec).bid == bid


@needs_pymongo
@pytest.mark.parametrize("case", VALID)
def test_corpus_matches_pymongo(case: dict[str, Any]) -> None:
    assert PyMongoDecimal128 is not None
    bid = _value_bytes(case["canonical_bson"])
    ours, theirs = Decimal128.from_bid(bid), PyMongoDecimal128.from_bid(bid)
    assert str(ours) == str(theirs)
    assert ours.to_decimal().compare_total(theirs.to_decimal()) == 0


@pytest.mark.parametrize("case", PARSE_ERRORS)
def test_corpus_parse_error(case: dict[str, Any]) -> None:
    with pytest.raises(_expected_parse_error(case)):
        Decimal128(case["string"])


# --- construction and API -----------------------------------------------------------


def test_from_bid_rejects_non_bytes() -> None:
    for value in (bytearray(16), memoryview(bytes(16)), "0" * 16, 0, None):
        with pytest.raises(TypeError):
            Decimal128.from_bid(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [0, 1, 15, 17, 32])
def test_from_bid_rejects_wrong_length(size: int) -> None:
    with pytest.raises(ValueError):
        Decimal128.from_bid(bytes(size))


def test_from_bid_keeps_bytes_subclass_as_plain_bytes() -> None:
    class Raw(bytes):
        pass

    value = Decimal128.from_bid(Raw(Decimal128("7").bid))
    assert type(value.bid) is bytes
    assert value == Decimal128("7")


@pytest.mark.parametrize("value", [1.5, 1, True, None, b"1", object()])
def test_constructor_rejects_other_types(value: object) -> None:
    with pytest.raises(TypeError):
        Decimal128(value)  # type: ignore[arg-type]


def test_constructor_rejects_decimal128() -> None:
    with pytest.raises(TypeError):
        Decimal128(Decimal128("1"))  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [(), (1,), (1, 2, 3), []])
def test_constructor_rejects_wrong_sized_sequences(value: Any) -> None:
    with pytest.raises(ValueError):
        Decimal128(value)


@pytest.mark.parametrize("value", [(-1, 0), (0, -1), (2**64, 0), (0, 2**64)])
def test_constructor_rejects_out_of_range_halves(value: tuple[int, int]) -> None:
    with pytest.raises(ValueError):
        Decimal128(value)


@pytest.mark.parametrize("value", [(1.0, 0), (0, "1"), (None, None)])
def test_constructor_rejects_non_integer_halves(value: Any) -> None:
    with pytest.raises(TypeError):
        Decimal128(value)


def test_halves_match_bid() -> None:
    high, low = 3474527112516337664, 5
    for value in (Decimal128((high, low)), Decimal128([high, low])):
        assert str(value) == "0.0005"
        assert value.bid == low.to_bytes(8, "little") + high.to_bytes(8, "little")
        assert value == Decimal128("0.0005") == Decimal128(Decimal("0.0005"))


def test_nan_payload_is_rejected() -> None:
    for text in ("NaN123", "-sNaN7", "nan1"):
        with pytest.raises(ValueError, match="payload"):
            Decimal128(text)
        with pytest.raises(ValueError, match="payload"):
            Decimal128(Decimal(text))
    # A zero payload is no payload.
    assert Decimal128("NaN0") == Decimal128("NaN")


@pytest.mark.parametrize("text", ["\u0661\u0662\u0663", "\uff11", "1\u00a0", "\u20071"])
def test_non_ascii_strings_are_rejected(text: str) -> None:
    # decimal.Decimal accepts any Unicode digit; the spec grammar allows ASCII only.
    with pytest.raises(decimal.InvalidOperation):
        Decimal128(text)


def test_overflow_and_inexact_errors() -> None:
    with pytest.raises(decimal.Overflow):
        Decimal128("1E6145")
    with pytest.raises(decimal.Inexact):
        Decimal128("1E-6177")
    with pytest.raises(decimal.Inexact):
        Decimal128(Decimal("1.00000000000000000000000000000000001"))
    with pytest.raises(decimal.InvalidOperation):
        Decimal128(".13.1")


def test_specials() -> None:
    cases = {
        "NaN": ("NaN", "Decimal('NaN')"),
        "-NaN": ("NaN", "Decimal('-NaN')"),
        "sNaN": ("NaN", "Decimal('sNaN')"),
        "-sNaN": ("NaN", "Decimal('-sNaN')"),
        "Infinity": ("Infinity", "Decimal('Infinity')"),
        "-inf": ("-Infinity", "Decimal('-Infinity')"),
    }
    for text, (canonical, decimal_repr) in cases.items():
        value = Decimal128(text)
        assert str(value) == canonical
        assert repr(value.to_decimal()) == decimal_repr
        assert Decimal128(value.to_decimal()) == value


def test_clamping_pads_the_coefficient() -> None:
    value = Decimal128("1E+6144")
    assert str(value) == "1.000000000000000000000000000000000E+6144"
    assert value.to_decimal().as_tuple() == (0, (1,) + (0,) * 33, 6111)
    assert str(Decimal128("0E+9999")) == "0E+6111"
    assert str(Decimal128("-0E-9999")) == "-0E-6176"


def test_non_canonical_coefficients_decode_as_zero() -> None:
    exponent_bits = (6176 + 3) << 49  # exponent 3
    # 10**34 fits in the 113-bit field but is more than 34 digits.
    coefficient = 10**34
    high = exponent_bits | (coefficient >> 64)
    value = Decimal128((high, coefficient & (2**64 - 1)))
    assert str(value) == "0E+3"
    assert value.to_decimal().compare_total(Decimal("0E+3")) == 0
    # The "11" form: implied coefficient of at least 2**113, negative sign.
    value = Decimal128((0xEC00000000000000 | (6176 << 47), 0))
    assert str(value) == "-0"
    assert value.to_decimal().compare_total(Decimal("-0")) == 0


def test_equality_and_hash() -> None:
    assert Decimal128("1.0") == Decimal128("1.0")
    assert Decimal128("1.0") != Decimal128("1.00")
    assert Decimal128("1.0").__ne__(Decimal128("1.0")) is False
    assert Decimal128("NaN") == Decimal128("NaN")
    assert Decimal128("NaN") != Decimal128("-NaN")
    assert Decimal128("0") != Decimal128("-0")
    assert Decimal128("1") != Decimal("1")
    assert Decimal128("1") != "1"
    assert Decimal128("1").__eq__(1) is NotImplemented
    assert Decimal128("1").__ne__(1) is NotImplemented
    assert hash(Decimal128("2.5")) == hash(Decimal128(Decimal("2.5")))
    assert len({Decimal128("1"), Decimal128("1"), Decimal128("1.0")}) == 2


def test_pickle_and_copy() -> None:
    for text in ("0.0005", "-0", "-sNaN", "-Infinity", "9.999999999999999999999999999999999E+6144"):
        value = Decimal128(text)
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            restored = pickle.loads(pickle.dumps(value, protocol=protocol))
            assert type(restored) is Decimal128
            assert restored.bid == value.bid
        assert copy.copy(value).bid == value.bid
        assert copy.deepcopy(value).bid == value.bid


def test_slots() -> None:
    value = Decimal128("1")
    assert not hasattr(value, "__dict__")
    with pytest.raises(AttributeError):
        value.other = 1  # type: ignore[attr-defined]


def test_type_marker_and_exports() -> None:
    import driver.bson.decimal128 as module

    assert Decimal128._type_marker == 19
    assert set(module.__all__) == {"Decimal128", "create_decimal128_context"}


def test_create_decimal128_context() -> None:
    first, second = create_decimal128_context(), create_decimal128_context()
    assert first is not second
    assert (first.prec, first.Emin, first.Emax, first.clamp) == (34, -6143, 6144, 1)
    assert first.rounding == decimal.ROUND_HALF_EVEN
    assert not any(first.traps.values())
    with decimal.localcontext(first) as ctx:
        assert str(Decimal128(ctx.create_decimal(".13.3"))) == "NaN"
        assert str(Decimal128(ctx.create_decimal("1E-6177"))) == "0E-6176"
        assert str(Decimal128(ctx.create_decimal("1E6145"))) == "Infinity"


def test_independent_of_the_thread_context() -> None:
    text = "-1.234567890123456789012345678901234E+6144"
    hostile = decimal.Context(
        prec=3, Emin=-5, Emax=5, capitals=0, clamp=0, traps=list(decimal.Context().flags)
    )
    with decimal.localcontext(hostile):
        value = Decimal128(text)
        as_text = str(value)
        as_decimal = value.to_decimal()
        tiny = Decimal128.from_bid(Decimal128("1E-6176").bid).to_decimal()
    assert as_text == text
    assert value.bid == Decimal128(text).bid
    assert as_decimal.compare_total(Decimal(text)) == 0
    assert tiny.compare_total(Decimal("1E-6176")) == 0


# --- properties ---------------------------------------------------------------------

MAX_COEFFICIENT = 10**34 - 1

coefficients = st.one_of(
    st.integers(0, MAX_COEFFICIENT),
    st.integers(0, 10**6),
    st.sampled_from([0, 1, 10**33, MAX_COEFFICIENT, 2**64 - 1, 2**64, 2**112 - 1]),
)
exponents = st.one_of(
    st.integers(-6176, 6111), st.integers(-12, 12), st.sampled_from([-6176, 6111])
)


def _decimal(negative: bool, coefficient: int, exponent: int) -> Decimal:
    return Decimal(f"{'-' if negative else ''}{coefficient}E{exponent}")


# Every value with at most 34 digits and an exponent in [-6176, 6111] is stored as is.
in_range = st.builds(_decimal, st.booleans(), coefficients, exponents)
# Wider than the format: too many digits, clamped exponents, overflow and underflow.
any_finite = st.builds(
    _decimal,
    st.booleans(),
    st.one_of(
        coefficients, st.integers(0, 10**40), st.integers(0, 10**3).map(lambda c: c * 10**36)
    ),
    st.one_of(exponents, st.integers(-6250, 6250)),
)
specials = st.sampled_from(
    [Decimal(t) for t in ("NaN", "-NaN", "sNaN", "-sNaN", "Infinity", "-Infinity", "NaN5")]
)
halves = st.integers(0, 2**64 - 1)
# Random bits rarely reach the special forms, so often pick the top byte separately.
high_halves = st.one_of(
    halves,
    st.builds(lambda top, rest: (top << 56) | rest, st.integers(0, 255), st.integers(0, 2**56 - 1)),
)


@given(in_range)
@settings(max_examples=500)
def test_in_range_decimals_round_trip_exactly(value: Decimal) -> None:
    encoded = Decimal128(value)
    assert encoded.to_decimal().compare_total(value) == 0
    assert str(encoded) == str(value)
    decoded = Decimal128.from_bid(encoded.bid)
    assert decoded == encoded
    assert decoded.to_decimal().compare_total(value) == 0
    assert Decimal128(str(value)) == encoded


@given(
    st.booleans(), st.one_of(coefficients, st.integers(MAX_COEFFICIENT + 1, 2**113 - 1)), exponents
)
def test_to_decimal_and_str_agree_with_decimal(
    negative: bool, coefficient: int, exponent: int
) -> None:
    bits = (int(negative) << 127) | ((exponent + 6176) << 113) | coefficient
    value = Decimal128.from_bid(bits.to_bytes(16, "little"))
    expected = _decimal(negative, coefficient if coefficient <= MAX_COEFFICIENT else 0, exponent)
    assert value.to_decimal().compare_total(expected) == 0
    assert str(value) == str(expected)


@given(any_finite)
def test_accepted_values_keep_their_value(value: Decimal) -> None:
    try:
        encoded = Decimal128(value)
    except decimal.Inexact:
        return
    assert encoded.to_decimal() == value


def _outcome(make: Callable[[], Any]) -> tuple[str, object]:
    try:
        result = make()
    except (ArithmeticError, ValueError, TypeError) as exc:
        return "error", type(exc)
    return "ok", (result.bid, str(result), repr(result))


@needs_pymongo
@given(st.one_of(any_finite, specials, in_range))
@settings(max_examples=300)
def test_decimal_input_matches_pymongo(value: Decimal) -> None:
    assert _outcome(lambda: Decimal128(value)) == _outcome(lambda: PyMongoDecimal128(value))


signs = st.sampled_from(["", "+", "-"])
digit_runs = st.text("0123456789", max_size=40)
exponent_parts = st.one_of(
    st.just(""),
    st.builds(
        lambda e, s, d: f"{e}{s}{d}",
        st.sampled_from(["e", "E"]),
        signs,
        st.one_of(st.integers(0, 7000).map(str), digit_runs),
    ),
)
numeric_strings = st.builds(
    lambda sign, whole, point, fraction, exponent: f"{sign}{whole}{point}{fraction}{exponent}",
    signs,
    digit_runs,
    st.sampled_from(["", "."]),
    digit_runs,
    exponent_parts,
)
special_strings = st.builds(
    lambda sign, word: sign + word,
    signs,
    st.sampled_from(
        [
            "Inf",
            "inf",
            "INFINITY",
            "iNfInItY",
            "Infinit",
            "NaN",
            "nan",
            "sNaN",
            "SNAN",
            "NaN0",
            "NaN12",
            "qNaN",
        ]
    ),
)
noise_strings = st.text("0123456789.eE+-nNaAiIfFsStTyY _", max_size=20)


@needs_pymongo
@given(st.one_of(numeric_strings, special_strings, noise_strings))
@settings(max_examples=500)
def test_string_input_matches_pymongo(text: str) -> None:
    assert _outcome(lambda: Decimal128(text)) == _outcome(lambda: PyMongoDecimal128(text))


def ours_is_zero(value: Decimal128) -> bool:
    return value.to_decimal().is_zero()


@needs_pymongo
@given(high_halves, halves)
@settings(max_examples=500)
def test_bid_decoding_matches_pymongo(high: int, low: int) -> None:
    assert PyMongoDecimal128 is not None
    bid = low.to_bytes(8, "little") + high.to_bytes(8, "little")
    combination = (high >> 61) & 0b11
    coefficient = ((high & ((1 << 49) - 1)) << 64) | low
    if combination != 0b11 and coefficient > 10**34 - 1:
        # A non-canonical coefficient reads as zero (spec; checked by the corpus and
        # test_non_canonical_coefficients_decode_as_zero). PyMongo before 4.20 (the
        # newest on Python 3.10) printed the raw coefficient, so it is no reference here.
        assert ours_is_zero(Decimal128.from_bid(bid))
        return
    ours, theirs = Decimal128.from_bid(bid), PyMongoDecimal128.from_bid(bid)
    assert ours.bid == theirs.bid == bid
    assert Decimal128((high, low)) == ours
    assert str(ours) == str(theirs)
    assert repr(ours) == repr(theirs)
    assert ours.to_decimal().compare_total(theirs.to_decimal()) == 0
    assert ours.__getstate__() == theirs.__getstate__()
