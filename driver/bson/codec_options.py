"""CodecOptions and custom type codecs (PyMongo's ``bson.codec_options``).

Example::

    >>> import decimal
    >>> from driver.bson import decode, encode
    >>> from driver.bson.codec_options import CodecOptions, TypeCodec, TypeRegistry
    >>> from driver.bson.decimal128 import Decimal128
    >>> class DecimalCodec(TypeCodec):
    ...     python_type = decimal.Decimal
    ...     bson_type = Decimal128
    ...     def transform_python(self, value): return Decimal128(value)
    ...     def transform_bson(self, value): return value.to_decimal()
    >>> opts = CodecOptions(type_registry=TypeRegistry([DecimalCodec()]))
    >>> decode(encode({"x": decimal.Decimal("1.5")}, codec_options=opts), opts)
    {'x': Decimal('1.5')}
"""

from __future__ import annotations

import abc
import datetime
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any, Generic, TypeVar, cast

from driver.bson.binary import ALL_UUID_REPRESENTATIONS, UUID_REPRESENTATION_NAMES
from driver.bson.datetime_ms import DatetimeConversion

__all__ = [
    "DEFAULT_CODEC_OPTIONS",
    "CodecOptions",
    "DatetimeConversion",
    "TypeCodec",
    "TypeDecoder",
    "TypeEncoder",
    "TypeRegistry",
]

_DocumentType = TypeVar("_DocumentType", bound=Mapping[str, Any])
Fallback = Callable[[Any], Any]


class TypeEncoder(abc.ABC):
    """Turns values of ``python_type`` into something BSON can store."""

    @property
    @abc.abstractmethod
    def python_type(self) -> Any:
        """The Python type this encoder handles."""

    @abc.abstractmethod
    def transform_python(self, value: Any) -> Any:
        """Convert a ``python_type`` value into a BSON-encodable value."""


class TypeDecoder(abc.ABC):
    """Turns decoded values of ``bson_type`` into custom Python values."""

    @property
    @abc.abstractmethod
    def bson_type(self) -> Any:
        """The Python type of the decoded BSON value this decoder handles."""

    @abc.abstractmethod
    def transform_bson(self, value: Any) -> Any:
        """Convert a decoded ``bson_type`` value into a custom value."""


class TypeCodec(TypeEncoder, TypeDecoder):
    """An encoder and decoder in one."""


def _builtin_bson_types() -> tuple[type, ...]:
    # Imported on use: the encoder module itself imports this one.
    from driver.bson._encoder import BUILTIN_ENCODER_TYPES

    return BUILTIN_ENCODER_TYPES


