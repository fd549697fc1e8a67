"""``mongodb+srv://``: turn one DNS name into a seed list and default options.

Two layers, so the rules are testable without DNS:

- :func:`apply_srv_records` is pure: given the parsed URI and the SRV and TXT answers,
  it checks them (every SRV target must lie under the URI host's parent domain; at
  most one TXT record, which may set only ``authSource``, ``replicaSet`` and
  ``loadBalanced``), merges the options (the connection string and keyword arguments
  win over TXT; ``tls`` defaults to true), applies ``srvMaxHosts`` with an injectable
  random generator, and checks the merged options as a whole.
- :func:`resolve_srv_uri` asks an :class:`SrvResolver` for the records and calls it.
  The default resolver, :class:`DnsPythonResolver`, imports dnspython only when it is
  used, with ``connectTimeoutMS`` as the DNS timeout. It is a plain blocking
  function; the async client runs it in a thread.

Errors are :class:`~driver.errors.ConfigurationError` and name the DNS name involved.

Example::

    >>> from driver.srv import apply_srv_records
    >>> from driver.uri import parse_uri
    >>> parsed = parse_uri("mongodb+srv://cluster0.example.com/?authSource=admin")
    >>> result = apply_srv_records(
    ...     parsed,
    ...     [("db1.example.com.", 27017), ("db2.example.com.", 27018)],
    ...     ["replicaSet=rs0&authSource=other"],
    ... )
    >>> result.nodelist
    [('db1.example.com', 27017), ('db2.example.com', 27018)]
    >>> result.options
    URIOptions({'replicaSet': 'rs0', 'authSource': 'admin', 'tls': True})
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from driver.errors import ConfigurationError, PyMongoError
from driver.options import URIOptions, check_combinations, normalize_names
from driver.uri import ParsedURI, split_options

__all__ = [
    "DEFAULT_DNS_TIMEOUT",
    "TXT_OPTIONS",
    "DnsPythonResolver",
    "SrvResolution",
    "SrvResolver",
    "apply_srv_records",
    "polled_hosts",
    "resolve_srv_uri",
]

# The only options a TXT record may set (initial DNS seedlist discovery spec).
TXT_OPTIONS = ("authSource", "replicaSet", "loadBalanced")
# Seconds, when connectTimeoutMS is not set: PyMongo's default connect timeout.
DEFAULT_DNS_TIMEOUT = 20.0


class SrvResolver(Protocol):
    """Where SRV and TXT answers come from (DNS by default; a stub in tests)."""

    def resolve_srv(self, name: str) -> list[tuple[str, int]]:
        """``(target, port)`` of every SRV record of ``name``; ``[]`` if it has none."""
        ...

    def resolve_txt(self, name: str) -> list[str]:
        """Each TXT record of ``name``, its strings joined; ``[]`` if it has none."""
        ...


class DnsPythonResolver:
    """The default resolver: dnspython, with ``timeout`` seconds per query.

    ``timeout=None`` keeps dnspython's own default lifetime.
    """

    def __init__(self, timeout: float | None = DEFAULT_DNS_TIMEOUT) -> None:
        self.timeout = timeout

    def _query(self, name: str, rdtype: str) -> list[Any]:
        # Imported here so that `import driver` stays fast and works without DNS.
        try:
            import dns.exception
            import dns.resolver
        except ImportError as exc:  # pragma: no cover - dnspython is a dependency
            raise ConfigurationError(
                "mongodb+srv:// needs dnspython: pip install dnspython"
            ) from exc
        try:
            answer = dns.resolver.resolve(name, rdtype, lifetime=self.timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as exc:
            raise ConfigurationError(f"DNS {rdtype} query for {name!r} failed: {exc}") from exc
        return list(answer)

    def resolve_srv(self, name: str) -> list[tuple[str, int]]:
        """``(target, port)`` of every SRV record of ``name``."""
        return [
            (str(record.target.to_text(omit_final_dot=True)), int(record.port))
            for record in self._query(name, "SRV")
        ]

    def resolve_txt(self, name: str) -> list[str]:
        """Each TXT record of ``name``, its character strings joined in order."""
        texts = []
        for record in self._query(name, "TXT"):
            try:
                texts.append(b"".join(record.strings).decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise ConfigurationError(f"A TXT record of {name!r} is not UTF-8") from exc
        return texts


@dataclass(frozen=True)
class SrvResolution:
    """The outcome: the seed list and the merged, validated options."""

    nodelist: list[tuple[str, int]]
    options: URIOptions


def _parent_domain(fqdn: str) -> tuple[str, bool]:
    # Three or more labels: the parent is everything after the first label. One or
    # two: the name itself, and targets must add at least one label below it.
    labels = fqdn.split(".")
    if len(labels) >= 3:
        return ".".join(labels[1:]), False
    return fqdn, True


def _normalize(host: str) -> str:
    host = host.lower()
    return host[:-1] if host.endswith(".") else host


def apply_srv_records(
    parsed: ParsedURI,
    srv_records: Sequence[tuple[str, int]],
    txt_records: Sequence[str],
    *,
    options: Mapping[str, Any] | None = None,
    rng: random.Random | None = None,
    warn: bool = False,
) -> SrvResolution:
    """The seed list and options for a ``mongodb+srv://`` URI, given its DNS answers.

    ``options`` are the client's options (the URI's merged with keyword arguments,
    see :func:`driver.options.validate_client_kwargs`); they default to
    ``parsed.options`` and always win over the TXT record. ``rng`` picks the hosts
    when ``srvMaxHosts`` is smaller than the answer (a Fisher-Yates shuffle);
    ``warn`` treats invalid TXT values as :func:`driver.uri.parse_uri` does.

    >>> from driver.uri import parse_uri
    >>> parsed = parse_uri("mongodb+srv://cluster0.example.com/")
    >>> apply_srv_records(parsed, [("evil.example.org", 27017)], [])
    Traceback (most recent call last):
    ...
    driver.errors.ConfigurationError: SRV record target 'evil.example.org' of cluster0.example.com is not under its parent domain 'example.com': it must end in '.example.com'
    """
    fqdn = parsed.fqdn
    if not parsed.is_srv or fqdn is None:
        raise ConfigurationError("SRV records apply only to a mongodb+srv:// connection string")
    client_options = normalize_names(parsed.options if options is None else options)
    service = client_options.get("srvServiceName", "mongodb")
    if not srv_records:
        raise ConfigurationError(
            f"No SRV records found for _{service}._tcp.{fqdn}: the name cannot be used to "
            "find hosts"
        )
    parent, short = _parent_domain(fqdn)
    nodes: list[tuple[str, int]] = []
    for target, port in srv_records:
        host = _normalize(target)
        if not host.endswith("." + parent):
            hint = " (a short SRV name's targets must add a label below it)" if short else ""
            raise ConfigurationError(
                f"SRV record target {target!r} of {fqdn} is not under its parent domain "
                f"{parent!r}: it must end in '.{parent}'{hint}"
            )
        if (host, port) not in nodes:
            nodes.append((host, port))
    if len(txt_records) > 1:
        raise ConfigurationError(
            f"{fqdn} has {len(txt_records)} TXT records; at most one is allowed"
        )
    merged = URIOptions()
    if txt_records:
        try:
            merged.update(split_options(txt_records[0], warn=warn, allowed=TXT_OPTIONS))
        except ConfigurationError as exc:
            raise ConfigurationError(f"The TXT record of {fqdn} is invalid: {exc}") from exc
    merged.update(client_options)
    if "tls" not in merged:
        merged["tls"] = True  # the spec: mongodb+srv implies TLS unless the client says no
    max_hosts = merged.get("srvMaxHosts", 0)
    if 0 < max_hosts < len(nodes):
        chosen = list(nodes)
        (rng if rng is not None else random.Random()).shuffle(chosen)
        nodes = chosen[:max_hosts]
    check_combinations(merged, seed_count=len(nodes), is_srv=True)
    return SrvResolution(nodes, merged)


def polled_hosts(
    fqdn: str,
    current: Sequence[tuple[str, int | None]],
    srv_records: Sequence[tuple[str, int]],
    *,
    max_hosts: int = 0,
    rng: random.Random | None = None,
) -> list[tuple[str, int]] | None:
    """The mongos list after a re-read of the SRV records (SRV polling), or None to keep
    the current one (no valid record: DNS trouble must not empty the topology).

    Records not under the parent domain are dropped. With ``max_hosts``, the current
    hosts that are still listed stay, and new ones are picked at random to fill up.

    >>> polled_hosts("db.example.com", [("a.example.com", 27017)],
    ...              [("a.example.com", 27017), ("b.example.com", 27017), ("evil.org", 1)])
    [('a.example.com', 27017), ('b.example.com', 27017)]
    >>> polled_hosts("db.example.com", [("a.example.com", 27017)], []) is None
    True
    """
    parent, _ = _parent_domain(fqdn)
    valid: list[tuple[str, int]] = []
    for target, port in srv_records:
        host = _normalize(target)
        if host.endswith("." + parent) and (host, port) not in valid:
            valid.append((host, port))
    if not valid:
        return None
    if not 0 < max_hosts < len(valid):
        return valid
    kept = [address for address in valid if address in current][:max_hosts]
    fresh = [address for address in valid if address not in kept]
    (rng if rng is not None else random.Random()).shuffle(fresh)
    return kept + fresh[: max_hosts - len(kept)]


def resolve_srv_uri(
    parsed: ParsedURI,
    resolver: SrvResolver | None = None,
    *,
    options: Mapping[str, Any] | None = None,
    rng: random.Random | None = None,
    warn: bool = False,
) -> SrvResolution:
    """Query DNS for a ``mongodb+srv://`` URI and apply the answers.

    ``resolver`` defaults to :class:`DnsPythonResolver` with ``connectTimeoutMS``
    (from ``options`` or the URI) as its timeout. Errors from a resolver that are
    not driver errors are wrapped in :class:`~driver.errors.ConfigurationError`.

    >>> from driver.uri import parse_uri
    >>> class Stub:
    ...     def resolve_srv(self, name): return [("a.example.com", 27017)]
    ...     def resolve_txt(self, name): return []
    >>> resolve_srv_uri(parse_uri("mongodb+srv://db.example.com"), Stub()).nodelist
    [('a.example.com', 27017)]
    """
    fqdn = parsed.fqdn
    if not parsed.is_srv or fqdn is None:
        raise ConfigurationError("Only a mongodb+srv:// connection string needs DNS resolution")
    client_options = normalize_names(parsed.options if options is None else options)
    if resolver is None:
        timeout_ms = client_options.get("connectTimeoutMS")
        timeout = DEFAULT_DNS_TIMEOUT if timeout_ms is None else (timeout_ms / 1000 or None)
        resolver = DnsPythonResolver(timeout)
    service = client_options.get("srvServiceName", "mongodb")
    srv_name = f"_{service}._tcp.{fqdn}"
    try:
        srv_records = resolver.resolve_srv(srv_name)
        txt_records = resolver.resolve_txt(fqdn)
    except PyMongoError:
        raise
    except Exception as exc:
        raise ConfigurationError(f"DNS resolution of {fqdn!r} failed: {exc}") from exc
    return apply_srv_records(
        parsed, srv_records, txt_records, options=client_options, rng=rng, warn=warn
    )
