"""Fetching a URL someone pasted, for its link preview, without letting it reach inside our network.

Every hop is checked before anything is sent: http or https only, on port 80 or 443, no user name or
password in the URL; the name is resolved here and refused if ANY of its addresses is not a public
unicast one (private, loopback, link-local, CGNAT, ULA, multicast, reserved, unspecified, a mapped or
embedded private IPv4, the cloud metadata addresses). The connection goes to the address that was
checked (never resolved again: no DNS rebinding), with the name as Host header and TLS SNI (and the
certificate checked against the name). At most MAX_REDIRECTS redirects, each one checked like the
first. No cookies, no credentials, no compression; a deadline over the whole fetch (connect, headers,
body, redirects) and a cap on the body.

`allowed` names "host:port" pairs let through the address check (tests' local server): a pair allows
exactly that host as written in the URL and that port, nothing it redirects to.

Only the standard library: http.client, ssl and socket (green under the server's monkey patching).
"""

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

MAX_REDIRECTS = 3
DEFAULT_PORTS = {"http": 80, "https": 443}
USER_AGENT = "MessangerLinkPreview/1.0 (link preview fetcher; no cookies)"
REDIRECTS = {301, 302, 303, 307, 308}
URL_MAX_LENGTH = 2048

# Addresses Python's ipaddress does not already count as non-global, or that we name anyway.
BLOCKED_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT (shared address space)
        "169.254.0.0/16",  # link-local, with 169.254.169.254 (cloud metadata)
        "192.0.0.0/24",
        "198.18.0.0/15",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",
        "255.255.255.255/32",
        "fc00::/7",  # unique local, with fd00:ec2::254 (cloud metadata)
        "fe80::/10",
        "ff00::/8",
        "64:ff9b:1::/48",
    )
)
METADATA_ADDRESSES = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")


class Refused(Exception):
    """The fetch was not made or was stopped; the message says why (for the logs)."""


@dataclass(frozen=True)
class Policy:
    """The limits of one fetch."""

    timeout: float = 5.0
    max_bytes: int = 1024 * 1024
    allowed: frozenset[str] = frozenset()
    content_types: tuple[str, ...] = ("text/html", "application/xhtml+xml")
    # Stop reading at max_bytes and keep what came (a page's <head> is at its start), or refuse.
    truncate: bool = False


@dataclass(frozen=True)
class Fetched:
    """What a fetch brought back: the final URL (after redirects), its media type and charset, the body."""

    url: str
    content_type: str
    charset: str | None
    body: bytes
    truncated: bool


