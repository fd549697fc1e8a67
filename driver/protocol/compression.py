"""Wire compressors for OP_COMPRESSED: zlib, zstd, snappy and noop, and their rules.

- zlib is always there (the standard library); its level is ``-1`` to ``9``.
- zstd needs ``zstandard`` or ``backports.zstd`` (what PyMongo uses), snappy needs
  ``cramjam`` (python-snappy 0.7+ is a thin layer over it, so installing either works).
  They are imported on first use; :func:`compressor_status` says why one is missing.
- noop (id 0) wraps the bytes unchanged; it is never offered in a handshake.

Decompression is bounded: the caller passes the uncompressed size that the
OP_COMPRESSED header declared (already checked against ``maxMessageSizeBytes``), no
compressor is ever asked for more than that plus one byte, and any other size is a
:class:`~driver.errors.ProtocolError`, so a small message cannot inflate into gigabytes.

Example::

    >>> from driver.protocol.compression import compress, decompress, negotiate_compressor
    >>> negotiate_compressor(["zstd", "zlib"], ["zlib", "snappy"])
    'zlib'
    >>> packed = compress("zlib", b"ping" * 100)
    >>> decompress(2, packed, 400) == b"ping" * 100
    True
"""

from __future__ import annotations

import functools
import importlib
import io
import zlib
from collections.abc import Iterable
from typing import Any

from driver.errors import ConfigurationError, ProtocolError

__all__ = [
    "COMPRESSOR_IDS",
    "COMPRESSOR_NAMES",
    "NOOP",
    "SNAPPY",
    "SUPPORTED_COMPRESSORS",
    "UNCOMPRESSIBLE_COMMANDS",
    "ZLIB",
    "ZSTD",
    "available_compressors",
    "compress",
    "compressor_status",
    "decompress",
    "may_compress",
    "negotiate_compressor",
    "validate_zlib_level",
]

NOOP = 0
SNAPPY = 1
ZLIB = 2
ZSTD = 3

#: Handshake name -> compressor id, as the OP_COMPRESSED spec numbers them.
COMPRESSOR_IDS: dict[str, int] = {"noop": NOOP, "snappy": SNAPPY, "zlib": ZLIB, "zstd": ZSTD}
#: Compressor id -> handshake name.
COMPRESSOR_NAMES: dict[int, str] = {number: name for name, number in COMPRESSOR_IDS.items()}
#: The names a user may list in ``compressors=`` (noop is for tests only).
SUPPORTED_COMPRESSORS: tuple[str, ...] = ("snappy", "zlib", "zstd")

#: Commands whose messages must never be compressed (OP_COMPRESSED spec), lowercased.
UNCOMPRESSIBLE_COMMANDS: frozenset[str] = frozenset(
    name.lower()
    for name in (
        "hello",
        "isMaster",
        "saslStart",
        "saslContinue",
        "getnonce",
        "authenticate",
        "createUser",
        "updateUser",
        "copydbSaslStart",
        "copydbgetnonce",
        "copydb",
    )
)


def may_compress(command_name: str) -> bool:
    """Whether a command may travel in OP_COMPRESSED (not hello, auth, user admin...).

    The check ignores case, as the server does for ``isMaster``/``ismaster``.

    >>> may_compress("find"), may_compress("saslStart"), may_compress("ismaster")
    (True, False, False)
    """
    return command_name.lower() not in UNCOMPRESSIBLE_COMMANDS


def validate_zlib_level(level: int) -> int:
    """Return ``level`` if it is a zlib level (``-1`` to ``9``), else ConfigurationError.

    >>> validate_zlib_level(6)
    6
    """
    if isinstance(level, bool) or not isinstance(level, int) or not -1 <= level <= 9:
        raise ConfigurationError(
            f"zlibCompressionLevel must be an integer from -1 to 9, not {level!r}"
        )
    return level


# ------------------------------------------------------------------ optional backends


@functools.cache
def _zstd_backend() -> tuple[str, Any] | str:
    """``(package, module)`` for zstd, or the reason it is unavailable."""
    # zstandard first (the ``zstd`` extra); backports.zstd is what PyMongo installs.
    for package, module_name in (("zstandard", "zstandard"), ("backports.zstd", "backports.zstd")):
        try:
            return package, importlib.import_module(module_name)
        except ImportError:
            continue
    return "zstd needs the 'zstandard' package (pip install zstandard, or feldspar[zstd])"


@functools.cache
def _snappy_backend() -> Any | str:
    """The ``cramjam`` module, or the reason snappy is unavailable."""
    try:
        return importlib.import_module("cramjam")
    except ImportError:
        return "snappy needs the 'cramjam' package (pip install cramjam, or feldspar[snappy])"


def compressor_status(name: str) -> str | None:
    """None if compressor ``name`` works here, else why not (a missing package...).

    >>> compressor_status("zlib") is None
    True
    >>> compressor_status("lz4")
    "unknown compressor 'lz4': the supported ones are snappy, zlib and zstd"
    """
    if name in ("zlib", "noop"):
        return None
    if name == "zstd":
        backend = _zstd_backend()
        return backend if isinstance(backend, str) else None
    if name == "snappy":
        snappy = _snappy_backend()
        return snappy if isinstance(snappy, str) else None
    return f"unknown compressor {name!r}: the supported ones are snappy, zlib and zstd"


def available_compressors() -> tuple[str, ...]:
    """The compressor names usable here, always including ``"zlib"``.

    >>> "zlib" in available_compressors()
    True
    """
    return tuple(name for name in SUPPORTED_COMPRESSORS if compressor_status(name) is None)


