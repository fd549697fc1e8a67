"""Decimal128: the BSON 128-bit decimal type (PyMongo's ``bson.decimal128``).

The value is an IEEE 754-2008 decimal128 in the Binary Integer Decimal (BID)
encoding, stored little-endian as in the rest of BSON. A ``Decimal128`` keeps the
16 bytes exactly as read, so a value round-trips to the server unchanged;
:meth:`Decimal128.to_decimal` converts to :class:`decimal.Decimal` on demand.

Example::

    >>> from driver.bson.decimal128 import Decimal128
    >>> d = Decimal128("1.50")
    >>> d, d.to_decimal(), d.bid.hex()
    (Decimal128('1.50'), Decimal('1.50'), '96000000000000000000000000003c30')
    >>> Decimal128.from_bid(d.bid) == d
    True
"""

from __future__ import annotations

import decimal
import operator
from typing import TypeVar, cast

from driver.bson._hooks import PydanticHooks

__all__ = ["Decimal128", "create_decimal128_context"]

_MAX_DIGITS = 34
_EXPONENT_MIN = -6143  # Emin of the format; the smallest stored exponent is Emin - 33
_EXPONENT_MAX = 6144
_EXPONENT_BIAS = 6176
_MAX_COEFFICIENT = 10**_MAX_DIGITS - 1
_MASK_64 = (1 << 64) - 1

# Positions within the 128-bit integer (bit 127 is the sign).
_SIGN_SHIFT = 127
_COMBINATION_SHIFT = 122  # the top five bits after the sign tell specials apart
_COMBINATION_NAN = 0b11111
_COMBINATION_INF = 0b11110
_SNAN_BIT = 1 << 121
_LARGE_FORM_SHIFT = 125  # "11" here means the coefficient needs more than 113 bits
_EXPONENT_SHIFT = 113
_LARGE_FORM_EXPONENT_SHIFT = 111
_EXPONENT_FIELD = 0x3FFF
_COEFFICIENT_FIELD = (1 << 113) - 1

_SIGN = 1 << _SIGN_SHIFT
_INF = _COMBINATION_INF << _COMBINATION_SHIFT
_NAN = _COMBINATION_NAN << _COMBINATION_SHIFT
_SNAN = _NAN | _SNAN_BIT


def _bid_of(value: int) -> bytes:
    return value.to_bytes(16, "little")


_BID_PINF = _bid_of(_INF)
_BID_NINF = _bid_of(_SIGN | _INF)
_BID_PNAN = _bid_of(_NAN)
_BID_NNAN = _bid_of(_SIGN | _NAN)
_BID_PSNAN = _bid_of(_SNAN)
_BID_NSNAN = _bid_of(_SIGN | _SNAN)

_DEC_PINF = decimal.Decimal("Infinity")
_DEC_NINF = decimal.Decimal("-Infinity")
_DEC_PNAN = decimal.Decimal("NaN")
_DEC_NNAN = decimal.Decimal("-NaN")
_DEC_PSNAN = decimal.Decimal("sNaN")
_DEC_NSNAN = decimal.Decimal("-sNaN")
_DEC_NZERO = decimal.Decimal("-0")


def _context(traps: list[type[decimal.DecimalException]]) -> decimal.Context:
    return decimal.Context(
        prec=_MAX_DIGITS,
        rounding=decimal.ROUND_HALF_EVEN,
        Emin=_EXPONENT_MIN,
        Emax=_EXPONENT_MAX,
        capitals=1,
        clamp=1,
        flags=[],
        traps=traps,
    )


def create_decimal128_context() -> decimal.Context:
    """Return a new :class:`decimal.Context` for IEEE 754-2008 decimal128 values.

    Nothing is trapped, so a calculation done in this context always gives a value
    that :class:`Decimal128` accepts (rounded, clamped, or a special value).

    Example::

        >>> import decimal
        >>> with decimal.localcontext(create_decimal128_context()) as ctx:
        ...     Decimal128(ctx.create_decimal("1E-6177"))
        Decimal128('0E-6176')
    """
    return _context([])


# Encoding must refuse anything it cannot store exactly, so these signals raise.
# Only the per-call status decides whether a trap fires, so the flags that pile up
# on this private context are harmless.
_ENCODE_CTX = _context([decimal.InvalidOperation, decimal.Overflow, decimal.Inexact])
# Decoding never rounds (at most 34 digits, exponent in range); the context is only
# there so scaleb does not depend on the caller's thread-local context.
_DECODE_CTX = _context([])

