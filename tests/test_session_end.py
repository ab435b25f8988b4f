"""Sessions that end while their sockets are open. A socket's identity is read once, at connect
(app/realtime/identities.py): the app's doors (logout, a password change, deleting the account) end
the session's sockets on every worker before they answer, so no event of the ended session is
carried out even when it races the disconnect; a session ended outside the doors (the operator's
shell, a deleted row) closes its sockets within SOCKET_SESSION_CHECK_SECONDS. The old cookie opens
nothing any more. A remember-me cookie lasts only as long as its login: logging out (or a password
change) ends it on the server."""

import time
import uuid

import pytest
import socketio
from sqlalchemy import create_engine, text

from app.config import normalize_database_url
from tests.conftest import TEST_PASSWORD, HttpUser, two_workers
from tests.realtime import Socket, direct_chat, history

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
def test_a_session_ended_outside_the_app_closes_its_sockets_within_the_check(live_server, http_user, open_socket, end):
    """Whether the user's sign-in was revoked or the session itself deleted, behind the app's back:
    the socket receives session_ended and is disconnected within the check (the test servers check
    every 0.5 s), and the cookie is dead."""
    ana, bob = http_user().register(), http_user().register()
    chat = direct_chat(ana, bob)
    tab = open_socket(ana)
    end(live_server, ana)

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


def _remembered_login(user) -> str:
    """Sign `user` in (again) with "keep me signed in"; the remember-me cookie it was given."""
    if _signed_in(user):
        assert user.logout().ok
    response = user.post_form("/login", {"username": user.username, "password": TEST_PASSWORD, "remember": "y"})
    assert response.ok and "/login" not in response.url
    return user.http.cookies["remember_token"]


def _signed_in(user) -> bool:
    page = user.http.get(user.base_url + "/settings", allow_redirects=False, timeout=10)
    return page.status_code == 200


def _with_only(live_server, remember_cookie: str) -> HttpUser:
    """A browser that holds nothing but a copy of a remember-me cookie."""
    thief = HttpUser(live_server.url)
    thief.http.cookies.set("remember_token", remember_cookie)
    return thief


def test_a_remember_me_cookie_copied_before_logout_signs_in_nowhere_after_it(live_server, http_user, open_socket):
    """The copy works while the login lasts (over HTTP and for a socket); once its owner signs out,
    it signs in neither a page nor a socket, and a session restored from it earlier is ended too.
    The same person's remembered login on another device is untouched."""
    ana = http_user().register()
    copied = _remembered_login(ana)
    restored_earlier = _with_only(live_server, copied)
    assert _signed_in(restored_earlier)
    open_socket(_with_only(live_server, copied)).close()
    other_device = http_user()
    other_device.username = ana.username
    other_cookie = _remembered_login(other_device)

    assert ana.logout().ok
    assert not _signed_in(_with_only(live_server, copied))
    with pytest.raises(socketio.exceptions.ConnectionError):
        open_socket(_with_only(live_server, copied))
    assert not _signed_in(restored_earlier)
    assert _signed_in(_with_only(live_server, other_cookie))
    open_socket(_with_only(live_server, other_cookie)).close()


def test_a_socket_with_only_a_remember_me_cookie_copied_before_logout_is_refused(live_server, http_user, open_socket):
    """The socket side alone: a copy that connected while the login lasted is refused after it."""
    ana = http_user().register()
    copied = _remembered_login(ana)
    open_socket(_with_only(live_server, copied)).close()
    assert ana.logout().ok
    with pytest.raises(socketio.exceptions.ConnectionError):
        open_socket(_with_only(live_server, copied))


def test_a_socket_signed_in_by_a_remember_me_cookie_alone_stays_past_the_session_checks(
    live_server, http_user, open_socket
):
    """Its session was made for it and never stored: the check of stored sessions leaves it be while
    its login lasts (the test servers check every 0.5 s)."""
    ana, bob = http_user().register(), http_user().register()
    chat = direct_chat(ana, bob)
    tab = open_socket(_with_only(live_server, _remembered_login(ana)))
    time.sleep(2)
    assert tab.client.connected
    assert tab.send(chat, "still here")["body"] == "still here"


def test_a_password_change_ends_every_remembered_login_but_its_own(live_server, http_user, open_socket):
    """Changing the password ends the remember-me cookies of every device; the device that changed
    it stays signed in and gets a new one."""
    ana = http_user().register()
    laptop = http_user()
    laptop.username = ana.username
    laptop_cookie = _remembered_login(laptop)
    _remembered_login(ana)
    new_password = "N3w-Passw0rd!"
    response = ana.post_form(
        "/settings/password",
        {"current_password": TEST_PASSWORD, "new_password": new_password, "confirm_password": new_password},
    )
    assert response.ok and "/settings/password" not in response.url, response.text[:300]
    assert not _signed_in(_with_only(live_server, laptop_cookie))
    with pytest.raises(socketio.exceptions.ConnectionError):
        open_socket(_with_only(live_server, laptop_cookie))
    assert _signed_in(_with_only(live_server, ana.http.cookies["remember_token"]))


def _race_a_send_against_the_logout(logout_on: str, socket_on: str) -> None:
    """Ana's socket on `socket_on`; she signs out on `logout_on`; the moment the logout has answered,
    the old socket sends: refused (or the socket is already closed), and nothing is stored."""
    ana = HttpUser(socket_on).register()
    bob = HttpUser(socket_on).register()
    chat = direct_chat(ana, bob)
    tab = Socket(ana)
    try:
        signed_out = HttpUser(logout_on)
        signed_out.http.cookies.update(ana.http.cookies)
        assert signed_out.logout().ok
        payload = {"conversation_id": chat, "body": "after the logout", "client_id": uuid.uuid4().hex}
        try:
            ack = tab.client.call("send_message", payload, timeout=10)
        except (socketio.exceptions.TimeoutError, socketio.exceptions.SocketIOError):
            ack = None  # the disconnect won the race: closed before the ack could go out
        assert ack is None or ack["error"] == "unauthorized", ack
        assert history(bob, chat) == []
    finally:
        tab.client.disconnect()


def test_an_ended_session_cannot_act_even_when_its_event_races_the_disconnect(live_server):
    _race_a_send_against_the_logout(live_server.url, live_server.url)


def test_an_ended_session_cannot_act_on_another_worker_either(postgres_databases, redis_url, tmp_path):
    """The logout on one worker, the socket on the other: the logout answers only once the other
    worker has ended the socket's identity."""
    with two_workers(postgres_databases, redis_url, tmp_path) as (first, second):
        for _ in range(5):
            _race_a_send_against_the_logout(first.url, second.url)
