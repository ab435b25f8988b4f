"""Socket.IO handshakes from a foreign web page are refused, on a real server."""

import pytest
import socketio

from app import create_app
from tests.conftest import app_config


def connect_from(origin: str, transport: str, url: str, cookie: str) -> socketio.Client:
    """Open a socket whose handshake carries `origin`, as a page on that origin would."""
    if transport == "websocket":
        # websocket-client writes the Origin header itself; a second one would garble it.
        client = socketio.Client(reconnection=False, websocket_extra_options={"origin": origin})
        headers = {"Cookie": cookie}
    else:
        client = socketio.Client(reconnection=False)
        headers = {"Cookie": cookie, "Origin": origin}
    client.connect(url, headers=headers, transports=[transport], wait_timeout=5)
    return client


@pytest.mark.parametrize("transport", ["websocket", "polling"])
@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1.evil.example"])
def test_a_foreign_origin_cannot_open_a_socket(live_server, http_user, transport, origin):
    user = http_user().register()
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect_from(origin, transport, live_server.url, user.cookie_header)


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_the_sites_own_origin_may_open_a_socket(live_server, http_user, transport):
    user = http_user().register()
    client = connect_from(live_server.url, transport, live_server.url, user.cookie_header)
    try:
        assert client.connected
    finally:
        client.disconnect()


def test_allowed_origins_are_never_a_wildcard(sqlite_databases):
    """Only the site's own origin (None = same origin) or an explicit list may open sockets."""
    url = sqlite_databases.create()
    app = create_app(app_config(url))
    origins = app.config["SOCKETIO_CORS_ALLOWED_ORIGINS"]
    assert origins == [] or (isinstance(origins, list) and "*" not in origins)
    assert app.extensions["socketio"].server.eio.cors_allowed_origins in (None, [])
    sqlite_databases.drop(url)
