"""Which addresses an endpoint may reach. No Django here.

A base URL is checked when it is saved (`check_base_url`), and every connection is checked
again when it is made (`GuardedTransport`): the name is resolved, every address it resolves
to is checked, and the socket is opened to one of those checked addresses. A name that
resolved to a public address when saved and to 169.254.169.254 later (DNS rebinding) is
refused before a byte (or an API key) is sent.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import httpcore2 as httpcore
import httpx2 as httpx

# Cloud metadata services: an endpoint pointing there could read the machine's credentials.
METADATA_HOSTS = {
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
}
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("fd00:ec2::254"),  # AWS IPv6
}


class UnsafeURL(ValueError):
    pass


# IPv6 forms that carry an IPv4 address inside them, which a resolver or a NAT64 gateway may
# turn into that IPv4 address: IPv4-compatible (::a9fe:a9fe), NAT64 (RFC 6052 and 8215), 6to4.
# Teredo is checked through ipaddress' own property.
EMBEDDING_IPV4 = (
    ipaddress.ip_network("::/96"),
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("2002::/16"),
)


def refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Link-local, cloud metadata, unspecified, and IPv6 forms that embed an IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            address = address.ipv4_mapped
        elif address.is_loopback:
            return False
        elif address.teredo or any(address in net for net in EMBEDDING_IPV4):
            return True
    return address in METADATA_ADDRESSES or address.is_link_local or address.is_unspecified


def check_base_url(url: str, *, resolve: bool = True) -> str:
    """The URL, normalised, or UnsafeURL saying why it is refused.

    Loopback and private addresses are allowed (vLLM or Ollama next door); link-local
    addresses and cloud metadata services are not, also when a name resolves to them.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("The base URL must start with http:// or https://.")
    if parts.username or parts.password:
        raise UnsafeURL("Put no credentials in the base URL; name an API key variable instead.")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeURL("The base URL has no host.")
    if host in METADATA_HOSTS:
        raise UnsafeURL(f"{host} is a cloud metadata service and cannot be an endpoint.")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    addresses = [literal] if literal else []
    if literal is None and resolve:
        try:
            infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError):
            infos = []  # unknown today; checked again by whoever tests the connection
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in addresses:
        if refused(address):
            raise UnsafeURL(f"{host} points to {address}, a link-local or cloud metadata address.")
    return url.strip().rstrip("/")


class GuardedBackend(httpcore.SyncBackend):
    """Opens TCP connections only to checked addresses: resolve, refuse if any address is
    refused, then connect to the checked address itself (so nothing can re-resolve in between).
    TLS still verifies the certificate against the host name (httpcore sends it as SNI)."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            literal = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError) as error:
                raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from None
            addresses = list(
                dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos)
            )
        bad = [a for a in addresses if refused(a)]
        if bad or not addresses:
            raise httpcore.ConnectError(
                f"{host} resolves to {bad[0] if bad else 'nothing'}, a refused address"
            )
        last: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as error:
                last = error
        raise last or httpcore.ConnectError(f"cannot connect to {host}")


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with `GuardedBackend` under its connection pool."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._pool._network_backend = GuardedBackend()
