"""RawBSONDocument: a read-only mapping over BSON bytes, decoded on first access.

Useful to pass documents through without paying for decoding (e.g. copying between
collections), or to decode only the documents you look at.

Example::

    >>> from driver.bson import encode
    >>> from driver.bson.raw_bson import RawBSONDocument
    >>> doc = RawBSONDocument(encode({"_id": 1, "sub": {"a": 2}}))
    >>> doc["_id"], type(doc["sub"]).__name__, len(doc.raw)
    (1, 'RawBSONDocument', 31)
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, Mapping
from typing import Any

from driver.bson._codec import inflate_raw
from driver.bson._decoder import document_size
from driver.bson.codec_options import DEFAULT_CODEC_OPTIONS, CodecOptions
from driver.errors import InvalidBSON

__all__ = ["DEFAULT_RAW_BSON_OPTIONS", "RawBSONDocument"]


class RawBSONDocument(Mapping[str, Any]):
    """A BSON document kept as bytes; fields are decoded the first time one is read.

    Nested documents decode as RawBSONDocument too. ``raw`` gives the bytes.
    """

    __slots__ = ("__codec_options", "__inflated", "__raw")

    _type_marker = 101

    def __init__(
        self,
        bson_bytes: bytes | bytearray | memoryview,
        codec_options: CodecOptions[RawBSONDocument] | None = None,
    ) -> None:
        raw = bytes(bson_bytes)
        if codec_options is None:
            codec_options = DEFAULT_RAW_BSON_OPTIONS
        elif not (
            isinstance(codec_options.document_class, type)
            and issubclass(codec_options.document_class, RawBSONDocument)
        ):
            raise TypeError(
                "RawBSONDocument needs CodecOptions whose document_class is "
                f"RawBSONDocument, not {codec_options.document_class!r}"
            )
        # Check the envelope now so a bad document fails where it is made.
        if len(raw) < 5 or document_size(raw, 0, len(raw)) != len(raw):
            raise InvalidBSON("RawBSONDocument needs exactly one whole BSON document")
        self.__raw = raw
        self.__codec_options = codec_options
        self.__inflated: dict[str, Any] | None = None

    @property
    def raw(self) -> bytes:
        """The BSON bytes of this document."""
        return self.__raw

    def _fields(self) -> dict[str, Any]:
        inflated = self.__inflated
        if inflated is None:
            inflated = self.__inflated = inflate_raw(self.__raw, self.__codec_options)
        return inflated

    def items(self) -> ItemsView[str, Any]:
        return self._fields().items()

    def __getitem__(self, key: str) -> Any:
        return self._fields()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields())

    def __len__(self) -> int:
        return len(self._fields())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RawBSONDocument):
            return self.__raw == other.raw
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __getstate__(self) -> Any:
        return (self.__raw, self.__codec_options)

    def __setstate__(self, state: Any) -> None:
        self.__raw, self.__codec_options = state
        self.__inflated = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__raw!r}, codec_options={self.__codec_options!r})"


DEFAULT_RAW_BSON_OPTIONS: CodecOptions[RawBSONDocument] = DEFAULT_CODEC_OPTIONS.with_options(
    document_class=RawBSONDocument
)
