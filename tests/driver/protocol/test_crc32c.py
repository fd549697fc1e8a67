"""CRC-32C: the RFC 3720 (iSCSI) test vectors, for the pure code and every accelerator.

The pure table-driven implementation always runs; ``google-crc32c`` and ``crc32c`` run
only where installed (the skip reason names the missing package).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driver.protocol import crc32c as crc_module
from driver.protocol.crc32c import IMPLEMENTATION, _crc32c_pure, crc32c

# RFC 3720, appendix B.4 (the PDU is an iSCSI read command), plus the usual check value.
_READ_PDU = bytes.fromhex(
    "01c00000 00000000 00000000 00000000 14000000 00000400 00000014 00000018"
    "28000000 00000000 02000000 00000000"
)
VECTORS = [
    pytest.param(bytes(32), 0x8A9136AA, id="32-zeros"),
    pytest.param(b"\xff" * 32, 0x62A8AB43, id="32-ones"),
    pytest.param(bytes(range(32)), 0x46DD794E, id="incrementing"),
    pytest.param(bytes(range(31, -1, -1)), 0x113FDB5C, id="decrementing"),
    pytest.param(_READ_PDU, 0xD9963A56, id="iscsi-read-pdu"),
    pytest.param(b"123456789", 0xE3069283, id="check-value"),
    pytest.param(b"", 0, id="empty"),
]


def _accelerated(package: str) -> Callable[[bytes, int], int]:
    module: Any = pytest.importorskip(
        package.replace("-", "_"), reason=f"the optional package {package!r} is not installed"
    )
    if package == "google-crc32c":
        return lambda data, value: int(module.extend(value, data))
    return lambda data, value: int(module.crc32c(data, value))


IMPLEMENTATIONS = ["pure", "active", "google-crc32c", "crc32c"]


def _implementation(name: str) -> Callable[[bytes, int], int]:
    if name == "pure":
        return _crc32c_pure
    if name == "active":
        return crc32c
    return _accelerated(name)


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
@pytest.mark.parametrize(("data", "expected"), VECTORS)
def test_rfc3720_vectors(name: str, data: bytes, expected: int) -> None:
    assert _implementation(name)(data, 0) == expected


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_running_value_continues_a_checksum(name: str) -> None:
    function = _implementation(name)
    data = bytes(range(256)) * 3
    for cut in (0, 1, 100, len(data)):
        assert function(data[cut:], function(data[:cut], 0)) == function(data, 0)


def test_buffers_of_every_kind() -> None:
    data = bytes(range(32))
    for buffer in (bytearray(data), memoryview(data), memoryview(b"xx" + data)[2:]):
        assert crc32c(buffer) == 0x46DD794E
        assert _crc32c_pure(buffer) == 0x46DD794E


def test_running_value_must_be_unsigned_32_bit() -> None:
    with pytest.raises(ValueError, match="unsigned 32-bit"):
        crc32c(b"x", -1)
    with pytest.raises(ValueError, match="unsigned 32-bit"):
        crc32c(b"x", 2**32)


def test_implementation_is_reported() -> None:
    assert IMPLEMENTATION in ("google-crc32c", "crc32c", "pure")


def test_falls_back_to_pure_python(monkeypatch: pytest.MonkeyPatch) -> None:
    # With neither accelerator importable, the module picks the table-driven code.
    real_import = importlib.import_module

    def blocked(name: str, package: str | None = None) -> Any:
        if name in ("google_crc32c", "crc32c"):
            raise ImportError(name)
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", blocked)
    name, function = crc_module._load()
    assert name == "pure"
    assert function(bytes(32), 0) == 0x8A9136AA


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 2**32 - 1))
def test_active_implementation_matches_pure(data: bytes, value: int) -> None:
    assert crc32c(data, value) == _crc32c_pure(data, value)
