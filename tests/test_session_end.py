"""A session that ends while its sockets stay open (its disconnect missed, say the push was lost):
the next event on such a socket is not carried out; the socket is told the session ended and is
closed. The old cookie opens nothing any more."""

import uuid

import pytest
import socketio
from sqlalchemy import create_engine, text

from app.config import normalize_database_url
from tests.realtime import direct_chat, history

ENDED = {"message": "Your session has ended. Sign in again."}


def _execute(live_server, sql: str, **params) -> None:
    engine = create_engine(normalize_database_url(live_server.database_url))
    with engine.begin() as connection:
        connection.execute(text(sql), params)
    engine.dispose()


def _end_sign_in_without_a_push(live_server, user) -> None:
    """What an operator's password reset does to the user's sessions, with no socket told."""
    _execute(live_server, "UPDATE users SET auth_version = auth_version + 1 WHERE username = :name", name=user.username)


def _delete_session_without_a_push(live_server, user) -> None:
    """What a logout elsewhere does to the session's stored state, with no socket told."""
    _execute(live_server, "DELETE FROM sessions WHERE session_id LIKE :sid", sid="%" + user.http.cookies["session"])


@pytest.mark.parametrize("end", [_end_sign_in_without_a_push, _delete_session_without_a_push])
def test_the_next_event_of_an_ended_session_is_refused_and_the_socket_closed(live_server, http_user, open_socket, end):
    """Whether the user's sign-in was revoked or the session itself deleted: a send on the old socket
    stores nothing, the socket receives session_ended and is disconnected, and the cookie is dead."""
    ana, bob = http_user().register(), http_user().register()
    chat = direct_chat(ana, bob)
    tab = open_socket(ana)
    end(live_server, ana)

    payload = {"conversation_id": chat, "body": "after the end", "client_id": uuid.uuid4().hex}
    # Emitted without waiting for an ack: the socket closes before the refusal's ack could go out.
    tab.client.emit("send_message", payload)
    assert tab.wait_for("session_ended") == [ENDED]
    assert tab.disconnected.wait(10)
    assert history(bob, chat) == []
    page = ana.http.get(ana.base_url + "/settings", allow_redirects=False, timeout=10)
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    with pytest.raises(socketio.exceptions.ConnectionError):
        open_socket(ana)


def test_logout_tells_the_sessions_open_tabs_before_closing_them(http_user, open_socket):
    """Signing out in one tab sends session_ended to the session's other tabs (the page reloads to
    the sign-in page) and closes them."""
    ana = http_user().register()
    first, second = open_socket(ana), open_socket(ana)
    assert ana.logout().ok
    for tab in (first, second):
        assert tab.wait_for("session_ended") == [ENDED]
        assert tab.disconnected.wait(10)
