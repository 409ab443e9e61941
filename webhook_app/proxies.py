"""The client's address behind trusted reverse proxies, for the IP allow-list.

``X-Forwarded-For`` is written by whoever sends the request: believed from anyone, it lets any
client claim one of ML's addresses. werkzeug's ``ProxyFix`` trusts a *number* of hops from
every peer, so a client reaching the app directly (or through one proxy when two were
configured) chose its own address. Here a forwarded address is believed only when it was
written by a proxy of the configured networks (``[webhook] trusted_proxy_networks``):
walking the header from the right (the nearest hop first), each address that belongs to a
trusted network is a proxy and the walk goes on; the first one that does not is the client.
A peer outside those networks is the client whatever its headers say.
"""

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs (``10.0.0.0/8``) or single addresses; ``ValueError`` names a bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or CIDR network") from None
    return tuple(networks)


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(peer: str, forwarded_for: str | None,
                   trusted: tuple[Network, ...]) -> str:
    """The client's address: ``peer`` unless it is a trusted proxy, in which case the
    nearest untrusted hop of ``forwarded_for``. An unreadable hop is returned as it is (the
    allow-list then refuses it)."""
    def is_trusted(text: str) -> bool:
        address = _address(text)
        return address is not None and any(address in net for net in trusted)

    if not trusted or not forwarded_for or not is_trusted(peer):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",")]
    for hop in reversed(hops):
        if not is_trusted(hop):
            return hop
    return hops[0]  # every hop is a trusted proxy: the first one is where it came from


class TrustedProxies:
    """WSGI middleware: ``REMOTE_ADDR`` becomes :func:`client_address`. The peer's own
    address is kept in ``connector.peer_addr``."""

    def __init__(self, app: Callable[..., Any], networks: tuple[Network, ...]) -> None:
        self.app = app
        self.networks = networks

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        peer = environ.get("REMOTE_ADDR", "")
        environ["connector.peer_addr"] = peer
        environ["REMOTE_ADDR"] = client_address(
            peer, environ.get("HTTP_X_FORWARDED_FOR"), self.networks)
        return self.app(environ, start_response)
