"""TLS contexts from options, and command replies turned into typed errors."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import pytest
import trustme

from driver.errors import (
    ConfigurationError,
    CursorNotFound,
    DuplicateKeyError,
    ExecutionTimeout,
    NotPrimaryError,
    OperationFailure,
    WriteConcernError,
    WTimeoutError,
)
from driver.protocol.commands import check_command_reply
from driver.tls import build_ssl_context, tls_enabled


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    client = ca.issue_cert("client@example.com")
    paths = {"ca": base / "ca.pem", "client": base / "client.pem", "encrypted": base / "enc.pem"}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    client.private_key_and_cert_chain_pem.write_to_path(str(paths["client"]))
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(client.private_key_pem.bytes(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"hunter2"),
    )
    paths["encrypted"].write_bytes(encrypted + b"".join(b.bytes() for b in client.cert_chain_pems))
    return paths


def test_tls_is_off_unless_asked() -> None:
    assert not tls_enabled({}) and build_ssl_context({"tls": False}) is None
    assert tls_enabled({"tlsCAFile": "x.pem"})


def test_verification_is_on_by_default(pki: dict[str, Path]) -> None:
    ctx = build_ssl_context({"tls": True, "tlsCAFile": str(pki["ca"])})
    assert ctx is not None
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_client_certificate_and_encrypted_key(pki: dict[str, Path]) -> None:
    assert build_ssl_context({"tls": True, "tlsCertificateKeyFile": str(pki["client"])})
    options = {
        "tls": True,
        "tlsCertificateKeyFile": str(pki["encrypted"]),
        "tlsCertificateKeyFilePassword": "hunter2",
    }
    assert build_ssl_context(options)
    with pytest.raises(ConfigurationError) as info:
        build_ssl_context({**options, "tlsCertificateKeyFilePassword": "wrong-secret"})
    assert "tlsCertificateKeyFile" in str(info.value)
    assert "wrong-secret" not in str(info.value)


def test_unreadable_files_name_the_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="tlsCAFile"):
        build_ssl_context({"tls": True, "tlsCAFile": str(tmp_path / "missing.pem")})
    with pytest.raises(ConfigurationError, match="tlsCertificateKeyFile"):
        build_ssl_context({"tls": True, "tlsCertificateKeyFile": str(tmp_path / "nope.pem")})


@pytest.mark.parametrize(
    ("option", "certs", "hosts"),
    [
        ("tlsInsecure", False, False),
        ("tlsAllowInvalidCertificates", False, False),
        ("tlsAllowInvalidHostnames", True, False),
    ],
)
def test_relaxing_verification_is_logged(
    option: str, certs: bool, hosts: bool, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="driver.tls"):
        ctx = build_ssl_context({"tls": True, option: True})
    assert ctx is not None
    assert (ctx.verify_mode == ssl.CERT_REQUIRED) is certs
    assert ctx.check_hostname is hosts
    assert "TLS verification is relaxed" in caplog.text


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ({"ok": 0, "code": 11000, "errmsg": "E11000 dup"}, DuplicateKeyError),
        ({"ok": 0, "code": 50, "errmsg": "time limit"}, ExecutionTimeout),
        ({"ok": 0, "code": 43, "errmsg": "cursor id 5 not found"}, CursorNotFound),
        ({"ok": 0, "code": 10107, "errmsg": "not primary"}, NotPrimaryError),
        ({"ok": 0, "code": 11602, "errmsg": "interrupted"}, NotPrimaryError),
        ({"ok": 0, "errmsg": "not master"}, NotPrimaryError),
        ({"ok": 0, "code": 18, "errmsg": "Authentication failed."}, OperationFailure),
        (
            {"ok": 1, "writeConcernError": {"code": 64, "errmsg": "waiting",
                                            "errInfo": {"wtimeout": True}}},
            WTimeoutError,
        ),
        ({"ok": 1, "writeConcernError": {"code": 100, "errmsg": "bad"}}, WriteConcernError),
    ],
)
def test_replies_become_typed_errors(reply: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        check_command_reply(reply, max_wire_version=17)
    assert type(info.value) is error


def test_operation_failure_keeps_code_details_and_labels() -> None:
    reply = {"ok": 0, "code": 112, "errmsg": "write conflict",
             "errorLabels": ["TransientTransactionError"]}
    with pytest.raises(OperationFailure) as info:
        check_command_reply(reply)
    assert info.value.code == 112 and info.value.details == reply
    assert info.value.has_error_label("TransientTransactionError")


def test_success_passes() -> None:
    check_command_reply({"ok": 1.0})
