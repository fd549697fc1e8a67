"""SASLprep (RFC 4013): the RFC's examples, every prohibited table, bidi, unassigned code
points for stored strings and queries, error messages that never show the input, and
PyMongo's implementation as a reference on random text."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pymongo.saslprep import saslprep as pymongo_saslprep

from driver.protocol.auth.saslprep import saslprep

# RFC 4013 section 3, "Examples" (the last two are errors, tested below).
RFC4013_EXAMPLES = [
    ("I\u00adX", "IX"),  # SOFT HYPHEN mapped to nothing
    ("user", "user"),  # no transformation
    ("USER", "USER"),  # case preserved, will not match #2
    ("\u00aa", "a"),  # output is NFKC, input in ISO 8859-1
    ("\u2168", "IX"),  # output is NFKC, will match #1
]


@pytest.mark.parametrize(("text", "expected"), RFC4013_EXAMPLES)
def test_rfc4013_examples(text: str, expected: str) -> None:
    assert saslprep(text) == expected
    assert saslprep(text, allow_unassigned=True) == expected


def test_rfc4013_prohibited_character_example() -> None:
    with pytest.raises(ValueError, match=r"prohibited character \(RFC 3454 table C\.2\.1"):
        saslprep("\u0007")


def test_rfc4013_bidi_example() -> None:
    with pytest.raises(ValueError, match="must start and end with one"):
        saslprep("\u0627\u0031")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("a\u00a0b", "a b"),  # C.1.2 non-ASCII spaces map to SPACE
        ("a\u3000b\u2003c", "a b c"),
        ("a\u200bb\u2060c\ufeffd", "abcd"),  # B.1 maps to nothing
        ("\u00ad", ""),
        ("\uff21\uff22", "AB"),  # full-width letters: NFKC
        ("\u00c5", "\u00c5"),  # composed stays composed
        ("A\u030a", "\u00c5"),  # decomposed gets composed
        ("\u0627\u0628", "\u0627\u0628"),  # all RandALCat
        ("\u0627\u0031\u0628", "\u0627\u0031\u0628"),  # RFC 3454 section 6 example
        ("pass word", "pass word"),
    ],
)
def test_mapping_and_normalisation(text: str, expected: str) -> None:
    assert saslprep(text) == expected


@pytest.mark.parametrize(
    ("char", "table"),
    [
        ("\u0000", "C.2.1"),
        ("\u001f", "C.2.1"),
        ("\u007f", "C.2.1"),
        ("\u0080", "C.2.2"),
        ("\u2028", "C.2.2"),
        ("\ue000", "C.3"),
        ("\U000f0000", "C.3"),
        ("\ufdd0", "C.4"),
        ("\uffff", "C.4"),
        ("\ud800", "C.5"),
        ("\udfff", "C.5"),
        ("\ufffd", "C.6"),  # U+FFF9..FFFC are C.2.2 first
        ("\u2ff0", "C.7"),
        ("\u200e", "C.8"),
        ("\u202e", "C.8"),
        ("\U000e0001", "C.9"),
    ],
)
def test_prohibited_tables(char: str, table: str) -> None:
    for text in (char, f"ab{char}cd"):
        for allow in (False, True):
            with pytest.raises(ValueError) as info:
                saslprep(text, allow_unassigned=allow)
            assert f"table {table}:" in str(info.value)


@pytest.mark.parametrize("char", ["\u0221", "\U0001f600", "\U0001f100", "\u20ac\u0221"])
def test_unassigned_code_points_stored_vs_query(char: str) -> None:
    with pytest.raises(ValueError, match=r"unassigned in Unicode 3\.2"):
        saslprep(char)
    # Queries let unassigned code points through, unnormalised (RFC 3454 section 7):
    # U+1F100 has an NFKC mapping in today's Unicode but none in 3.2.
    assert saslprep(char, allow_unassigned=True) == char


def test_bidi_mixed_directions_refused() -> None:
    with pytest.raises(ValueError, match="mixes right-to-left"):
        saslprep("\u0627a\u0628")
    with pytest.raises(ValueError, match="must start and end"):
        saslprep("1\u0627")


def test_not_a_string() -> None:
    with pytest.raises(TypeError, match="needs a str"):
        saslprep(b"bytes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    ["secret\u0007pw", "pw\ue000x", "hunter\u200e2", "\u0627pwd\u0628", "x\u0627y", "pw\u0221"],
)
def test_errors_never_show_the_input(text: str) -> None:
    with pytest.raises(ValueError) as info:
        saslprep(text)
    message = str(info.value)
    assert message.startswith("SASLprep: ")
    for char in text:
        if not char.isascii():
            assert char not in message
            assert f"{ord(char):04X}" not in message.upper()
    assert text not in message and repr(text) not in message
    assert "position" not in message


def _reference(text: str, allow_unassigned: bool) -> str | None:
    try:
        result = pymongo_saslprep(text, prohibit_unassigned_code_points=not allow_unassigned)
    except IndexError:
        return ""  # PyMongo reads text[0] after mapping, so it fails on an empty result
    except ValueError:
        return None
    assert isinstance(result, str)
    return result


def _ours(text: str, allow_unassigned: bool) -> str | None:
    try:
        return saslprep(text, allow_unassigned=allow_unassigned)
    except ValueError:
        return None


@settings(max_examples=500, deadline=None)
@given(
    st.text(st.characters(exclude_categories=()), max_size=12),
    st.booleans(),
)
@example("\u00ad", False)
@example("\u0627\u0031", True)
@example("\U0001f100", True)
def test_matches_pymongo(text: str, allow_unassigned: bool) -> None:
    assert _ours(text, allow_unassigned) == _reference(text, allow_unassigned)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=16))
def test_idempotent(text: str) -> None:
    prepared = _ours(text, True)
    if prepared is not None:
        assert saslprep(prepared, allow_unassigned=True) == prepared
