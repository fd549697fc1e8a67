"""Wire compressors: round trips, negotiation, the never-compress list, bombs, garbage.

zlib always runs. zstd runs per backend (``zstandard``, ``backports.zstd``) and snappy
with ``cramjam``, each only where installed: the skip reason names the missing package.
"""

from __future__ import annotations

import contextlib
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from driver.errors import ConfigurationError, ProtocolError
from driver.protocol import compression
from driver.protocol.compression import (
    COMPRESSOR_IDS,
    SNAPPY,
    UNCOMPRESSIBLE_COMMANDS,
    ZLIB,
    ZSTD,
    available_compressors,
    compress,
    compressor_status,
    decompress,
    may_compress,
    negotiate_compressor,
    validate_zlib_level,
)

SAMPLE = b"".join(b"{'_id': %d, 'name': 'document %d'}" % (i, i) for i in range(2000))


@pytest.fixture(params=["zstandard", "backports.zstd"])
def zstd_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a zstd test once per installed backend, forcing that backend."""
    package: str = request.param
    module = pytest.importorskip(
        package, reason=f"zstd via {package!r}: the optional package is not installed"
    )
    monkeypatch.setattr(compression, "_zstd_backend", lambda: (package, module))
    return package


@pytest.fixture
def cramjam() -> Any:
    return pytest.importorskip(
        "cramjam", reason="snappy: the optional package 'cramjam' is not installed"
    )


@pytest.fixture
def no_optional(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend neither zstd nor snappy is installed."""
    monkeypatch.setattr(compression, "_zstd_backend", lambda: "zstd needs the 'zstandard' package")
    monkeypatch.setattr(
        compression, "_snappy_backend", lambda: "snappy needs the 'cramjam' package"
    )


