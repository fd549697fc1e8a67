"""CRC-32C (Castagnoli), the checksum of OP_MSG's optional ``checksum`` field.

``crc32c(data)`` uses a C implementation when one is installed (``google-crc32c`` or
``crc32c``, both optional) and a table-driven pure-Python one otherwise; all of them
give the same values (RFC 3720, appendix B.4). ``value`` continues a running checksum,
so a message can be checked in pieces without joining them.

Example::

    >>> from driver.protocol.crc32c import crc32c
    >>> hex(crc32c(bytes(32)))
    '0x8a9136aa'
    >>> crc32c(b"world", crc32c(b"hello ")) == crc32c(b"hello world")
    True
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["IMPLEMENTATION", "crc32c"]

_Buffer = bytes | bytearray | memoryview

# The reflected form of the Castagnoli polynomial 0x1EDC6F41.
_POLYNOMIAL = 0x82F63B78


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLYNOMIAL if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _make_table()


def _crc32c_pure(data: _Buffer, value: int = 0) -> int:
    """The pure-Python CRC-32C: one table look-up per byte."""
    crc = value ^ 0xFFFFFFFF
    table = _TABLE  # a local: this loop is the whole cost
    for byte in bytes(data) if isinstance(data, memoryview) else data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _load() -> tuple[str, Callable[[_Buffer, int], int]]:
    # Optional accelerators, tried lazily at import: neither is a dependency.
    try:
        google: Any = importlib.import_module("google_crc32c")
    except ImportError:
        pass
    else:
        # Its own fallback is pure Python and slower than ours; only its C code helps.
        if getattr(google, "implementation", None) == "c":
            extend = google.extend
            return "google-crc32c", lambda data, value: int(extend(value, bytes(data)))
    try:
        other: Any = importlib.import_module("crc32c")
    except ImportError:
        pass
    else:
        function = other.crc32c
        return "crc32c", lambda data, value: int(function(bytes(data), value))
    return "pure", _crc32c_pure


#: Which implementation :func:`crc32c` uses: ``"google-crc32c"``, ``"crc32c"`` or ``"pure"``.
IMPLEMENTATION: str
_implementation: Callable[[_Buffer, int], int]
IMPLEMENTATION, _implementation = _load()


def crc32c(data: _Buffer, value: int = 0) -> int:
    """The CRC-32C of ``data`` as an unsigned int; ``value`` continues an earlier CRC.

    >>> hex(crc32c(b"\\xff" * 32))
    '0x62a8ab43'
    """
    if not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"a running CRC-32C is an unsigned 32-bit value, not {value}")
    return _implementation(data, value)
