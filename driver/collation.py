"""Collations: language-aware string comparison for queries, sorts and indexes.

PyMongo's ``pymongo.collation`` names. Pass a :class:`Collation` (or a plain mapping)
as ``collation=`` to ``find``, ``update_one``, ``create_index``, ...

>>> Collation("fr", strength=CollationStrength.SECONDARY).document
{'locale': 'fr', 'strength': 2}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "Collation",
    "CollationAlternate",
    "CollationCaseFirst",
    "CollationMaxVariable",
    "CollationStrength",
]


class CollationStrength:
    """How many levels of comparison (``strength``)."""

    PRIMARY = 1
    SECONDARY = 2
    TERTIARY = 3
    QUATERNARY = 4
    IDENTICAL = 5


class CollationAlternate:
    """Whether whitespace and punctuation count (``alternate``)."""

    NON_IGNORABLE = "non-ignorable"
    SHIFTED = "shifted"


class CollationMaxVariable:
    """Which characters ``alternate: shifted`` ignores (``maxVariable``)."""

    PUNCT = "punct"
    SPACE = "space"


class CollationCaseFirst:
    """Whether upper or lower case sorts first (``caseFirst``)."""

    UPPER = "upper"
    LOWER = "lower"
    OFF = "off"


class Collation:
    """A collation document built from keyword arguments (PyMongo's ``Collation``).

    Options left as None are not sent; extra keyword arguments are passed through.
    """

    __slots__ = ("_document",)

    def __init__(
        self,
        locale: str,
        caseLevel: bool | None = None,  # PyMongo's (and the server's) camelCase names
        caseFirst: str | None = None,
        strength: int | None = None,
        numericOrdering: bool | None = None,
        alternate: str | None = None,
        maxVariable: str | None = None,
        normalization: bool | None = None,
        backwards: bool | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(locale, str):
            raise TypeError(f"locale must be a str, not {type(locale).__name__}")
        document: dict[str, Any] = {"locale": locale}
        options = {
            "caseLevel": caseLevel,
            "caseFirst": caseFirst,
            "strength": strength,
            "numericOrdering": numericOrdering,
            "alternate": alternate,
            "maxVariable": maxVariable,
            "normalization": normalization,
            "backwards": backwards,
        }
        document.update((key, value) for key, value in options.items() if value is not None)
        document.update(kwargs)
        self._document = document

    @property
    def document(self) -> dict[str, Any]:
        """The collation as the server takes it (a copy)."""
        return dict(self._document)

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in self._document.items())
        return f"Collation({fields})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Collation):
            return self._document == other._document
        if isinstance(other, Mapping):
            return self._document == dict(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, repr(v)) for k, v in self._document.items())))
