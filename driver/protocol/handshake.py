"""The connection handshake: the first ``hello`` a connection sends, and its reply.

Pure: the client metadata is built from values the caller passes in (platform facts,
environment variables), so tests can pin every field; ``default_platform_facts()``
reads the real machine once.

Per the handshake spec the first message is a legacy ``isMaster`` with
``helloOk: true`` over OP_QUERY, unless a server API version is declared or the client
is load balanced (then ``hello`` over OP_MSG). Servers older than wire version 6
(MongoDB 3.6) are refused with an error naming both ranges.

Example::

    >>> facts = PlatformFacts("Linux", "Debian 12", "x86_64", "6.1", "CPython 3.11.7")
    >>> meta = client_metadata(facts, appname="billing", environ={})
    >>> meta["application"], meta["driver"]["name"], meta["os"]["type"]
    ({'name': 'billing'}, 'feldspar', 'Linux')
    >>> cmd = handshake_command(meta, legacy=True, compressors=["zlib"])
    >>> list(cmd)[:3]
    ['isMaster', 'helloOk', 'client']
    >>> check_wire_version(HelloReply.from_document({"ok": 1, "maxWireVersion": 4}), "db1:27017")
    Traceback (most recent call last):
    ...
    driver.errors.ConfigurationError: Server at db1:27017 reports wire version range [0, 4], but this version of Feldspar requires at least 6 (MongoDB 3.6 / Amazon DocumentDB 3.6)
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from driver.bson import encode
from driver.errors import ConfigurationError

__all__ = [
    "MAX_APPNAME_BYTES",
    "MAX_METADATA_BYTES",
    "MAX_SUPPORTED_WIRE_VERSION",
    "MIN_SUPPORTED_WIRE_VERSION",
    "HelloReply",
    "PlatformFacts",
    "check_wire_version",
    "client_metadata",
    "default_platform_facts",
    "handshake_command",
]

DRIVER_NAME = "feldspar"
# MongoDB 3.6 and Amazon DocumentDB 3.6 are the oldest servers this driver speaks to.
MIN_SUPPORTED_WIRE_VERSION = 6
# MongoDB 8.2. A newer server is still accepted as long as its own minimum is not above
# this; only a server that refuses everything we speak is incompatible.
MAX_SUPPORTED_WIRE_VERSION = 27
MAX_METADATA_BYTES = 512
MAX_APPNAME_BYTES = 128

_DEFAULT_MAX_BSON_SIZE = 16 * 1024 * 1024
_DEFAULT_MAX_MESSAGE_SIZE = 48_000_000
_DEFAULT_MAX_WRITE_BATCH_SIZE = 100_000


def _driver_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("feldspar")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"


@dataclass(frozen=True)
class PlatformFacts:
    """What the metadata says about the machine (``uname`` and the interpreter)."""

    os_type: str
    os_name: str | None
    architecture: str | None
    os_version: str | None
    platform: str


def default_platform_facts() -> PlatformFacts:
    """The facts of the machine this process runs on."""
    uname = platform.uname()
    implementation = platform.python_implementation()
    version = ".".join(str(part) for part in sys.version_info[:3])
    return PlatformFacts(
        os_type=uname.system or "unknown",
        os_name=platform.platform(terse=True) or None,
        architecture=uname.machine or None,
        os_version=uname.release or None,
        platform=f"{implementation} {version}",
    )


def _int_env(environ: Mapping[str, str], name: str) -> int | None:
    try:
        value = int(environ[name])
    except (KeyError, ValueError):
        return None
    return value if -(2**31) <= value < 2**31 else None


def _faas_env(environ: Mapping[str, str]) -> dict[str, Any]:
    aws = environ.get("AWS_EXECUTION_ENV", "").startswith("AWS_Lambda_") or bool(
        environ.get("AWS_LAMBDA_RUNTIME_API")
    )
    azure = bool(environ.get("FUNCTIONS_WORKER_RUNTIME"))
    gcp = bool(environ.get("K_SERVICE") or environ.get("FUNCTION_NAME"))
    vercel = bool(environ.get("VERCEL"))
    found = [name for name, present in (("aws", aws), ("azure", azure), ("gcp", gcp)) if present]
    if vercel and found in ([], ["aws"]):
        env: dict[str, Any] = {"name": "vercel"}
        if environ.get("VERCEL_REGION"):
            env["region"] = environ["VERCEL_REGION"]
        return env
    if vercel or len(found) != 1:
        # No provider, or an ambiguous mix: the spec says to send no FaaS fields.
        return {}
    if found == ["aws"]:
        env = {"name": "aws.lambda"}
        if environ.get("AWS_REGION"):
            env["region"] = environ["AWS_REGION"]
        memory = _int_env(environ, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        if memory is not None:
            env["memory_mb"] = memory
        return env
    if found == ["azure"]:
        return {"name": "azure.func"}
    env = {"name": "gcp.func"}
    memory = _int_env(environ, "FUNCTION_MEMORY_MB")
    if memory is not None:
        env["memory_mb"] = memory
    timeout = _int_env(environ, "FUNCTION_TIMEOUT_SEC")
    if timeout is not None:
        env["timeout_sec"] = timeout
    if environ.get("FUNCTION_REGION"):
        env["region"] = environ["FUNCTION_REGION"]
    return env


def _container_env(environ: Mapping[str, str], in_docker: bool) -> dict[str, str]:
    container: dict[str, str] = {}
    if in_docker:
        container["runtime"] = "docker"
    if environ.get("KUBERNETES_SERVICE_HOST"):
        container["orchestrator"] = "kubernetes"
    return container


def _size(document: Mapping[str, Any]) -> int:
    return len(encode(document))


def client_metadata(
    facts: PlatformFacts,
    *,
    appname: str | None = None,
    environ: Mapping[str, str] | None = None,
    in_docker: bool | None = None,
    driver_info: Sequence[tuple[str, str | None, str | None]] = (),
) -> dict[str, Any]:
    """The ``client`` document of the handshake, within the spec's 512-byte limit.

    ``driver_info`` holds (name, version, platform) of libraries wrapping the driver
    (an ODM, a framework); each is appended with ``|`` as the spec says.
    """
    if appname is not None and len(appname.encode("utf-8")) > MAX_APPNAME_BYTES:
        raise ConfigurationError(
            f"appname must be at most {MAX_APPNAME_BYTES} bytes in UTF-8, "
            f"got {len(appname.encode('utf-8'))}"
        )
    names, versions, platforms = [DRIVER_NAME], [_driver_version()], [facts.platform]
    for name, version, extra_platform in driver_info:
        for part in (name, version, extra_platform):
            if part is not None and "|" in part:
                raise ConfigurationError(f"driver info {part!r} must not contain '|'")
        names.append(name)
        if version:
            versions.append(version)
        if extra_platform:
            platforms.append(extra_platform)
    environ = os.environ if environ is None else environ
    if in_docker is None:
        in_docker = environ is os.environ and os.path.exists("/.dockerenv")

    meta: dict[str, Any] = {}
    if appname is not None:
        meta["application"] = {"name": appname}
    meta["driver"] = {"name": "|".join(names), "version": "|".join(versions)}
    os_doc: dict[str, Any] = {"type": facts.os_type or "unknown"}
    for key, value in (
        ("name", facts.os_name),
        ("architecture", facts.architecture),
        ("version", facts.os_version),
    ):
        if value:
            os_doc[key] = value
    meta["os"] = os_doc
    meta["platform"] = "|".join(platforms)
    env = _faas_env(environ)
    container = _container_env(environ, in_docker)
    if container:
        env["container"] = container
    if env:
        meta["env"] = env

    # Shrink in the spec's order until the document fits.
    if _size(meta) > MAX_METADATA_BYTES and "env" in meta:
        meta["env"] = {k: v for k, v in meta["env"].items() if k == "name"}
        if not meta["env"]:
            del meta["env"]
    if _size(meta) > MAX_METADATA_BYTES:
        meta["os"] = {"type": meta["os"]["type"]}
    if _size(meta) > MAX_METADATA_BYTES:
        meta.pop("env", None)
    excess = _size(meta) - MAX_METADATA_BYTES
    if excess > 0:
        text = meta["platform"].encode("utf-8")
        meta["platform"] = text[: max(0, len(text) - excess)].decode("utf-8", "ignore")
    return meta


def handshake_command(
    metadata: Mapping[str, Any],
    *,
    legacy: bool,
    compressors: Sequence[str] = (),
    load_balanced: bool = False,
    server_api: Mapping[str, Any] | None = None,
    sasl_supported_mechs: str | None = None,
    speculative_authenticate: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The first command of a connection (without ``$db``: it is sent to ``admin``).

    ``legacy=True`` gives ``isMaster`` for OP_QUERY; it is refused together with a
    server API or load balancing, which the spec sends as ``hello`` over OP_MSG.
    """
    if legacy and (load_balanced or server_api):
        raise ConfigurationError(
            "the legacy isMaster handshake cannot be used with loadBalanced or serverApi"
        )
    cmd: dict[str, Any] = {"isMaster": 1} if legacy else {"hello": 1}
    cmd["helloOk"] = True
    cmd["client"] = dict(metadata)
    if compressors:
        cmd["compression"] = list(compressors)
    if load_balanced:
        cmd["loadBalanced"] = True
    if server_api:
        cmd.update(server_api)
    if sasl_supported_mechs is not None:
        cmd["saslSupportedMechs"] = sasl_supported_mechs
    if speculative_authenticate is not None:
        cmd["speculativeAuthenticate"] = dict(speculative_authenticate)
    return cmd