class TypeRegistry:
    """Custom encoders and decoders, plus a fallback encoder for unknown types.

    The fallback is called with any value no codec and no built-in rule can encode,
    and must return something that can be.
    """

    __slots__ = ("_decoder_map", "_encoder_map", "_fallback_encoder", "_type_codecs")

    def __init__(
        self,
        type_codecs: Iterable[TypeEncoder | TypeDecoder] | None = None,
        fallback_encoder: Fallback | None = None,
    ) -> None:
        self._type_codecs = list(type_codecs or [])
        self._fallback_encoder = fallback_encoder
        self._encoder_map: dict[Any, Callable[[Any], Any]] = {}
        self._decoder_map: dict[Any, Callable[[Any], Any]] = {}
        if fallback_encoder is not None and not callable(fallback_encoder):
            raise TypeError("fallback_encoder must be callable")
        builtin = _builtin_bson_types() if self._type_codecs else ()
        for codec in self._type_codecs:
            known = False
            if isinstance(codec, TypeEncoder):
                self._check(codec.python_type, builtin, "encoder")
                self._encoder_map[codec.python_type] = codec.transform_python
                known = True
            if isinstance(codec, TypeDecoder):
                if not isinstance(codec.bson_type, type):
                    raise TypeError(f"the decoder's type must be a class, got {codec.bson_type!r}")
                self._decoder_map[codec.bson_type] = codec.transform_bson
                known = True
            if not known:
                raise TypeError(
                    f"{codec!r} is not a TypeEncoder, TypeDecoder or TypeCodec instance"
                )

    @staticmethod
    def _check(kind: Any, builtin: tuple[type, ...], role: str) -> None:
        if not isinstance(kind, type):
            raise TypeError(f"the {role}'s type must be a class, got {kind!r}")
        # A custom encoder for a type the codec handles itself would never be called
        # (built-in rules win, for speed), so refuse it loudly, as PyMongo does.
        if issubclass(kind, builtin):
            raise TypeError(
                f"cannot register a custom {role} for {kind.__name__}: "
                "it is a type the BSON codec encodes itself"
            )

    @property
    def fallback_encoder(self) -> Fallback | None:
        return self._fallback_encoder

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle protocols 0 and 1 cannot save the slots otherwise.
        return (type(self), (self._type_codecs, self._fallback_encoder))

    def __repr__(self) -> str:
        return (
            f"TypeRegistry(type_codecs={self._type_codecs!r}, "
            f"fallback_encoder={self._fallback_encoder!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TypeRegistry):
            return NotImplemented
        return (
            self._decoder_map == other._decoder_map
            and self._encoder_map == other._encoder_map
            and self._fallback_encoder == other._fallback_encoder
        )

    def __hash__(self) -> int:
        # Equal registries (same codecs, same fallback) must hash alike, so two equal
        # CodecOptions do too.
        return hash(
            (
                frozenset(self._encoder_map.items()),
                frozenset(self._decoder_map.items()),
                self._fallback_encoder,
            )
        )


_FIELDS = (
    "document_class",
    "tz_aware",
    "uuid_representation",
    "unicode_decode_error_handler",
    "tzinfo",
    "type_registry",
    "datetime_conversion",
)


class CodecOptions(Generic[_DocumentType]):
    """How BSON is decoded to Python and encoded from it. Immutable.

    - ``document_class``: the mapping type for decoded documents (``dict``; ``SON``,
      any ``MutableMapping`` subclass, or ``RawBSONDocument`` for lazy documents).
    - ``tz_aware``: decode datetimes as aware UTC datetimes (``tzinfo`` converts them).
    - ``uuid_representation``: see :class:`driver.bson.binary.UuidRepresentation`.
    - ``unicode_decode_error_handler``: the ``bytes.decode`` error handler.
    - ``type_registry``: custom codecs; ``datetime_conversion``: see DatetimeConversion.

    >>> CodecOptions(tz_aware=True).with_options(tz_aware=False).tz_aware
    False
    """

    # The _-prefixed slots are derived once here so the codec's hot loops read one
    # attribute instead of re-deriving them for every document.
    __slots__ = (*_FIELDS, "_decoders", "_encoders", "_plain_dict", "_raw_class")

    document_class: type[_DocumentType]
    tz_aware: bool
    uuid_representation: int
    unicode_decode_error_handler: str
    tzinfo: datetime.tzinfo | None
    type_registry: TypeRegistry
    datetime_conversion: DatetimeConversion
    _decoders: dict[Any, Callable[[Any], Any]]
    _encoders: dict[Any, Callable[[Any], Any]]
    _plain_dict: bool
    _raw_class: bool

    def __init__(
        self,
        document_class: type[_DocumentType] | None = None,
        tz_aware: bool = False,
        uuid_representation: int | None = 0,
        unicode_decode_error_handler: str = "strict",
        tzinfo: datetime.tzinfo | None = None,
        type_registry: TypeRegistry | None = None,
        datetime_conversion: DatetimeConversion | int | None = DatetimeConversion.DATETIME,
    ) -> None:
        doc_class = cast("type[_DocumentType]", dict if document_class is None else document_class)
        if not (isinstance(doc_class, type) and issubclass(doc_class, MutableMapping)) and not (
            getattr(doc_class, "_type_marker", None) == 101
        ):
            raise TypeError(
                "document_class must be dict, a subclass of collections.abc.MutableMapping, "
                f"or a RawBSONDocument type, not {doc_class!r}"
            )
        if not isinstance(tz_aware, bool):
            raise TypeError(f"tz_aware must be True or False, not {tz_aware!r}")
        if uuid_representation is None:
            uuid_representation = 0
        if uuid_representation not in ALL_UUID_REPRESENTATIONS:
            raise ValueError(
                "uuid_representation must be one of "
                f"{', '.join(UUID_REPRESENTATION_NAMES.values())}, not {uuid_representation!r}"
            )
        if not isinstance(unicode_decode_error_handler, str):
            raise ValueError("unicode_decode_error_handler must be a string")
        if tzinfo is not None:
            if not isinstance(tzinfo, datetime.tzinfo):
                raise TypeError(f"tzinfo must be a datetime.tzinfo, not {tzinfo!r}")
            if not tz_aware:
                raise ValueError("cannot specify tzinfo without also setting tz_aware=True")
        if type_registry is None:
            type_registry = TypeRegistry()
        elif not isinstance(type_registry, TypeRegistry):
            raise TypeError(f"type_registry must be a TypeRegistry, not {type_registry!r}")
        if datetime_conversion is None:
            datetime_conversion = DatetimeConversion.DATETIME
        try:
            conversion = DatetimeConversion(datetime_conversion)
        except ValueError:
            raise ValueError(
                f"datetime_conversion must be a DatetimeConversion, not {datetime_conversion!r}"
            ) from None
        set_ = object.__setattr__
        set_(self, "document_class", doc_class)
        set_(self, "tz_aware", tz_aware)
        set_(self, "uuid_representation", uuid_representation)
        set_(self, "unicode_decode_error_handler", unicode_decode_error_handler)
        set_(self, "tzinfo", tzinfo)
        set_(self, "type_registry", type_registry)
        set_(self, "datetime_conversion", conversion)
        set_(self, "_decoders", type_registry._decoder_map)
        set_(self, "_encoders", type_registry._encoder_map)
        set_(self, "_plain_dict", doc_class is dict)
        set_(self, "_raw_class", getattr(doc_class, "_type_marker", None) == 101)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("CodecOptions is immutable: use with_options()")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _FIELDS)

    def _asdict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}

    def with_options(self, **kwargs: Any) -> CodecOptions[Any]:
        """A copy with the given options changed.

        >>> DEFAULT_CODEC_OPTIONS.with_options(tz_aware=True).tz_aware
        True
        """
        unknown = set(kwargs) - set(_FIELDS)
        if unknown:
            raise TypeError(f"unknown CodecOptions option(s): {', '.join(sorted(unknown))}")
        return CodecOptions(**{**self._asdict(), **kwargs})

    _replace = with_options

    def __iter__(self) -> Any:
        return iter(self._values())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CodecOptions):
            return self._values() == other._values()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        doc = getattr(self.document_class, "__name__", repr(self.document_class))
        uuid_name = UUID_REPRESENTATION_NAMES.get(
            self.uuid_representation, str(self.uuid_representation)
        )
        return (
            f"CodecOptions(document_class={doc}, tz_aware={self.tz_aware!r}, "
            f"uuid_representation={uuid_name}, "
            f"unicode_decode_error_handler={self.unicode_decode_error_handler!r}, "
            f"tzinfo={self.tzinfo!r}, type_registry={self.type_registry!r}, "
            f"datetime_conversion={self.datetime_conversion!r})"
        )

    def __reduce__(self) -> Any:
        return (CodecOptions, self._values())


DEFAULT_CODEC_OPTIONS: CodecOptions[dict[str, Any]] = CodecOptions()