@pytest.fixture
def all_available(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend zstd and snappy are installed (for tests that never call them)."""
    monkeypatch.setattr(compression, "_zstd_backend", lambda: ("zstandard", object()))
    monkeypatch.setattr(compression, "_snappy_backend", lambda: object())


# ------------------------------------------------------------------ rules


@pytest.mark.parametrize(
    "name",
    [
        "hello",
        "isMaster",
        "ismaster",
        "saslStart",
        "saslContinue",
        "getnonce",
        "authenticate",
        "createUser",
        "updateUser",
        "copydbSaslStart",
        "copydbgetnonce",
        "copydb",
    ],
)
def test_handshake_and_auth_commands_are_never_compressed(name: str) -> None:
    assert not may_compress(name)
    assert not may_compress(name.upper())


@pytest.mark.parametrize("name", ["find", "insert", "ping", "aggregate", "getMore", "hello2"])
def test_other_commands_may_be_compressed(name: str) -> None:
    assert may_compress(name)


def test_the_spec_list_is_complete() -> None:
    assert len(UNCOMPRESSIBLE_COMMANDS) == 11


def test_compressor_ids_follow_the_spec() -> None:
    assert COMPRESSOR_IDS == {"noop": 0, "snappy": 1, "zlib": 2, "zstd": 3}


@pytest.mark.parametrize(
    ("client", "server", "expected"),
    [
        (["zstd", "zlib"], ["zlib", "zstd"], "zstd"),  # the client's order wins
        (["snappy", "zlib"], ["zlib"], "zlib"),
        (["zlib"], [], None),
        (["zlib"], None, None),  # no common compressor: the field is absent
        ([], ["zlib"], None),
        (["lz4", "zlib"], ["lz4", "zlib"], "zlib"),  # unknown names are skipped
        (["noop"], ["noop"], None),  # noop is for tests, never negotiated
    ],
)
def test_negotiation(
    client: list[str], server: list[str] | None, expected: str | None, all_available: None
) -> None:
    assert negotiate_compressor(client, server) == expected


def test_negotiation_skips_compressors_missing_here(no_optional: None) -> None:
    assert negotiate_compressor(["zstd", "snappy", "zlib"], ["zstd", "snappy", "zlib"]) == "zlib"
    assert negotiate_compressor(["zstd"], ["zstd"]) is None


def test_availability_is_reported(no_optional: None) -> None:
    assert available_compressors() == ("zlib",)
    assert compressor_status("zlib") is None
    assert "zstandard" in (compressor_status("zstd") or "")
    assert "cramjam" in (compressor_status("snappy") or "")
    assert "unknown compressor 'lz4'" in (compressor_status("lz4") or "")


def test_real_backends_are_found_when_installed() -> None:
    for name, package in (("zstd", "zstandard"), ("snappy", "cramjam")):
        try:
            __import__(package)
        except ImportError:
            continue
        assert compressor_status(name) is None
        assert name in available_compressors()


@pytest.mark.parametrize("level", [-2, 10, True, "6", 1.0, None])
def test_zlib_level_is_checked(level: Any) -> None:
    with pytest.raises(ConfigurationError, match="zlibCompressionLevel"):
        validate_zlib_level(level)
    with pytest.raises(ConfigurationError, match="zlibCompressionLevel"):
        compress("zlib", b"x", level)


def test_unknown_compressor_names_and_ids() -> None:
    with pytest.raises(ConfigurationError, match="lz4"):
        compress("lz4", b"x")
    with pytest.raises(ConfigurationError, match="unknown compressor id 9"):
        compress(9, b"x")


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize("level", range(-1, 10))
def test_zlib_round_trip_at_every_level(level: int) -> None:
    packed = compress("zlib", SAMPLE, level)
    assert packed == zlib.compress(SAMPLE, level)
    assert decompress(ZLIB, packed, len(SAMPLE)) == SAMPLE


def test_compress_by_id_equals_by_name() -> None:
    assert compress(ZLIB, SAMPLE, 6) == compress("zlib", SAMPLE, 6)


def test_noop_round_trip() -> None:
    assert compress("noop", SAMPLE) == SAMPLE
    assert decompress(0, SAMPLE, len(SAMPLE)) == SAMPLE


def test_zstd_round_trip(zstd_backend: str) -> None:
    packed = compress("zstd", SAMPLE)
    assert len(packed) < len(SAMPLE) // 5
    assert decompress(ZSTD, packed, len(SAMPLE)) == SAMPLE
    assert decompress(ZSTD, compress("zstd", b""), 0) == b""


def test_zstd_backends_understand_each_other() -> None:
    zstandard: Any = pytest.importorskip(
        "zstandard", reason="zstd via 'zstandard': the optional package is not installed"
    )
    backports: Any = pytest.importorskip(
        "backports.zstd", reason="zstd via 'backports.zstd': the optional package is not installed"
    )
    assert backports.decompress(zstandard.ZstdCompressor().compress(SAMPLE)) == SAMPLE
    assert zstandard.ZstdDecompressor().decompress(backports.compress(SAMPLE)) == SAMPLE


def test_snappy_round_trip(cramjam: Any) -> None:
    packed = compress("snappy", SAMPLE)
    assert bytes(cramjam.snappy.decompress_raw(packed)) == SAMPLE
    assert decompress(SNAPPY, packed, len(SAMPLE)) == SAMPLE
    assert decompress(SNAPPY, compress("snappy", b""), 0) == b""


def test_missing_package_errors(no_optional: None) -> None:
    with pytest.raises(ConfigurationError, match="zstandard"):
        compress("zstd", b"x")
    with pytest.raises(ConfigurationError, match="cramjam"):
        compress("snappy", b"x")
    # A server that compresses with something we lack is a protocol problem.
    with pytest.raises(ProtocolError, match="zstd-compressed data, but zstd needs"):
        decompress(ZSTD, b"x", 1)
    with pytest.raises(ProtocolError, match="snappy-compressed data, but snappy needs"):
        decompress(SNAPPY, b"x", 1)


# ------------------------------------------------------------------ hostile input


def _zlib_bomb(size: int) -> bytes:
    packer = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    parts = [packer.compress(chunk) for _ in range(size >> 20)]
    return b"".join(parts) + packer.flush()


def _peak(function: Callable[[], object]) -> int:
    tracemalloc.start()
    with contextlib.suppress(ProtocolError):
        function()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_zlib_bomb_stops_at_the_declared_size() -> None:
    bomb = _zlib_bomb(64 << 20)  # 64 MB of zeros in about 64 KB
    with pytest.raises(
        ProtocolError, match="declared 1000 bytes uncompressed but zlib data gave more"
    ):
        decompress(ZLIB, bomb, 1000)
    assert _peak(lambda: decompress(ZLIB, bomb, 1000)) < 1 << 20


def test_zstd_bomb_stops_at_the_declared_size(zstd_backend: str) -> None:
    module: Any = __import__(zstd_backend, fromlist=["_"])
    data = bytes(64 << 20)
    # A frame that announces its 64 MB content size must not make us allocate it.
    if zstd_backend == "zstandard":
        bomb = module.ZstdCompressor(write_content_size=True).compress(data)
    else:
        bomb = module.compress(data)
    del data
    with pytest.raises(
        ProtocolError, match="declared 1000 bytes uncompressed but zstd data gave more"
    ):
        decompress(ZSTD, bomb, 1000)
    assert _peak(lambda: decompress(ZSTD, bomb, 1000)) < 1 << 20


def test_snappy_length_header_is_checked_before_decompressing(cramjam: Any) -> None:
    # The preamble claims 4 GB; snappy would allocate that up front.
    lying = b"\xff\xff\xff\xff\x0f" + b"\x00" * 10
    with pytest.raises(ProtocolError, match="snappy data declares 4294967295 bytes"):
        decompress(SNAPPY, lying, 15)
    assert _peak(lambda: decompress(SNAPPY, lying, 15)) < 1 << 20
    with pytest.raises(ProtocolError, match="valid length"):
        decompress(SNAPPY, b"\xff\xff\xff\xff\xff\xff", 10)


def _corruptions() -> Iterator[Any]:
    packed = zlib.compress(SAMPLE)
    yield pytest.param(ZLIB, b"garbage!", 100, "corrupt", id="zlib-garbage")
    yield pytest.param(
        ZLIB, packed[: len(packed) // 2], len(SAMPLE), "truncated", id="zlib-truncated"
    )
    yield pytest.param(ZLIB, packed, len(SAMPLE) + 1, "not that", id="zlib-short")
    yield pytest.param(0, b"abc", 4, "3 bytes, not that", id="noop-short")
    yield pytest.param(0, b"abcd", 3, "more than that", id="noop-long")
    yield pytest.param(7, b"abc", 3, "unknown compressor id 7", id="unknown-id")
    yield pytest.param(ZLIB, packed, -1, "negative size", id="negative-size")


@pytest.mark.parametrize(("compressor_id", "data", "size", "message"), list(_corruptions()))
def test_corrupt_data_is_a_protocol_error(
    compressor_id: int, data: bytes, size: int, message: str
) -> None:
    with pytest.raises(ProtocolError, match=message):
        decompress(compressor_id, data, size)


def test_zstd_garbage_is_a_protocol_error(zstd_backend: str) -> None:
    with pytest.raises(ProtocolError, match="zstd"):
        decompress(ZSTD, b"not zstd at all", 100)
    packed = compress("zstd", SAMPLE)
    with pytest.raises(ProtocolError):
        decompress(ZSTD, packed[: len(packed) // 2], len(SAMPLE))
    with pytest.raises(ProtocolError, match="not that"):
        decompress(ZSTD, packed, len(SAMPLE) + 10)


def test_snappy_garbage_is_a_protocol_error(cramjam: Any) -> None:
    packed = compress("snappy", SAMPLE)
    with pytest.raises(ProtocolError, match="snappy"):
        decompress(SNAPPY, packed[: len(packed) // 2], len(SAMPLE))
    with pytest.raises(ProtocolError, match="snappy data declares"):
        decompress(SNAPPY, packed, len(SAMPLE) - 1)
