"""Which requests may say where they came from: X-Forwarded-* and X-Request-ID are believed only on
connections from a configured proxy address (FORWARDED_ALLOW_IPS), and from anyone else removed.

werkzeug's ProxyFix does the reading. It trusts whoever connects, so it runs only after the peer
(REMOTE_ADDR as the server saw it) has been found among the proxy networks.
"""

import ipaddress
from functools import lru_cache

from werkzeug.middleware.proxy_fix import ProxyFix

# What a client must not be able to set by connecting straight to a worker. X-Forwarded-Port stays
# unused even from a proxy: Heroku's "443" would land in Host and fail the socket origin check.
FORWARDED_HEADERS = (
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
    "HTTP_X_REQUEST_ID",
)


class TrustedProxies:
    """WSGI middleware: ProxyFix for requests from `networks` (`hops` X-Forwarded-For entries, the
    nearest proxy's scheme and host); the forwarded headers stripped from every other request."""

    def __init__(self, wsgi_app, hops: int, networks: list[str]):
        self.app = wsgi_app
        self.fixed = ProxyFix(wsgi_app, x_for=hops, x_proto=1, x_host=1)
        self.any_peer = networks == ["*"]
        self.networks = () if self.any_peer else tuple(ipaddress.ip_network(network) for network in networks)
        self.enabled = hops > 0 and (self.any_peer or bool(self.networks))

    def __call__(self, environ, start_response):
        if self.enabled and self.is_proxy(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        for header in FORWARDED_HEADERS:
            environ.pop(header, None)
        return self.app(environ, start_response)

    def is_proxy(self, peer: str | None) -> bool:
        """Whether the connection's address is one of the proxies'."""
        if self.any_peer:
            return True
        address = _address(peer or "")
        return address is not None and any(address in network for network in self.networks)


@lru_cache(maxsize=1024)
def _address(peer: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return None
    # A dual-stack socket reports an IPv4 proxy as ::ffff:a.b.c.d.
    if address.version == 6 and address.ipv4_mapped:
        return address.ipv4_mapped
    return address
