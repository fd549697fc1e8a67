"""SASLprep (RFC 4013): the stringprep profile that prepares user names and passwords.

SCRAM-SHA-256 runs the password through SASLprep before key derivation, so two
spellings a person would call the same (a soft hyphen, a full-width letter, a
non-breaking space) give the same key on every client and on the server.

The steps are those of stringprep (RFC 3454 section 3), with the standard library's
Unicode 3.2 tables, because RFC 3454 fixes its data to Unicode 3.2:

1. map: table B.1 to nothing, table C.1.2 (non-ASCII spaces) to U+0020;
2. normalise with NFKC (Unicode 3.2);
3. prohibit tables C.1.2, C.2.1, C.2.2, C.3 to C.9, and, for stored strings only,
   the unassigned code points of table A.1 (RFC 3454 section 7: queries allow them);
4. bidi (RFC 3454 section 6): a string with a RandALCat character holds no LCat
   character and starts and ends with RandALCat characters.

Failures raise :class:`ValueError` naming the rule that failed, never the character
nor where it is: the input is usually a password, and an error message ends up in logs.

Example::

    >>> saslprep("I\\u00adX"), saslprep("\\u2168"), saslprep("\\u00aa")
    ('IX', 'IX', 'a')
    >>> saslprep("\\u0007")
    Traceback (most recent call last):
    ...
    ValueError: SASLprep: the string contains a prohibited character (RFC 3454 table C.2.1: ASCII control characters)
"""

from __future__ import annotations

import stringprep
import unicodedata
from collections.abc import Callable

__all__ = ["saslprep"]

# Prohibited output of RFC 4013 section 2.3, in table order, with the description the
# error message gives. C.1.2 cannot survive the mapping step; it stays for completeness.
_PROHIBITED: tuple[tuple[Callable[[str], bool], str], ...] = (
    (stringprep.in_table_c12, "C.1.2: non-ASCII space characters"),
    (stringprep.in_table_c21, "C.2.1: ASCII control characters"),
    (stringprep.in_table_c22, "C.2.2: non-ASCII control characters"),
    (stringprep.in_table_c3, "C.3: private use characters"),
    (stringprep.in_table_c4, "C.4: non-character code points"),
    (stringprep.in_table_c5, "C.5: surrogate codes"),
    (stringprep.in_table_c6, "C.6: characters inappropriate for plain text"),
    (stringprep.in_table_c7, "C.7: characters inappropriate for canonical representation"),
    (stringprep.in_table_c8, "C.8: change display properties or deprecated characters"),
    (stringprep.in_table_c9, "C.9: tagging characters"),
)


def saslprep(text: str, *, allow_unassigned: bool = False) -> str:
    """Prepare ``text`` with SASLprep (RFC 4013) and return the prepared string.

    ``allow_unassigned=False`` treats ``text`` as a stored string (code points that are
    unassigned in Unicode 3.2 are refused); ``True`` treats it as a query, which lets
    them through unchanged. Raises :class:`ValueError` naming the failed rule (never
    the character), and :class:`TypeError` for a non-``str``.

    >>> saslprep("user"), saslprep("USER"), saslprep("a\\u00a0b")
    ('user', 'USER', 'a b')
    >>> saslprep("\\U0001f600", allow_unassigned=True) == "\\U0001f600"
    True
    """
    if not isinstance(text, str):
        raise TypeError(f"SASLprep needs a str, not {type(text).__name__}")
    if text.isascii():
        # Fast path for the common case: ASCII maps and normalises to itself, is
        # always assigned and has no RandALCat, so only control characters can fail.
        for char in text:
            if stringprep.in_table_c21(char):
                raise ValueError(_prohibited("C.2.1: ASCII control characters"))
        return text

    mapped = "".join(
        " " if stringprep.in_table_c12(char) else char
        for char in text
        if not stringprep.in_table_b1(char)
    )
    # Unicode 3.2 NFKC, not the interpreter's current Unicode: the RFC pins its data,
    # and the server's (ICU) SASLprep does the same, so keys match across versions.
    prepared = unicodedata.ucd_3_2_0.normalize("NFKC", mapped)

    for char in prepared:
        for in_table, description in _PROHIBITED:
            if in_table(char):
                raise ValueError(_prohibited(description))
        if not allow_unassigned and stringprep.in_table_a1(char):
            raise ValueError(
                "SASLprep: the string contains a code point unassigned in Unicode 3.2 "
                "(RFC 3454 table A.1), which a stored string may not hold"
            )

    _check_bidi(prepared)
    return prepared


def _prohibited(description: str) -> str:
    return f"SASLprep: the string contains a prohibited character (RFC 3454 table {description})"


def _check_bidi(prepared: str) -> None:
    """RFC 3454 section 6 (table C.8 is already prohibited above)."""
    if not any(stringprep.in_table_d1(char) for char in prepared):
        return
    if any(stringprep.in_table_d2(char) for char in prepared):
        raise ValueError(
            "SASLprep: the string mixes right-to-left (RandALCat) and left-to-right "
            "(LCat) characters (RFC 3454 section 6)"
        )
    if not (stringprep.in_table_d1(prepared[0]) and stringprep.in_table_d1(prepared[-1])):
        raise ValueError(
            "SASLprep: a string with right-to-left (RandALCat) characters must start "
            "and end with one (RFC 3454 section 6)"
        )
