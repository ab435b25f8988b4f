"""Abuse on a real server: a user's hostile message searches must not hold the event loop.

The hostile user is alone in a group with 50 messages of 2,000 one-character CJK words (the body
limit) that all end with the same 100 words, and searches them in a loop with limit=50: the 100-word
query (refused: a search is at most QUERY_MAX_WORDS words) and the heaviest query allowed (the last
QUERY_MAX_WORDS of those words: every message matches, far into its body). Meanwhile another user
of the same worker fetches /healthz and a chat page and sends messages over her socket, timing each
answer. Before the fix each such search took 9-12 s of CPU on the loop, and everyone waited as long.
"""

import statistics
import threading
import time
import uuid

from app import create_app
from app.extensions import db
from app.services import accounts, conversations, messaging, search, social
from app.transactions import transaction
from tests.abuse import PAUSE, Others, others_figures, sign_in, within_ceiling
from tests.conftest import TEST_PASSWORD, LiveServer, app_config, unique_username
from tests.reliability import count, record

SECTION = "Abuse"
MESSAGES = 50
WORDS_PER_MESSAGE = 2000  # one-character words and spaces: 3,999 characters, under the body limit
QUERY_WORDS = 100
QUIET_SECONDS = 2
HOSTILE_SECONDS = count(6, 20)


def cjk(number: int) -> str:
    """The number-th one-character CJK word."""
    return chr(0x4E00 + number)


def set_up(database_url: str) -> dict:
    """The hostile user alone in a group with the hostile messages, and two friends (ana, bob) in a
    direct chat, made through the services on the server's database."""
    app = create_app(app_config(database_url))
    query = [cjk(number) for number in range(QUERY_WORDS)]
    with app.test_request_context(), transaction():
        hostile, ana, bob = (accounts.register_user(unique_username(name), TEST_PASSWORD) for name in "hab")
        group = conversations.create_group(hostile, "Alone", []).id
        for index in range(MESSAGES):
            filler = [
                cjk(QUERY_WORDS + (index * 7 + number) % 5000) for number in range(WORDS_PER_MESSAGE - QUERY_WORDS)
            ]
            messaging.send_message(hostile, group, " ".join(filler + query), uuid.uuid4().hex)
        social.send_request(ana, bob.username)
        social.accept_request(bob, ana.username)
        chat = conversations.open_direct(ana, bob.username).id
        names = {"hostile": hostile.username, "ana": ana.username, "bob": bob.username}
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return {"names": names, "chat": chat, "query": query}


def hostile_searches(url: str, setting: dict, stop: threading.Event, done: dict) -> None:
    """The hostile user's loop: the 100-word query and the heaviest allowed one, limit=50, in turn."""
    hostile = sign_in(url, setting["names"]["hostile"])
    queries = [" ".join(setting["query"]), " ".join(setting["query"][-search.QUERY_MAX_WORDS :])]
    turn = 0
    while not stop.is_set():
        query = queries[turn % 2]
        began = time.perf_counter()
        response = hostile.http.get(f"{url}/api/search", params={"q": query, "limit": 50}, timeout=120)
        took = time.perf_counter() - began
        answer = response.json()
        if response.status_code == 200 and len(answer["results"]) == MESSAGES:
            done["found"].append(took)
        elif response.status_code == 400 and answer["error"] == "invalid":
            done["refused"].append(took)
            done["reason"] = answer["message"]
        else:
            done["unexpected"].append(f"{response.status_code}: {response.text[:200]}")
        turn += 1


def test_hostile_message_searches_do_not_hold_the_loop(database_url, tmp_path):
    setting = set_up(database_url)
    server = LiveServer(database_url, tmp_path / "server.log")
    others = None
    try:
        others = Others(server.url, setting)
        others.start()
        quiet_http, quiet_acks = others.measure(QUIET_SECONDS)

        stop = threading.Event()
        done = {"found": [], "refused": [], "unexpected": []}
        hostile = threading.Thread(target=hostile_searches, args=(server.url, setting, stop, done), daemon=True)
        hostile.start()
        http, acks = others.measure(HOSTILE_SECONDS)
        stop.set()
        hostile.join(120)
        others.stop()
    finally:
        if others is not None:
            others.stopped.set()
        server.stop()

    assert http and acks and done["found"], done
    figures = {
        "engine": database_url.split(":", 1)[0].split("+", 1)[0],
        **others_figures(http, acks, quiet_http, quiet_acks),
        "searches (50 hits)": len(done["found"]),
        "search p50 ms": statistics.median(done["found"]) * 1000,
        "search max ms": max(done["found"]) * 1000,
        "searches refused (100 words)": len(done["refused"]),
        "refusal max ms": max(done["refused"], default=0) * 1000,
    }
    print(figures)
    assert within_ceiling(figures), figures
    assert not others.failures and not done["unexpected"], (others.failures, done["unexpected"])
    assert done["refused"] and done["reason"] == f"A search is at most {search.QUERY_MAX_WORDS} words.", done
    record(
        SECTION,
        f"Hostile message searches ({figures['engine']})",
        figures,
        f"One run.py worker (eventlet). A user alone in a group with {MESSAGES} messages of "
        f"{WORDS_PER_MESSAGE:,} one-character CJK words searches them for {HOSTILE_SECONDS} s in a loop, "
        f"limit=50: a {QUERY_WORDS}-word query (refused) and the {search.QUERY_MAX_WORDS} words allowed "
        "that match every message at its end. Meanwhile another user fetches /healthz and a chat page in "
        f"turn and sends messages over her socket, each every {PAUSE * 1000:.0f} ms; their times are "
        "measured by the client (quiet: the same load before the searches began).",
    )