_D = TypeVar("_D", bound="Decimal128")


def _encode(value: str | decimal.Decimal) -> bytes:
    if isinstance(value, str) and not value.isascii():
        # decimal also accepts non-ASCII Unicode digits; the spec grammar does not.
        raise decimal.InvalidOperation([decimal.ConversionSyntax])
    dec = _ENCODE_CTX.create_decimal(value)
    if dec.is_finite():
        exponent = cast(int, dec.as_tuple().exponent)  # an int for every finite value
        # scaleb only moves the exponent, so this is the coefficient exactly.
        coefficient = abs(int(dec.scaleb(-exponent, _DECODE_CTX)))
        bits = ((exponent + _EXPONENT_BIAS) << _EXPONENT_SHIFT) | coefficient
        if dec.is_signed():
            bits |= _SIGN
        return _bid_of(bits)
    if dec.is_infinite():
        return _BID_NINF if dec.is_signed() else _BID_PINF
    if dec.as_tuple().digits:
        raise ValueError("NaN with debug payload is not supported")
    if dec.is_snan():
        return _BID_NSNAN if dec.is_signed() else _BID_PSNAN
    return _BID_NNAN if dec.is_signed() else _BID_PNAN


def _finite_str(negative: bool, coefficient: int, exponent: int) -> str:
    # The spec's to-string algorithm, written out so that the result never depends
    # on the caller's decimal context (str(Decimal) reads its `capitals` setting).
    digits = str(coefficient)
    adjusted = exponent + len(digits) - 1
    if exponent <= 0 and adjusted >= -6:
        if exponent == 0:
            text = digits
        elif len(digits) > -exponent:
            text = f"{digits[:exponent]}.{digits[exponent:]}"
        else:
            text = "0." + "0" * (-exponent - len(digits)) + digits
    elif len(digits) == 1:
        text = f"{digits}E{adjusted:+d}"
    else:
        text = f"{digits[0]}.{digits[1:]}E{adjusted:+d}"
    return "-" + text if negative else text


