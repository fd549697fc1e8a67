"""The handshake: client metadata (fields, FaaS/container env, the 512-byte limit),
the first command's shape, and the wire-version compatibility check."""

from __future__ import annotations

import pytest

from driver.bson import encode
from driver.errors import ConfigurationError
from driver.protocol.handshake import (
    MAX_METADATA_BYTES,
    MAX_SUPPORTED_WIRE_VERSION,
    MIN_SUPPORTED_WIRE_VERSION,
    HelloReply,
    PlatformFacts,
    check_wire_version,
    client_metadata,
    default_platform_facts,
    handshake_command,
)

FACTS = PlatformFacts("Linux", "Debian GNU/Linux 12", "x86_64", "6.1.0", "CPython 3.11.7")


def test_metadata_has_the_required_fields() -> None:
    meta = client_metadata(FACTS, environ={}, in_docker=False)
    assert "application" not in meta  # no default appname, per the spec
    assert meta["driver"]["name"] == "feldspar" and meta["driver"]["version"]
    assert meta["os"] == {
        "type": "Linux",
        "name": "Debian GNU/Linux 12",
        "architecture": "x86_64",
        "version": "6.1.0",
    }
    assert meta["platform"] == "CPython 3.11.7"
    assert "env" not in meta


def test_real_platform_facts_fit() -> None:
    meta = client_metadata(default_platform_facts(), appname="x" * 128)
    assert len(encode(meta)) <= MAX_METADATA_BYTES
    assert meta["os"]["type"]


def test_appname_limit_is_128_bytes_of_utf8() -> None:
    client_metadata(FACTS, appname="é" * 64, environ={}, in_docker=False)
    with pytest.raises(ConfigurationError, match="128 bytes"):
        client_metadata(FACTS, appname="é" * 65, environ={}, in_docker=False)


def test_driver_info_is_appended_with_a_bar() -> None:
    meta = client_metadata(
        FACTS, environ={}, in_docker=False, driver_info=[("odm", "1.0", "Pydantic 2")]
    )
    assert meta["driver"]["name"] == "feldspar|odm"
    assert meta["driver"]["version"].endswith("|1.0")
    assert meta["platform"] == "CPython 3.11.7|Pydantic 2"
    with pytest.raises(ConfigurationError, match=r"must not contain '\|'"):
        client_metadata(FACTS, environ={}, in_docker=False, driver_info=[("a|b", None, None)])


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.11", "AWS_REGION": "eu-north-1",
             "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"},
            {"name": "aws.lambda", "region": "eu-north-1", "memory_mb": 1024},
        ),
        ({"AWS_EXECUTION_ENV": "EC2"}, None),  # must start with AWS_Lambda_
        ({"AWS_LAMBDA_RUNTIME_API": "x", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "big"},
         {"name": "aws.lambda"}),  # a wrong type is omitted, not an error
        ({"FUNCTIONS_WORKER_RUNTIME": "python"}, {"name": "azure.func"}),
        (
            {"K_SERVICE": "svc", "FUNCTION_MEMORY_MB": "256", "FUNCTION_TIMEOUT_SEC": "60",
             "FUNCTION_REGION": "us-east1"},
            {"name": "gcp.func", "memory_mb": 256, "timeout_sec": 60, "region": "us-east1"},
        ),
        ({"VERCEL": "1", "VERCEL_REGION": "cdg1"}, {"name": "vercel", "region": "cdg1"}),
        ({"VERCEL": "1", "AWS_LAMBDA_RUNTIME_API": "x"}, {"name": "vercel"}),  # vercel wins
        ({"FUNCTIONS_WORKER_RUNTIME": "p", "K_SERVICE": "s"}, None),  # ambiguous: omitted
        ({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, {"container": {"orchestrator": "kubernetes"}}),
    ],
)
def test_env_detection(environ: dict[str, str], expected: dict[str, object] | None) -> None:
    meta = client_metadata(FACTS, environ=environ, in_docker=False)
    assert meta.get("env") == expected


def test_docker_and_faas_are_both_reported() -> None:
    meta = client_metadata(FACTS, environ={"FUNCTIONS_WORKER_RUNTIME": "p"}, in_docker=True)
    assert meta["env"] == {"name": "azure.func", "container": {"runtime": "docker"}}


