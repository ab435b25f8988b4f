"""Socket.IO handshakes from a foreign web page are refused, on a real server."""

import pytest
import socketio

from app import create_app
from app.config import ConfigError, load_config
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


def _engine_io_origins(app) -> object:
    return app.extensions["socketio"].server.eio.cors_allowed_origins


@pytest.mark.parametrize("configured", [[], ["https://chat.example"]])
def test_allowed_origins_are_never_a_wildcard_or_unchecked(sqlite_databases, configured):
    """Engine.IO allows every origin for '*' and checks none for [] (it "disables CORS handling"):
    the server must get None (the site's own origin only) or an explicit list."""
    url = sqlite_databases.create()
    app = create_app(app_config(url, SOCKETIO_CORS_ALLOWED_ORIGINS=configured))
    origins = _engine_io_origins(app)
    assert origins is None or (isinstance(origins, list) and origins and all("*" not in o for o in origins)), origins
    assert origins == (configured or None)
    sqlite_databases.drop(url)


@pytest.mark.parametrize("value", ["*", "https://chat.example,*", "https://*.example"])
def test_a_wildcard_origin_is_refused_at_start(monkeypatch, tmp_path, value):
    """An operator cannot open the sockets to every site by configuration."""
    monkeypatch.setenv("SOCKETIO_ALLOWED_ORIGINS", value)
    with pytest.raises(ConfigError, match="never"):
        load_config(str(tmp_path))