@dataclass(frozen=True)
class HelloReply:
    """The parts of a ``hello``/``isMaster`` reply a connection needs."""

    document: Mapping[str, Any] = field(repr=False)
    is_writable_primary: bool
    min_wire_version: int
    max_wire_version: int
    max_bson_object_size: int
    max_message_size_bytes: int
    max_write_batch_size: int
    logical_session_timeout_minutes: int | None
    compression: tuple[str, ...]
    sasl_supported_mechs: tuple[str, ...] | None
    speculative_authenticate: Mapping[str, Any] | None
    hello_ok: bool
    connection_id: int | None
    service_id: Any
    set_name: str | None
    is_mongos: bool

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> HelloReply:
        """Read a reply; missing limits get the server defaults."""
        mechs = doc.get("saslSupportedMechs")
        return cls(
            document=doc,
            is_writable_primary=bool(doc.get("isWritablePrimary", doc.get("ismaster", False))),
            min_wire_version=int(doc.get("minWireVersion", 0)),
            max_wire_version=int(doc.get("maxWireVersion", 0)),
            max_bson_object_size=int(doc.get("maxBsonObjectSize", _DEFAULT_MAX_BSON_SIZE)),
            max_message_size_bytes=int(doc.get("maxMessageSizeBytes", _DEFAULT_MAX_MESSAGE_SIZE)),
            max_write_batch_size=int(doc.get("maxWriteBatchSize", _DEFAULT_MAX_WRITE_BATCH_SIZE)),
            logical_session_timeout_minutes=doc.get("logicalSessionTimeoutMinutes"),
            compression=tuple(doc.get("compression") or ()),
            sasl_supported_mechs=None if mechs is None else tuple(mechs),
            speculative_authenticate=doc.get("speculativeAuthenticate"),
            hello_ok=bool(doc.get("helloOk", False)),
            connection_id=doc.get("connectionId"),
            service_id=doc.get("serviceId"),
            set_name=doc.get("setName"),
            is_mongos=doc.get("msg") == "isdbgrid",
        )


def check_wire_version(reply: HelloReply, address: str) -> None:
    """Refuse a server whose wire-version range does not meet ours (ConfigurationError)."""
    low, high = reply.min_wire_version, reply.max_wire_version
    if high < MIN_SUPPORTED_WIRE_VERSION:
        raise ConfigurationError(
            f"Server at {address} reports wire version range [{low}, {high}], but this "
            f"version of Feldspar requires at least {MIN_SUPPORTED_WIRE_VERSION} "
            "(MongoDB 3.6 / Amazon DocumentDB 3.6)"
        )
    if low > MAX_SUPPORTED_WIRE_VERSION:
        raise ConfigurationError(
            f"Server at {address} requires wire version {low} or newer (range [{low}, "
            f"{high}]), but this version of Feldspar speaks [{MIN_SUPPORTED_WIRE_VERSION}, "
            f"{MAX_SUPPORTED_WIRE_VERSION}]: upgrade Feldspar"
        )