def address_refusal(address: str) -> str | None:
    """Why we never connect to this IP address (a reason), or None for a public unicast one."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    candidates = [ip]
    if ip.version == 6:
        for embedded in (ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None):
            if embedded is not None:
                candidates.append(embedded)
        if ip in NAT64_PREFIX:
            candidates.append(ipaddress.ip_address(int(ip) & 0xFFFFFFFF))
    for candidate in candidates:
        if candidate in METADATA_ADDRESSES:
            return f"{candidate} is a metadata address"
        if (
            not candidate.is_global
            or candidate.is_private
            or candidate.is_loopback
            or candidate.is_link_local
            or candidate.is_multicast
            or candidate.is_reserved
            or candidate.is_unspecified
            or any(candidate in network for network in BLOCKED_NETWORKS if network.version == candidate.version)
        ):
            return f"{candidate} is not a public address"
    return None


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # as the URL names it (IDNA-encoded), without brackets
    port: int
    path: str
    addresses: tuple[str, ...]


def _check_url(url: str, allowed: frozenset[str], deadline: float) -> _Target:
    """The URL's parts and the checked addresses to connect to, or Refused."""
    if not isinstance(url, str) or len(url) > URL_MAX_LENGTH or any(ord(char) < 33 for char in url):
        raise Refused("not a URL we fetch")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("not a URL we fetch") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise Refused(f"scheme {scheme!r} is not http or https")
    if parts.username is not None or parts.password is not None:
        raise Refused("a URL with credentials")
    if not parts.hostname:
        raise Refused("no host")
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise Refused("a host name that is not valid") from None
    port = port or DEFAULT_PORTS[scheme]
    exempt = f"{_bracketed(host)}:{port}" in allowed
    if port not in DEFAULT_PORTS.values() and not exempt:
        raise Refused(f"port {port} is not 80 or 443")
    addresses = _resolve(host, port, deadline)
    if not exempt:
        for address in addresses:
            reason = address_refusal(address)
            if reason:
                raise Refused(f"{host} resolves to {address}: {reason}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return _Target(scheme, host, port, path, addresses)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _resolve(host: str, port: int, deadline: float) -> tuple[str, ...]:
    try:
        return (str(ipaddress.ip_address(host)),)
    except ValueError:
        pass
    if time.monotonic() >= deadline:
        raise Refused("out of time")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as error:
        raise Refused(f"{host} does not resolve: {error}") from None
    addresses = tuple(dict.fromkeys(info[4][0] for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)))
    if not addresses:
        raise Refused(f"{host} has no address")
    return addresses


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a checked address, speaking to the host by name."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to a checked address, with the host's name as SNI and in the certificate check."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        raw = socket.create_connection((self._address, self.port), self.timeout)
        try:
            self.sock = self._context.wrap_socket(raw, server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise Refused("out of time")
    return left


def fetch(url: str, policy: Policy = Policy()) -> Fetched:
    """GET `url` under `policy` (see the module's docstring); Fetched, or Refused with the reason."""
    deadline = time.monotonic() + policy.timeout
    for _hop in range(MAX_REDIRECTS + 1):
        target = _check_url(url, policy.allowed, deadline)
        response = _request(target, policy, deadline)
        if response is None:
            raise Refused("no address of the host answers")
        status, location, content_type, charset, body, truncated = response
        if status in REDIRECTS:
            if not location:
                raise Refused("a redirect without Location")
            url = urljoin(url, location)
            continue
        if status != 200:
            raise Refused(f"answered {status}")
        return Fetched(url, content_type, charset, body, truncated)
    raise Refused(f"more than {MAX_REDIRECTS} redirects")


def _request(target: _Target, policy: Policy, deadline: float):
    """One GET to the first address of the target that accepts a connection: (status, location,
    content type, charset, body, truncated); None when none did."""
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    for address in target.addresses:
        connection = connection_class(target.host, target.port, address, timeout=_remaining(deadline))
        # Whatever a read is waiting for, the deadline ends it: the socket is shut down under it.
        watchdog = threading.Timer(_remaining(deadline), _shut, (connection,))
        watchdog.daemon = True
        watchdog.start()
        try:
            try:
                connection.connect()
            except OSError:
                continue
            connection.request(
                "GET",
                target.path,
                headers={
                    "User-Agent": USER_AGENT,
                    "Accept": ", ".join((*policy.content_types, "*/*;q=0.1")),
                    "Accept-Encoding": "identity",
                    "Connection": "close",
                },
            )
            response = connection.getresponse()
            if response.status in REDIRECTS:
                return response.status, response.getheader("Location"), "", None, b"", False
            if response.status != 200:
                return response.status, None, "", None, b"", False
            content_type, charset = _media_type(response.getheader("Content-Type", ""))
            if content_type not in policy.content_types:
                raise Refused(f"content type {content_type or 'none'!r} is not one we read")
            body, truncated = _read(response, policy, deadline)
            return 200, None, content_type, charset, body, truncated
        except (OSError, http.client.HTTPException, ValueError) as error:
            if time.monotonic() >= deadline:
                raise Refused("out of time") from None
            raise Refused(f"the fetch failed: {error!r}") from None
        finally:
            watchdog.cancel()
            connection.close()
    return None


def _shut(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _media_type(header: str) -> tuple[str, str | None]:
    message = http.client.HTTPMessage()
    message["Content-Type"] = header
    return message.get_content_type() if header else "", message.get_content_charset()


def _read(response: http.client.HTTPResponse, policy: Policy, deadline: float) -> tuple[bytes, bool]:
    length = response.getheader("Content-Length")
    if length and length.strip().isdigit() and int(length) > policy.max_bytes and not policy.truncate:
        raise Refused(f"the body is larger than {policy.max_bytes} bytes")
    chunks, size = [], 0
    while size <= policy.max_bytes:
        _remaining(deadline)
        chunk = response.read1(min(65536, policy.max_bytes + 1 - size))
        if not chunk:
            if time.monotonic() >= deadline:  # the watchdog shut the socket: not the body's end
                raise Refused("out of time")
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    if not policy.truncate:
        raise Refused(f"the body is larger than {policy.max_bytes} bytes")
    return b"".join(chunks)[: policy.max_bytes], True


def allowed_pairs(entries: Iterable[str]) -> frozenset[str]:
    """LINK_PREVIEW_ALLOWED_HOSTS in the form the check compares: "host:port", lowercase."""
    return frozenset(entry.strip().lower() for entry in entries if entry and entry.strip())
