"""Which base URLs an endpoint may have. No Django here."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

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


def _refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
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
        if _refused(address):
            raise UnsafeURL(f"{host} points to {address}, a link-local or cloud metadata address.")
    return url.strip().rstrip("/")
