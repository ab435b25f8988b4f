"""The send path's checks held in memory (app/services/send_checks.py). Across workers, on a real
Redis: a drop returns only once every other live worker has dropped it, even a slow one. In one
worker: each change drops what it must, and an answer read while a drop arrives is not kept.
(tests/test_scale_out.py: each change on one real worker, the next send on another obeys it.)"""

import time
import uuid

import pytest
import redis

from app.extensions import db
from app.models import User
from app.services import ServiceError, conversations, profiles, social
from app.services.send_checks import SendChecks
from app.services.socket_registry import RedisRegistry
from tests.conftest import TEST_PASSWORD, door
from tests.test_identities import listen as start_listener


@pytest.fixture
def workers(redis_url):
    """Two workers' SendChecks over one Redis, both alive in the registry, listening in threads."""
    client = redis.Redis.from_url(redis_url)
    prefix = f"test-send-checks-{uuid.uuid4().hex[:12]}"
    pairs = []
    for _ in range(2):
        checks, sockets = SendChecks(), RedisRegistry(client, prefix + ":sockets")
        sockets.heartbeat()
        pairs.append((checks, sockets))
    yield client, prefix, pairs
    for checks, _sockets in pairs:
        checks.stop()
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def listen(checks: SendChecks, client, prefix: str, sockets, delay: float = 0) -> None:
    """test_identities' listener in a thread (each message `delay` s late), once it has subscribed."""
    start_listener(checks, client, prefix, sockets, delay)
    time.sleep(0.1)


def test_a_drop_returns_once_the_other_worker_has_dropped_it(workers):
    client, prefix, [(first, first_sockets), (second, second_sockets)] = workers
    listen(first, client, prefix, first_sockets)
    listen(second, client, prefix, second_sockets, delay=0.3)
    for checks in (first, second):
        assert checks.refusal(1, 2, lambda: None) is None
        checks.member_target(10, 1, lambda: "member")

    started = time.monotonic()
    first.dropped(members=[(10, 1)], pairs=[(2, 1)])
    assert time.monotonic() - started >= 0.3  # it waited for the slow worker
    for checks in (first, second):
        assert checks.refusal(1, 2, lambda: "refused") == "refused"
        assert checks.member_target(10, 1, lambda: "loaded again") == "loaded again"


def test_a_worker_that_does_not_answer_holds_a_drop_up_for_a_bounded_time(workers, monkeypatch):
    client, prefix, [(first, first_sockets), (_second, second_sockets)] = workers
    monkeypatch.setattr("app.services.send_checks.CONFIRM_WAIT_SECONDS", 0.2)
    listen(first, client, prefix, first_sockets)  # the second is in the registry but not listening
    started = time.monotonic()
    first.dropped(users=[1])
    assert 0.2 <= time.monotonic() - started < 2


def test_an_answer_read_while_a_drop_arrives_is_not_kept():
    checks = SendChecks()

    def read_then_a_drop_arrives():
        checks.dropped(pairs=[(1, 2)])
        return None

    assert checks.refusal(1, 2, read_then_a_drop_arrives) is None
    assert checks.refusal(1, 2, lambda: "read again") == "read again"


def test_dropping_a_user_drops_every_answer_about_them():
    checks = SendChecks()
    checks.refusal(1, 2, lambda: None)
    checks.refusal(2, 3, lambda: None)
    checks.refusal(4, 5, lambda: None)
    checks.member_target(10, 2, lambda: "member")
    checks.dropped(users=[2])
    assert checks.refusal(1, 2, lambda: "again") == "again"
    assert checks.refusal(2, 3, lambda: "again") == "again"
    assert checks.refusal(4, 5, lambda: "again") is None
    assert checks.member_target(10, 2, lambda: "again") == "again"


def send_check(user: User, conversation_id: int):
    """What the send path asks: the member target and the refusal (both held by the worker)."""
    user = db.session.get(User, user.id)
    target = conversations.require_member_target(user, conversation_id)
    return conversations.send_refusal(user, target)


def test_each_change_in_this_worker_holds_for_the_next_check(ctx, group_and_chat, make_user):
    ana, bob, cyd, _dan, group, chat = group_and_chat
    assert send_check(bob, chat.id) is None and send_check(cyd, group.id) is None

    door(social.block, bob, "ana")
    assert "can't message" in send_check(bob, chat.id)
    door(social.unblock, bob, "ana")
    assert send_check(bob, chat.id) is None

    door(profiles.set_message_policy, ana, "friends")  # the block ended their friendship
    assert "only accepts messages from friends" in send_check(bob, chat.id)
    door(social.send_request, bob, "ana")
    door(social.accept_request, ana, "bob")
    assert send_check(bob, chat.id) is None
    door(social.remove_friend, ana, "bob")
    assert "only accepts messages from friends" in send_check(bob, chat.id)
    door(profiles.set_message_policy, ana, "everyone")
    assert send_check(bob, chat.id) is None

    door(conversations.remove_member, ana, group.id, cyd.id)
    with pytest.raises(ServiceError):
        send_check(cyd, group.id)
    door(profiles.delete_account, ana, TEST_PASSWORD)
    assert "no longer exists" in send_check(bob, chat.id)
