"""The composer's JSON: member suggestions for `@` (bounded, members only) and the emoji list."""

from types import SimpleNamespace

import pytest

from app.services import accounts, conversations, social
from app.transactions import transaction
from tests.conftest import TEST_PASSWORD, AuthActions, door, refused


@pytest.fixture
def signed_in(app):
    """group_and_chat's people and conversations made outside any request, then a client signed in
    as each of them by username: ((ana, bob, cyd, dan, group, chat), {username: client})."""
    with app.test_request_context():
        people = [accounts_register(name) for name in ("ana", "bob", "cyd", "dan")]
        ana, bob, cyd, _dan = people
        with transaction():
            for friend in (bob, cyd):
                social.send_request(ana, friend.username)
                social.accept_request(friend, "ana")
            group = conversations.create_group(ana, "Plans", [bob.id, cyd.id])
            chat = conversations.open_direct(ana, "bob")
        people = [SimpleNamespace(id=person.id, username=person.username) for person in people]
        group, chat = SimpleNamespace(id=group.id), SimpleNamespace(id=chat.id)
    clients = {}
    for person in people:
        client = app.test_client()
        AuthActions(client).login(person.username)
        clients[person.username] = client
    return (*people, group, chat), clients


def accounts_register(username):
    with transaction():
        return accounts.register_user(username, TEST_PASSWORD)


def names(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [person["username"] for person in response.get_json()["members"]]


def test_members_by_prefix_of_username_or_name(group_and_chat):
    ana, bob, cyd, _dan, group, _chat = group_and_chat
    assert [m.user.username for m in door(conversations.find_members, ana, group.id, "")] == ["bob", "cyd"]
    assert [m.user.username for m in door(conversations.find_members, ana, group.id, "@B")] == ["bob"]
    assert [m.user.username for m in door(conversations.find_members, bob, group.id, "a")] == ["ana"]
    assert door(conversations.find_members, ana, group.id, "zed") == []  # never the viewer, nor strangers


def test_members_by_first_or_last_name_after_usernames(make_user, group_and_chat):
    ana, _bob, _cyd, _dan, group, _chat = group_and_chat
    eve = make_user("eve", first_name="Bobby", last_name="Cruz")
    with transaction():
        social.send_request(ana, "eve")
        social.accept_request(eve, "ana")
        conversations.add_members(ana, group.id, [eve.id])
    assert [m.user.username for m in door(conversations.find_members, ana, group.id, "bo")] == ["bob", "eve"]
    assert [m.user.username for m in door(conversations.find_members, ana, group.id, "cru")] == ["eve"]


def test_members_endpoint(signed_in):
    (ana, _bob, _cyd, _dan, group, chat), clients = signed_in
    client = clients[ana.username]
    assert names(client.get(f"/api/conversations/{group.id}/members?q=c")) == ["cyd"]
    assert names(client.get(f"/api/conversations/{group.id}/members?q=&limit=1")) == ["bob"]
    # Without q, the members panel's pages: everyone, the owner first.
    assert names(client.get(f"/api/conversations/{group.id}/members?limit=1")) == ["ana"]
    assert names(client.get(f"/api/conversations/{chat.id}/members?q=bo")) == ["bob"]
    person = client.get(f"/api/conversations/{group.id}/members?q=bob").get_json()["members"][0]
    assert set(person) >= {"id", "username", "display_name", "avatar_url", "role", "online"}


@pytest.mark.parametrize(
    "query",
    ["q=&limit=0", "q=&limit=21", "q=&limit=many", "q=" + "a" * 51, "limit=101", "cursor=nonsense"],
)
def test_members_endpoint_refuses_bad_input(signed_in, query):
    (ana, _bob, _cyd, _dan, group, _chat), clients = signed_in
    response = clients[ana.username].get(f"/api/conversations/{group.id}/members?{query}")
    assert response.status_code == 400
    assert response.get_json()["ok"] is False and response.get_json()["message"]


def test_members_are_for_members_only(group_and_chat):
    _ana, _bob, _cyd, dan, group, _chat = group_and_chat
    refused(lambda: conversations.find_members(dan, group.id, "a"), "not_found")


def test_members_endpoint_is_for_members_only(signed_in, client):
    (_ana, _bob, _cyd, dan, group, _chat), clients = signed_in
    for conversation_id in (group.id, 999999):
        response = clients[dan.username].get(f"/api/conversations/{conversation_id}/members?q=a")
        assert response.status_code == 404
        assert response.get_json()["error"] == "not_found"
    assert client.get(f"/api/conversations/{group.id}/members").status_code in (302, 401)


def test_emoji_list_is_cached_and_conditional(client):
    response = client.get("/api/emoji")
    assert response.status_code == 200
    assert response.cache_control.max_age >= 3600
    rows = response.get_json()["emoji"]
    assert 1000 < len(rows) < 5000
    assert rows[0][0] == "😀"  # faces first
    by_char = {char: codes for char, codes in rows}
    assert "thumbs_up" in by_char["👍"] and "+1" in by_char["👍"]
    assert "smile" in by_char["😄"]
    assert "👍🏽" not in by_char  # skin-tone variants left out
    again = client.get("/api/emoji", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and not again.get_data()
