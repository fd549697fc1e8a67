"""Regex: a BSON regular expression kept as pattern + flags strings.

Decoding gives ``Regex`` rather than a compiled ``re.Pattern`` because MongoDB's
PCRE syntax is not always valid for Python's ``re``; call :meth:`Regex.try_compile`
when you want a Python pattern. Compiled patterns are accepted when encoding.

Example::

    >>> import re
    >>> from driver.bson.regex import Regex
    >>> Regex.from_native(re.compile("^a", re.I | re.M))
    Regex('^a', 'imu')
"""

from __future__ import annotations

import re
from typing import Any, Generic, TypeVar

from driver.bson._hooks import PydanticHooks

__all__ = ["Regex", "flags_from_str", "str_flags"]

_T = TypeVar("_T", str, bytes)

# BSON option letter -> Python re flag, in the alphabetical order BSON requires.
_FLAG_LETTERS: tuple[tuple[str, int], ...] = (
    ("i", re.IGNORECASE),
    ("l", re.LOCALE),
    ("m", re.MULTILINE),
    ("s", re.DOTALL),
    ("u", re.UNICODE),
    ("x", re.VERBOSE),
)


def flags_from_str(options: str) -> int:
    """Python ``re`` flags from a BSON options string (unknown letters ignored)."""
    value = 0
    for letter, flag in _FLAG_LETTERS:
        if letter in options:
            value |= flag
    return value


_STR_FLAGS_CACHE: dict[int, str] = {}


def str_flags(flags: int) -> str:
    """The BSON options string for Python ``re`` flags, letters sorted."""
    # re.RegexFlag arithmetic goes through enum and is slow; a pattern's flags are
    # few distinct ints, so remember each answer.
    key = int(flags)
    text = _STR_FLAGS_CACHE.get(key)
    if text is None:
        text = "".join(letter for letter, flag in _FLAG_LETTERS if key & flag)
        if len(_STR_FLAGS_CACHE) < 1024:
            _STR_FLAGS_CACHE[key] = text
    return text


class Regex(Generic[_T], PydanticHooks):
    """A BSON regular expression (type 0x0B).

    ``flags`` may be an options string (``"imx"``) or Python ``re`` flags.
    """

    _pydantic_kind = "regex"

    __slots__ = ("flags", "pattern")

    _type_marker = 11

    def __init__(self, pattern: _T, flags: str | int = 0) -> None:
        if not isinstance(pattern, (str, bytes)):
            raise TypeError(f"pattern must be str or bytes, not {type(pattern).__name__}")
        self.pattern: _T = pattern
        if isinstance(flags, str):
            self.flags: int = flags_from_str(flags)
        elif isinstance(flags, int):
            self.flags = flags
        else:
            raise TypeError(f"flags must be str or int, not {type(flags).__name__}")

    @classmethod
    def from_native(cls, regex: re.Pattern[_T]) -> Regex[_T]:
        """A Regex from a compiled Python pattern."""
        if not isinstance(regex, re.Pattern):
            raise TypeError(f"regex must be a compiled re.Pattern, not {type(regex).__name__}")
        return Regex(regex.pattern, regex.flags)

    def try_compile(self) -> re.Pattern[_T]:
        """Compile with Python's ``re``; raises ``re.error`` if the syntax differs."""
        return re.compile(self.pattern, self.flags)

    def __getstate__(self) -> Any:
        return (self.pattern, self.flags)

    def __setstate__(self, state: Any) -> None:
        self.pattern, self.flags = state

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Regex):
            return bool(self.pattern == other.pattern and self.flags == other.flags)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r}, {str_flags(self.flags)!r})"
