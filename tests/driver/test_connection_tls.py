"""TLS on one connection against SecantusDB with a throwaway CA: verified by default,
untrusted certificates and wrong host names refused, X.509 client authentication."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from cryptography import x509

from driver._sync.connection import Connection, ConnectionSettings
from driver.errors import AutoReconnect
from driver.protocol.auth import MongoCredential
from driver.tls import build_ssl_context
from tools.testserver import TestServer


@dataclass(frozen=True)
class Pki:
    ca: Path
    other_ca: Path
    server_cert: Path
    server_key: Path
    client: Path
    client_subject: str


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    base = tmp_path_factory.mktemp("tls")
    ca, other = trustme.CA(), trustme.CA()
    # The server's certificate names only "localhost": connecting as 127.0.0.1 must fail.
    server = ca.issue_cert("localhost")
    client = ca.issue_cert(
        "client.example", common_name="client", organization_name="feldspar",
        organization_unit_name="tests",
    )
    paths = Pki(base / "ca.pem", base / "other.pem", base / "server.pem", base / "server.key",
                base / "client.pem", "")
    ca.cert_pem.write_to_path(str(paths.ca))
    other.cert_pem.write_to_path(str(paths.other_ca))
    server.cert_chain_pems[0].write_to_path(str(paths.server_cert))
    server.private_key_pem.write_to_path(str(paths.server_key))
    client.private_key_and_cert_chain_pem.write_to_path(str(paths.client))
    subject = x509.load_pem_x509_certificate(client.cert_chain_pems[0].bytes()).subject
    return dataclasses.replace(paths, client_subject=subject.rfc4514_string())


def _tls_args(pki: Pki) -> list[str]:
    return ["--tls-cert-file", str(pki.server_cert), "--tls-key-file", str(pki.server_key),
            "--tls-ca-file", str(pki.ca)]


@pytest.fixture(scope="module")
def tls_server(pki: Pki) -> Iterator[TestServer]:
    with TestServer(_tls_args(pki)) as server:
        yield server


def _open(server: TestServer, host: str, **options: object) -> Connection:
    ctx = build_ssl_context({"tls": True, **options})
    return Connection.open((host, server.port), ConnectionSettings(ssl_context=ctx,
                                                                   connect_timeout=10.0))


def test_verified_tls_connection(tls_server: TestServer, pki: Pki) -> None:
    conn = _open(tls_server, "localhost", tlsCAFile=str(pki.ca))
    try:
        assert conn.command("admin", {"ping": 1})["ok"] == 1
    finally:
        conn.close()


def test_untrusted_certificate_is_refused(tls_server: TestServer, pki: Pki) -> None:
    with pytest.raises(AutoReconnect, match="certificate verify failed"):
        _open(tls_server, "localhost", tlsCAFile=str(pki.other_ca))


def test_wrong_host_name_is_refused_unless_allowed(tls_server: TestServer, pki: Pki) -> None:
    with pytest.raises(AutoReconnect, match="certificate verify failed"):
        _open(tls_server, "127.0.0.1", tlsCAFile=str(pki.ca))
    conn = _open(tls_server, "127.0.0.1", tlsCAFile=str(pki.ca), tlsAllowInvalidHostnames=True)
    try:
        assert conn.command("admin", {"ping": 1})["ok"] == 1
    finally:
        conn.close()


@pytest.fixture(scope="module")
def x509_server(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestServer]:
    storage = ["--storage-path", str(tmp_path_factory.mktemp("x509-storage"))]
    with TestServer([*_tls_args(pki), *storage]) as server:
        conn = _open(server, "localhost", tlsCAFile=str(pki.ca))
        try:
            conn.command("$external", {"createUser": pki.client_subject,
                                       "roles": [{"role": "root", "db": "admin"}],
                                       "mechanisms": ["MONGODB-X509"]})
        finally:
            conn.close()
    with TestServer([*_tls_args(pki), *storage, "--auth"]) as server:
        yield server


def test_x509_client_certificate_authenticates(x509_server: TestServer, pki: Pki) -> None:
    ctx = build_ssl_context(
        {"tls": True, "tlsCAFile": str(pki.ca), "tlsCertificateKeyFile": str(pki.client)}
    )
    credential = MongoCredential("MONGODB-X509", "$external", None)
    settings = ConnectionSettings(ssl_context=ctx, credential=credential, connect_timeout=10.0)
    conn = Connection.open(("localhost", x509_server.port), settings)
    try:
        status = conn.command("admin", {"connectionStatus": 1})
        users = status["authInfo"]["authenticatedUsers"]
        assert users == [{"user": pki.client_subject, "db": "$external"}]
    finally:
        conn.close()