def negotiate_compressor(
    client_compressors: Iterable[str], server_compressors: Iterable[str] | None
) -> str | None:
    """The compressor to use: the client's first that the server offers and works here.

    ``server_compressors`` is the ``compression`` field of the hello reply (missing
    when nothing is shared, hence None). None means: do not compress.

    >>> negotiate_compressor(["snappy", "zlib"], None) is None
    True
    """
    offered = set(server_compressors or ())
    for name in client_compressors:
        if name in offered and name in SUPPORTED_COMPRESSORS and compressor_status(name) is None:
            return name
    return None


# ------------------------------------------------------------------ compress / decompress


def _compressor_id(compressor: str | int) -> int:
    if isinstance(compressor, str):
        number = COMPRESSOR_IDS.get(compressor)
        if number is None:
            raise ConfigurationError(compressor_status(compressor) or compressor)
        return number
    if compressor not in COMPRESSOR_NAMES:
        raise ConfigurationError(f"unknown compressor id {compressor!r}")
    return compressor


def compress(compressor: str | int, data: bytes, level: int = -1) -> bytes:
    """Compress ``data`` with a compressor given by name or id.

    ``level`` is zlib's (``zlibCompressionLevel``); zstd and snappy use their defaults,
    as the spec only defines a level for zlib. ConfigurationError if the compressor is
    unknown or its package is missing.

    >>> compress("noop", b"abc")
    b'abc'
    """
    number = _compressor_id(compressor)
    if number == ZLIB:
        return zlib.compress(data, validate_zlib_level(level))
    if number == NOOP:
        return bytes(data)
    if number == ZSTD:
        backend = _zstd_backend()
        if isinstance(backend, str):
            raise ConfigurationError(backend)
        package, module = backend
        if package == "zstandard":
            return bytes(module.ZstdCompressor().compress(data))
        return bytes(module.compress(data))
    snappy = _snappy_backend()
    if isinstance(snappy, str):
        raise ConfigurationError(snappy)
    return bytes(snappy.snappy.compress_raw(data))


def _snappy_declared_length(data: bytes) -> int:
    """The uncompressed length a raw snappy block starts with (a little-endian varint)."""
    result = 0
    for index in range(min(len(data), 5)):
        byte = data[index]
        result |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return result
    raise ProtocolError("snappy data does not start with a valid length")


def _inflate_zlib(data: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ProtocolError(f"zlib data in OP_COMPRESSED is corrupt: {exc}") from None
    if len(out) <= limit and not inflater.eof:
        raise ProtocolError("zlib data in OP_COMPRESSED is truncated")
    return out


def _inflate_zstd(data: bytes, limit: int) -> bytes:
    backend = _zstd_backend()
    if isinstance(backend, str):
        raise ProtocolError(f"the server sent zstd-compressed data, but {backend}")
    package, module = backend
    try:
        if package == "zstandard":
            # stream_reader never trusts the frame's declared size for its allocation.
            reader = module.ZstdDecompressor().stream_reader(io.BytesIO(data))
            chunks: list[bytes] = []
            wanted = limit + 1
            while wanted > 0:
                chunk = reader.read(wanted)
                if not chunk:
                    break
                chunks.append(chunk)
                wanted -= len(chunk)
            return b"".join(chunks)
        inflater = module.ZstdDecompressor()
        out = bytes(inflater.decompress(data, max_length=limit + 1))
        if len(out) <= limit and not inflater.eof:
            raise ProtocolError("zstd data in OP_COMPRESSED is truncated")
        return out
    except ProtocolError:
        raise
    except Exception as exc:  # the C libraries raise their own types on garbage
        raise ProtocolError(f"zstd data in OP_COMPRESSED is corrupt: {exc}") from None


def _inflate_snappy(data: bytes, limit: int) -> bytes:
    snappy = _snappy_backend()
    if isinstance(snappy, str):
        raise ProtocolError(f"the server sent snappy-compressed data, but {snappy}")
    # Snappy allocates what its header declares: check that first.
    declared = _snappy_declared_length(data)
    if declared != limit:
        raise ProtocolError(
            f"snappy data declares {declared} bytes but OP_COMPRESSED declared {limit}"
        )
    try:
        return bytes(snappy.snappy.decompress_raw(data))
    except Exception as exc:  # cramjam.DecompressionError and friends
        raise ProtocolError(f"snappy data in OP_COMPRESSED is corrupt: {exc}") from None


def decompress(compressor_id: int, data: bytes, uncompressed_size: int) -> bytes:
    """Decompress an OP_COMPRESSED payload to exactly ``uncompressed_size`` bytes.

    ``uncompressed_size`` is the header's declared size, which the caller has already
    checked against its limit. ProtocolError for an unknown or unavailable compressor,
    corrupt data, or output of any other size (nothing beyond that size is produced).

    >>> decompress(0, b"abc", 3)
    b'abc'
    """
    if uncompressed_size < 0:
        raise ProtocolError(f"OP_COMPRESSED declares a negative size ({uncompressed_size})")
    if compressor_id == NOOP:
        out = bytes(data)
    elif compressor_id == ZLIB:
        out = _inflate_zlib(data, uncompressed_size)
    elif compressor_id == ZSTD:
        out = _inflate_zstd(data, uncompressed_size)
    elif compressor_id == SNAPPY:
        out = _inflate_snappy(data, uncompressed_size)
    else:
        raise ProtocolError(f"OP_COMPRESSED uses unknown compressor id {compressor_id}")
    if len(out) != uncompressed_size:
        more = "more than" if len(out) > uncompressed_size else f"{len(out)} bytes, not"
        raise ProtocolError(
            f"OP_COMPRESSED declared {uncompressed_size} bytes uncompressed but "
            f"{COMPRESSOR_NAMES[compressor_id]} data gave {more} that"
        )
    return out