class Decimal128(PydanticHooks):
    """A BSON Decimal128 (type 0x13): an IEEE 754-2008 128-bit decimal.

    Build one from a ``str``, a :class:`decimal.Decimal`, or a ``(high, low)`` pair
    of unsigned 64-bit ints (the raw halves of the BID encoding), or read one from
    16 bytes with :meth:`from_bid`. Strings and Decimals go through a decimal128
    context that traps rather than lose information:

    - an invalid string raises :class:`decimal.InvalidOperation` (this includes
      leading or trailing whitespace and non-ASCII digits);
    - a value needing more than 34 significant digits, or too small to keep its
      digits, raises :class:`decimal.Inexact`;
    - a value too large raises :class:`decimal.Overflow` (a subclass of Inexact);
    - a NaN with a diagnostic payload (``"NaN123"``) raises ``ValueError``;
    - any other type raises ``TypeError``.

    Exponents out of range are clamped when that is exact (``"1E+6144"`` is stored
    as 34 digits with exponent 6111). Two instances are equal when their BID bytes
    are equal, so unlike :class:`decimal.Decimal` a NaN equals the same NaN and
    ``1.0`` differs from ``1.00``. ``str()`` gives the spec's canonical string, in
    which every NaN is ``"NaN"``; :meth:`to_decimal` keeps the sign and kind.

    Example::

        >>> Decimal128("0.0005"), Decimal128((3474527112516337664, 5))
        (Decimal128('0.0005'), Decimal128('0.0005'))
        >>> Decimal128("-sNaN"), Decimal128("-sNaN").to_decimal()
        (Decimal128('NaN'), Decimal('-sNaN'))
        >>> Decimal128("1.0") == Decimal128("1.00")
        False
    """

    _pydantic_kind = "decimal128"

    __slots__ = ("_bid",)

    _type_marker = 19

    _bid: bytes

    def __init__(self, value: str | decimal.Decimal | tuple[int, int] | list[int]) -> None:
        if isinstance(value, (str, decimal.Decimal)):
            self._bid = _encode(value)
        elif isinstance(value, (tuple, list)):
            if len(value) != 2:
                raise ValueError(
                    "Invalid size for creation of Decimal128 from list or tuple. "
                    "Must have exactly 2 elements."
                )
            self._bid = _bid_of_halves(value[0], value[1])
        else:
            raise TypeError(f"Cannot convert {value!r} to Decimal128")

    @classmethod
    def from_bid(cls: type[_D], value: bytes) -> _D:
        """Build a ``Decimal128`` from its 16-byte little-endian BID encoding.

        The bytes are kept as they are (nothing is decoded until asked for), which
        keeps this cheap on the BSON decoding path.

        Example::

            >>> Decimal128.from_bid(bytes.fromhex("01000000000000000000000000003e30"))
            Decimal128('0.1')
        """
        if not isinstance(value, bytes):
            raise TypeError(f"value must be an instance of bytes, not {type(value)}")
        if len(value) != 16:
            raise ValueError("value must be exactly 16 bytes")
        self = cls.__new__(cls)
        # A bytes subclass could carry mutable state or a different __eq__.
        self._bid = value if type(value) is bytes else bytes(value)
        return self

    @property
    def bid(self) -> bytes:
        """The 16-byte little-endian Binary Integer Decimal encoding.

        Example::

            >>> Decimal128("-0").bid.hex()
            '000000000000000000000000000040b0'
        """
        return self._bid

    def _parts(self) -> tuple[bool, int, int]:
        # (negative, coefficient, exponent) of a finite value.
        bits = int.from_bytes(self._bid, "little")
        negative = bits >= _SIGN
        if (bits >> _LARGE_FORM_SHIFT) & 0b11 == 0b11:
            # The implied coefficient is at least 2**113 > 10**34 - 1, which IEEE
            # 754-2008 treats as non-canonical, and so as zero.
            exponent = (bits >> _LARGE_FORM_EXPONENT_SHIFT) & _EXPONENT_FIELD
            return negative, 0, exponent - _EXPONENT_BIAS
        exponent = (bits >> _EXPONENT_SHIFT) & _EXPONENT_FIELD
        coefficient = bits & _COEFFICIENT_FIELD
        if coefficient > _MAX_COEFFICIENT:
            coefficient = 0
        return negative, coefficient, exponent - _EXPONENT_BIAS

    def _special(self) -> int:
        # The combination field from the top byte pair: 0b11111 NaN, 0b11110 Inf.
        return (self._bid[15] >> 2) & 0b11111

    def to_decimal(self) -> decimal.Decimal:
        """Return the exact value as a :class:`decimal.Decimal`.

        Sign, exponent and trailing zeros are kept; NaNs keep their sign and
        kind (quiet or signalling) but drop any payload.

        Example::

            >>> Decimal128("-1.00E-8").to_decimal()
            Decimal('-1.00E-8')
            >>> Decimal128("-NaN").to_decimal()
            Decimal('-NaN')
        """
        special = self._special()
        negative = self._bid[15] >= 0x80
        if special == _COMBINATION_NAN:
            if self._bid[15] & 0b10:
                return _DEC_NSNAN if negative else _DEC_PSNAN
            return _DEC_NNAN if negative else _DEC_PNAN
        if special == _COMBINATION_INF:
            return _DEC_NINF if negative else _DEC_PINF
        negative, coefficient, exponent = self._parts()
        if negative:
            base = decimal.Decimal(-coefficient) if coefficient else _DEC_NZERO
        else:
            base = decimal.Decimal(coefficient)
        return base.scaleb(exponent, _DECODE_CTX)

    def __str__(self) -> str:
        special = self._special()
        if special == _COMBINATION_NAN:
            return "NaN"
        if special == _COMBINATION_INF:
            return "-Infinity" if self._bid[15] >= 0x80 else "Infinity"
        return _finite_str(*self._parts())

    def __repr__(self) -> str:
        return f"Decimal128('{self}')"

    def __getstate__(self) -> tuple[int, int]:
        bits = int.from_bytes(self._bid, "little")
        return bits >> 64, bits & _MASK_64

    def __setstate__(self, state: tuple[int, int]) -> None:
        self._bid = _bid_of_halves(state[0], state[1])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Decimal128):
            return self._bid == other._bid
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, Decimal128):
            return self._bid != other._bid
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._bid)


def _bid_of_halves(high: int, low: int) -> bytes:
    high = operator.index(high)
    low = operator.index(low)
    if not (0 <= high <= _MASK_64 and 0 <= low <= _MASK_64):
        raise ValueError("high and low must each be an unsigned 64-bit integer")
    return _bid_of((high << 64) | low)