def test_oversized_metadata_is_shrunk_in_the_spec_order() -> None:
    long_os = PlatformFacts("Linux", "n" * 150, "a" * 50, "v" * 50, "CPython " + "p" * 100)
    environ = {"AWS_EXECUTION_ENV": "AWS_Lambda_x", "AWS_REGION": "r" * 100}
    meta = client_metadata(long_os, environ=environ, in_docker=False, appname="app")
    assert len(encode(meta)) <= MAX_METADATA_BYTES
    # 1. env fields but the name go first, 2. then os fields but the type.
    assert meta["env"] == {"name": "aws.lambda"}
    assert meta["os"] == {"type": "Linux"}
    assert meta["platform"].startswith("CPython ")

    huge_platform = PlatformFacts("Linux", None, None, None, "CPython " + "p" * 1000)
    meta = client_metadata(huge_platform, environ=environ, in_docker=False)
    # 3. then env goes, 4. then the platform string is cut to fit.
    assert "env" not in meta
    assert len(encode(meta)) <= MAX_METADATA_BYTES
    assert meta["platform"].startswith("CPython pp")


def test_legacy_and_modern_handshake_commands() -> None:
    meta = client_metadata(FACTS, environ={}, in_docker=False)
    legacy = handshake_command(meta, legacy=True, compressors=["zstd", "zlib"],
                               sasl_supported_mechs="admin.ada",
                               speculative_authenticate={"saslStart": 1})
    assert list(legacy)[:3] == ["isMaster", "helloOk", "client"]
    assert legacy["compression"] == ["zstd", "zlib"]
    assert legacy["saslSupportedMechs"] == "admin.ada"
    assert legacy["speculativeAuthenticate"] == {"saslStart": 1}
    modern = handshake_command(meta, legacy=False, load_balanced=True,
                               server_api={"apiVersion": "1"})
    assert modern["hello"] == 1 and modern["loadBalanced"] is True
    assert modern["apiVersion"] == "1" and "compression" not in modern
    with pytest.raises(ConfigurationError):
        handshake_command(meta, legacy=True, load_balanced=True)


def test_hello_reply_defaults_and_fields() -> None:
    reply = HelloReply.from_document({"ok": 1, "ismaster": True, "maxWireVersion": 6})
    assert reply.is_writable_primary and reply.max_wire_version == 6
    assert reply.max_bson_object_size == 16 * 1024 * 1024
    assert reply.max_message_size_bytes == 48_000_000
    assert reply.max_write_batch_size == 100_000
    assert reply.sasl_supported_mechs is None and not reply.hello_ok
    reply = HelloReply.from_document(
        {"isWritablePrimary": False, "msg": "isdbgrid", "helloOk": True,
         "compression": ["zlib"], "saslSupportedMechs": ["SCRAM-SHA-256"]}
    )
    assert reply.is_mongos and reply.hello_ok and reply.compression == ("zlib",)
    assert reply.sasl_supported_mechs == ("SCRAM-SHA-256",)


@pytest.mark.parametrize(
    ("low", "high", "ok"),
    [
        (0, 5, False),  # MongoDB 3.4: too old
        (0, 6, True),  # MongoDB 3.6 / DocumentDB 3.6
        (0, 7, True),  # DocumentDB 4.0 (which PyMongo 4.14+ refuses)
        (0, 27, True),  # SecantusDB, MongoDB 8.2
        (6, 99, True),  # a newer server that still speaks our range
        (MAX_SUPPORTED_WIRE_VERSION + 1, 99, False),  # a server that refuses all we speak
    ],
)
def test_wire_version_compatibility(low: int, high: int, ok: bool) -> None:
    reply = HelloReply.from_document({"minWireVersion": low, "maxWireVersion": high})
    if ok:
        check_wire_version(reply, "db:27017")
        return
    with pytest.raises(ConfigurationError) as info:
        check_wire_version(reply, "db:27017")
    text = str(info.value)
    assert f"[{low}, {high}]" in text and "db:27017" in text
    assert str(MIN_SUPPORTED_WIRE_VERSION) in text
