"""Who may see, find, befriend and message whom: app.services.social."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Block, Friendship, User
from app.services import ServiceError, social
from app.services.social import Relation
from tests.conftest import run_concurrently


def friendship_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(Friendship))


def test_a_request_then_acceptance_makes_friends(make_user):
    ana, bob = make_user("ana"), make_user("bob")
    assert social.relation(ana, bob) == Relation.NONE
    assert "sent" in social.send_request(ana, "bob")
    assert social.relation(ana, bob) == Relation.REQUEST_SENT
    assert social.relation(bob, ana) == Relation.REQUEST_RECEIVED
    assert social.incoming_request_count(bob) == 1 and social.incoming_request_count(ana) == 0
    assert social.incoming_requests(bob) == [ana] and social.outgoing_requests(ana) == [bob]

    assert "now friends" in social.accept_request(bob, "ana")
    assert social.relation(ana, bob) == social.relation(bob, ana) == Relation.FRIENDS
    assert social.friends(ana) == [bob] and social.friends(bob) == [ana]
    assert social.incoming_request_count(bob) == 0


def test_requesting_someone_who_asked_you_makes_the_friendship(make_user):
    ana, bob = make_user("ana"), make_user("bob")
    social.send_request(ana, "bob")
    assert "now friends" in social.send_request(bob, "ana")
    assert social.relation(ana, bob) == Relation.FRIENDS
    assert friendship_rows() == 1


def test_actions_are_idempotent(make_user):
    ana, bob = make_user("ana"), make_user("bob")
    social.send_request(ana, "bob")
    assert "already sent" in social.send_request(ana, "bob")
    assert friendship_rows() == 1
    social.accept_request(bob, "ana")
    assert "already friends" in social.accept_request(bob, "ana")
    assert "already friends" in social.send_request(ana, "bob")
    social.remove_friend(ana, "bob")
    assert "were not friends" in social.remove_friend(ana, "bob")
    assert "no pending request" in social.cancel_request(ana, "bob")
    assert "no pending request" in social.decline_request(ana, "bob")
    social.block(ana, "bob")
    social.block(ana, "bob")
    assert db.session.scalar(select(func.count()).select_from(Block)) == 1
    social.unblock(ana, "bob")
    social.unblock(ana, "bob")
    assert db.session.scalar(select(func.count()).select_from(Block)) == 0


def test_cancel_and_decline_only_touch_the_right_side(make_user):
    ana, bob = make_user("ana"), make_user("bob")
    social.send_request(ana, "bob")
    assert "no pending request" in social.cancel_request(bob, "ana")  # bob did not send one
    assert "no pending request" in social.decline_request(ana, "bob")  # ana has none to decline
    assert social.relation(ana, bob) == Relation.REQUEST_SENT
    assert "cancelled" in social.cancel_request(ana, "bob")
    assert social.relation(ana, bob) == Relation.NONE
    social.send_request(ana, "bob")
    assert "declined" in social.decline_request(bob, "ana")
    assert social.relation(bob, ana) == Relation.NONE


def test_accepting_a_request_that_was_not_made_is_refused(make_user):
    ana, _bob = make_user("ana"), make_user("bob")
    social.send_request(ana, "bob")
    with pytest.raises(ServiceError, match="has not sent you"):
        social.accept_request(ana, "bob")  # ana is the one who asked
    assert friendship_rows() == 1


def test_no_requests_to_yourself_or_to_nobody(make_user):
    ana = make_user("ana")
    with pytest.raises(ServiceError, match="yourself"):
        social.send_request(ana, "ana")
    with pytest.raises(social.NotFound):
        social.send_request(ana, "ghost")
    with pytest.raises(social.NotFound):
        social.send_request(ana, "x" * 300)
    assert friendship_rows() == 0


def test_blocking_ends_friendship_and_requests_and_hides_the_blocker(make_user):
    ana, bob = make_user("ana"), make_user("bob")
    social.send_request(ana, "bob")
    social.accept_request(bob, "ana")
    social.block(ana, "bob")
    assert friendship_rows() == 0
    assert social.relation(ana, bob) == Relation.BLOCKED
    # bob can no longer see, find or request ana; ana can still see bob (to unblock).
    with pytest.raises(social.NotFound):
        social.visible_user(bob, "ana")
    with pytest.raises(social.NotFound):
        social.send_request(bob, "ana")
    assert social.visible_user(ana, "bob") == bob
    with pytest.raises(ServiceError, match="Unblock them first"):
        social.send_request(ana, "bob")
    assert social.blocked_users(ana) == [bob]
    assert friendship_rows() == 0


def test_blocking_removes_pending_requests_both_ways(make_user):
    ana, bob = make_user("ana"), make_user("bob")
    social.send_request(bob, "ana")
    social.block(ana, "bob")
    assert friendship_rows() == 0
    assert social.incoming_request_count(ana) == 0


def test_unblocking_restores_nothing_but_visibility(make_user):
    ana, bob = make_user("ana"), make_user("bob")
    social.send_request(ana, "bob")
    social.accept_request(bob, "ana")
    social.block(bob, "ana")
    social.unblock(bob, "ana")
    assert social.relation(ana, bob) == Relation.NONE
    assert social.visible_user(ana, "bob") == bob


def test_no_one_can_block_themselves(make_user):
    ana = make_user("ana")
    with pytest.raises(ServiceError, match="yourself"):
        social.block(ana, "ana")


def test_who_may_message_whom(make_user):
    ana, bob, cy = make_user("ana"), make_user("bob"), make_user("cyd")
    assert social.can_message(ana, bob)
    assert not social.can_message(ana, ana)
    bob.message_policy = "friends"
    db.session.commit()
    assert not social.can_message(ana, bob)
    social.send_request(ana, "bob")
    assert not social.can_message(ana, bob)  # a request is not a friendship
    social.accept_request(bob, "ana")
    assert social.can_message(ana, bob) and social.can_message(bob, ana)
    social.block(cy, "ana")
    assert not social.can_message(ana, cy) and not social.can_message(cy, ana)


def test_relations_for_a_list_match_one_by_one(make_user):
    viewer = make_user("viewer")
    others = [make_user(f"user{i}") for i in range(5)]
    social.send_request(viewer, "user0")
    social.send_request(others[1], "viewer")
    social.send_request(viewer, "user2")
    social.accept_request(others[2], "viewer")
    social.block(viewer, "user3")
    batch = social.relations(viewer, [viewer, *others])
    assert batch == {person.id: social.relation(viewer, person) for person in [viewer, *others]}
    assert [batch[person.id] for person in others] == [
        Relation.REQUEST_SENT,
        Relation.REQUEST_RECEIVED,
        Relation.FRIENDS,
        Relation.BLOCKED,
        Relation.NONE,
    ]


# --- search ---------------------------------------------------------------------------------------


def usernames(page) -> list[str]:
    return [result.user.username for result in page.results]


def test_search_matches_the_start_of_username_or_names_in_any_case(make_user):
    viewer = make_user("viewer")
    make_user("anna", first_name="Zoe")
    make_user("zed", first_name="Ánnika")
    make_user("bob", last_name="Annan")
    make_user("joanna")  # "anna" in the middle: not a match
    page = social.search_users(viewer, "ANN")
    assert sorted(usernames(page)) == ["anna", "bob"]
    assert usernames(social.search_users(viewer, "ánn")) == ["zed"]
    assert usernames(social.search_users(viewer, "@ann"))[0] == "anna"


def test_search_puts_the_exact_username_first(make_user):
    viewer = make_user("viewer")
    make_user("ana.b")
    make_user("zzz", first_name="Ana")
    make_user("ana")
    make_user("anabel")
    assert usernames(social.search_users(viewer, "ana")) == ["ana", "ana.b", "anabel", "zzz"]


def test_search_never_shows_yourself_or_who_blocked_you(make_user):
    viewer = make_user("ana")
    make_user("anabel")
    blocker = make_user("anatoly")
    blocked = make_user("anastasia")
    social.block(blocker, "ana")
    social.block(viewer, "anastasia")
    page = social.search_users(viewer, "ana")
    assert usernames(page) == ["anabel", "anastasia"]
    assert page.results[1].relation == Relation.BLOCKED and page.results[1].user == blocked


def test_search_pages(make_user):
    viewer = make_user("viewer")
    for i in range(social.SEARCH_PAGE_SIZE + 5):
        make_user(f"member{i:02d}")
    first = social.search_users(viewer, "member", 1)
    second = social.search_users(viewer, "member", 2)
    assert len(first.results) == social.SEARCH_PAGE_SIZE and first.has_next and not first.has_prev
    assert len(second.results) == 5 and not second.has_next and second.has_prev
    assert not set(usernames(first)) & set(usernames(second))


@pytest.mark.parametrize("query", ["", "   ", "%", "_", "a%b", "\x00", "'; DROP TABLE users; --", "\U0010ffff"])
def test_odd_queries_find_nothing_and_break_nothing(make_user, query):
    viewer = make_user("viewer")
    make_user("ana")
    assert social.search_users(viewer, query).results == []


# --- concurrency ----------------------------------------------------------------------------------


def _user(username):
    return db.session.scalar(select(User).where(User.username == username))


@pytest.mark.parametrize("rounds", range(3))
def test_simultaneous_requests_both_ways_make_one_friendship(app, database_url, make_user, rounds):
    make_user("ana")
    make_user("bob")
    db.session.remove()
    outcomes = run_concurrently(
        database_url,
        [lambda: social.send_request(_user("ana"), "bob"), lambda: social.send_request(_user("bob"), "ana")],
    )
    assert all(isinstance(outcome, str) for outcome in outcomes), outcomes
    rows = db.session.scalars(select(Friendship)).all()
    assert len(rows) == 1 and rows[0].status == "accepted"


def test_simultaneous_duplicate_clicks_make_one_request(app, database_url, make_user):
    make_user("ana")
    make_user("bob")
    db.session.remove()
    outcomes = run_concurrently(database_url, [lambda: social.send_request(_user("ana"), "bob") for _ in range(4)])
    assert all(isinstance(outcome, str) for outcome in outcomes), outcomes
    rows = db.session.scalars(select(Friendship)).all()
    assert len(rows) == 1 and rows[0].status == "pending"


def test_the_database_refuses_a_second_row_for_a_pair(make_user):
    """Even code that skips the service cannot store two rows for one pair."""
    ana, bob = make_user("ana"), make_user("bob")
    low, high = sorted([ana.id, bob.id])
    db.session.add(Friendship(user_low_id=low, user_high_id=high, requester_id=ana.id))
    db.session.commit()
    db.session.add(Friendship(user_low_id=low, user_high_id=high, requester_id=bob.id))
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        db.session.commit()
    db.session.rollback()
    db.session.add(Friendship(user_low_id=high, user_high_id=low, requester_id=bob.id))
    with pytest.raises(Exception, match="(?i)check|constraint"):
        db.session.commit()
    db.session.rollback()


def test_activity_is_hidden_on_both_sides_of_a_block_and_within_a_conversation_only_among_its_members(
    group_and_chat,
):
    """activity_hidden: who may not get a person's typing, read position or presence (and whose the
    person may not get) is everyone on either side of a block with them; scoped to a conversation,
    only its members, so a block with an outsider adds no one to skip."""
    ana, bob, cyd, dan, group, chat = group_and_chat
    social.block(bob, cyd.username)  # both in the group
    social.block(dan, bob.username)  # dan is in neither conversation
    assert social.activity_hidden(bob.id) == {cyd.id, dan.id}
    assert social.activity_hidden(cyd.id) == {bob.id}
    assert social.activity_hidden(bob.id, group.id) == {cyd.id}
    assert social.activity_hidden(cyd.id, group.id) == {bob.id}
    assert social.activity_hidden(ana.id, group.id) == set() and social.activity_hidden(bob.id, chat.id) == set()
    social.unblock(bob, cyd.username)
    assert social.activity_hidden(cyd.id, group.id) == set() and social.activity_hidden(bob.id) == {dan.id}
