"""Message search: app.services.search over the engine's full-text index (FTS5 on SQLite, a tsvector
with a GIN index on PostgreSQL), GET /api/search and the /search/messages page."""

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, insert, select, text, update

from app import create_app
from app.extensions import db
from app.models import Message, User
from app.services import ServiceError, conversations, editing, messaging, search, social
from app.services.search import snippet
from app.transactions import transaction
from tests.conftest import AuthActions, app_config, extract_csrf


@pytest.fixture
def world(make_user):
    """ana, bob and cyd, all friends; a direct chat ana–bob, one bob–cyd (ana is not in it) and a
    group "Team" of the three, owned by ana."""
    ana, bob, cyd = (make_user(name, first_name=name.title()) for name in ("ana", "bob", "cyd"))
    with transaction():
        for asker, other in ((ana, bob), (ana, cyd), (bob, cyd)):
            social.send_request(asker, other.username)
            social.accept_request(other, asker.username)
        return {
            "ana": ana,
            "bob": bob,
            "cyd": cyd,
            "ana_bob": conversations.open_direct(ana, "bob").id,
            "bob_cyd": conversations.open_direct(bob, "cyd").id,
            "team": conversations.create_group(ana, "Team", [bob.id, cyd.id]).id,
        }


def send(user: User, conversation_id: int, body: str) -> int:
    """Send a message through the service; its id."""
    send.counter = getattr(send, "counter", 0) + 1
    with transaction():
        return messaging.send_message(user, conversation_id, body, f"search-{send.counter}")[0]["id"]


def found(user: User, query: str, **options) -> list[str]:
    """The bodies a search finds, in the order given (newest first)."""
    return [hit.message.body for hit in search.search(user, query, **options).hits]


def postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


# --- matching -------------------------------------------------------------------------------------


def test_words_match_as_prefixes_case_insensitively_and_all_must_match(world):
    ana, bob = world["ana"], world["bob"]
    send(ana, world["ana_bob"], "Meeting at noon tomorrow")
    send(bob, world["ana_bob"], "lunch at noon?")
    send(bob, world["team"], "These MEETINGS never end")
    send(ana, world["team"], "nothing to see")

    assert found(ana, "meet") == ["These MEETINGS never end", "Meeting at noon tomorrow"]
    assert found(ana, "MEETING") == found(ana, "meeting") == found(ana, "meet")
    assert found(ana, "noon") == ["lunch at noon?", "Meeting at noon tomorrow"]
    assert found(ana, "noon meet") == ["Meeting at noon tomorrow"]
    assert found(ana, "meet noon lunch") == []
    assert found(ana, "eting") == []  # words match from their start, not in the middle
    assert found(ana, "noon noon NOON") == found(ana, "noon")


def test_a_one_character_word_matches_whole_words_only(world):
    """As a prefix, one letter would read most of the index; two letters and more are prefixes."""
    ana = world["ana"]
    send(ana, world["team"], "an apple a day")
    send(ana, world["team"], "apples and pears")
    send(ana, world["team"], "猫 很 可爱")
    send(ana, world["team"], "猫咪")
    assert found(ana, "a") == ["an apple a day"]
    assert found(ana, "A") == found(ana, "a")
    assert found(ana, "ap") == ["apples and pears", "an apple a day"]
    assert found(ana, "a ap") == ["an apple a day"]
    assert found(ana, "p") == []
    assert found(ana, "猫") == ["猫 很 可爱"]
    assert found(ana, "猫咪") == ["猫咪"]


def test_accents_are_ignored_on_sqlite_but_not_on_postgresql(world):
    ana = world["ana"]
    send(ana, world["ana_bob"], "Un café au lait")
    send(ana, world["ana_bob"], "Plain cafe")
    assert found(ana, "café") == (["Un café au lait"] if postgres() else ["Plain cafe", "Un café au lait"])
    assert found(ana, "CAFÉ") == found(ana, "café")
    # 'simple' keeps accents (unaccent would need an extension the schema does not install).
    assert found(ana, "cafe") == (["Plain cafe"] if postgres() else ["Plain cafe", "Un café au lait"])


def test_results_carry_the_message_the_conversation_as_seen_and_a_marked_snippet(world):
    ana, bob = world["ana"], world["bob"]
    message_id = send(bob, world["ana_bob"], "the quarterly report is ready")
    (hit,) = search.search(ana, "report").hits
    assert hit.message.id == message_id and hit.conversation.id == world["ana_bob"]
    assert hit.other.id == bob.id  # the direct chat is titled after the partner
    assert hit.snippet == [("the quarterly ", False), ("report", True), (" is ready", False)]


# --- who sees what ----------------------------------------------------------------------------------


def test_only_conversations_the_user_is_in_now(world):
    ana, bob, cyd = world["ana"], world["bob"], world["cyd"]
    send(bob, world["bob_cyd"], "the secret plan")
    send(ana, world["team"], "the team plan")
    assert found(ana, "plan") == ["the team plan"]
    assert found(bob, "plan") == ["the team plan", "the secret plan"]
    assert found(cyd, "plan") == ["the team plan", "the secret plan"]

    conversations.leave(cyd, world["team"])
    assert found(cyd, "plan") == ["the secret plan"]  # the group's history left with her
    with pytest.raises(ServiceError) as refused:
        search.search(cyd, "plan", conversation_id=world["team"])
    assert refused.value.code == "not_found"


def test_one_conversation(world):
    ana, bob = world["ana"], world["bob"]
    send(ana, world["ana_bob"], "budget for us")
    send(ana, world["team"], "budget for the team")
    assert found(ana, "budget", conversation_id=world["team"]) == ["budget for the team"]
    assert found(bob, "budget", conversation_id=world["ana_bob"]) == ["budget for us"]
    assert found(ana, "budget") == ["budget for the team", "budget for us"]


def test_a_conversation_one_is_not_in_answers_as_one_that_does_not_exist(world):
    send(world["bob"], world["bob_cyd"], "hush")
    for conversation_id in (world["bob_cyd"], 0, -1, 2**31, 10**6, "1", 1.0, True, [1]):
        with pytest.raises(ServiceError) as refused:
            search.search(world["ana"], "hush", conversation_id=conversation_id)
        assert refused.value.code == "not_found", conversation_id
        assert refused.value.message == "There is no such conversation."


# --- edits and deletes -----------------------------------------------------------------------------


def test_the_index_follows_edits_and_deletes_made_in_the_database(world):
    ana = world["ana"]
    edited, deleted = send(ana, world["team"], "draft agenda"), send(ana, world["team"], "agenda for friday")
    db.session.execute(update(Message).where(Message.id == edited).values(body="final programme"))
    db.session.execute(update(Message).where(Message.id == deleted).values(body="", deleted_at=datetime.now(UTC)))
    db.session.commit()
    assert found(ana, "agenda") == found(ana, "draft") == found(ana, "friday") == []
    assert found(ana, "programme") == ["final programme"]


def test_a_deleted_message_is_never_found_even_with_its_text_still_stored(world):
    ana = world["ana"]
    message_id = send(ana, world["team"], "forgotten words")
    db.session.execute(update(Message).where(Message.id == message_id).values(deleted_at=datetime.now(UTC)))
    db.session.commit()
    assert found(ana, "forgotten") == []


def test_edits_and_deletes_through_the_editing_service(world):
    ana, bob = world["ana"], world["bob"]
    first, second = send(ana, world["ana_bob"], "see you at the cinema"), send(ana, world["ana_bob"], "cinema at 8")
    editing.edit_message(ana, first, "see you at the theatre")
    editing.delete_message(ana, second)
    assert found(bob, "cinema") == []
    assert found(bob, "theatre") == ["see you at the theatre"]


# --- bad input -------------------------------------------------------------------------------------

NASTY = [
    '"',
    '""',
    '"meet',
    "*",
    "meet*",
    "NEAR(",
    "NEAR(meet noon)",
    "-",
    "-meet",
    "AND",
    "meet AND",
    "OR NOT",
    ":",
    "body:meet",
    "meet:*",
    "(",
    "(meet",
    ")",
    "'",
    "meet's",
    "\\",
    "!meet",
    "meet & noon | x",
    "<->",
    "^meet",
    "{body}",
    "meet + noon",
    "🎉 meet",
    "a\x00b",
    "%_",
    "a" * 200,
    "ぁ" * 100,
]


def test_any_query_text_is_safe(world):
    """Quotes, operators, column filters, NUL... find what their words find, never a syntax error
    (which would surface as a 503 "database unavailable", or a 500)."""
    ana = world["ana"]
    send(ana, world["team"], "meeting at noon, meet's agenda")
    for query in NASTY:
        words = re.findall(r"[^\W_]+", query.casefold())
        if not words:  # nothing to search for: said so, plainly
            with pytest.raises(ServiceError) as refused:
                search.search(ana, query)
            assert refused.value.code == "invalid" and "letters or digits" in refused.value.message
            continue
        bodies = [hit.message.body for hit in search.search(ana, query).hits]
        expected = ["meeting at noon, meet's agenda"] if set(words) <= {"meet", "noon", "s"} else []
        assert bodies == expected, query


@pytest.mark.parametrize(
    "query, reason",
    [
        ("", "Type something"),
        ("   \t\n", "Type something"),
        (None, "Type something"),
        (5, "Type something"),
        (["meet"], "Type something"),
        ("a" * 201, "at most 200"),
        ("meet " * 1000, "at most 200"),
        ("a b c d e f g h i j k", "at most 10 words"),
        pytest.param(" ".join(chr(0x4E00 + n) for n in range(100)), "at most 10 words", id="100 CJK words"),
        ('"*():-', "letters or digits"),
        ("🎉🎉", "letters or digits"),
    ],
)
def test_invalid_queries_are_refused_with_a_reason(query, reason):
    with pytest.raises(ServiceError) as refused:
        search.search(User(), query)  # refused before any database work
    assert refused.value.code == "invalid" and reason in refused.value.message


def test_a_query_has_at_most_ten_different_words():
    assert search.query_words("a b c d e f g h i j") == list("abcdefghij")
    assert search.query_words("a b c d e f g h i j " * 10) == list("abcdefghij")  # repeats count once
    assert len(search.query_words("  ".join(chr(0x4E00 + n) for n in range(10)))) == search.QUERY_MAX_WORDS


@pytest.mark.parametrize("options", [{"limit": 0}, {"limit": 51}, {"limit": "5"}, {"before": 0}, {"before": "9"}])
def test_invalid_paging_is_refused(options):
    with pytest.raises(ServiceError) as refused:
        search.search(User(), "meet", **options)
    assert refused.value.code == "invalid"


# --- pages -----------------------------------------------------------------------------------------


def test_pages_go_back_in_time_with_before(world):
    ana, bob = world["ana"], world["bob"]
    bodies = [f"report number {number}" for number in range(5)]
    for number, body in enumerate(bodies):
        send(ana if number % 2 else bob, world["team" if number % 2 else "ana_bob"], body)
        send(ana, world["team"], f"filler {number}")
    seen, before, pages = [], None, 0
    while True:
        page = search.search(ana, "report", before=before, limit=2)
        seen += [hit.message.body for hit in page.hits]
        pages += 1
        if not page.has_more:
            break
        before = page.hits[-1].message.id
    assert seen == list(reversed(bodies)) and pages == 3


# --- snippets --------------------------------------------------------------------------------------


def test_snippets_mark_every_matching_word_and_cut_long_texts_at_words():
    body = ("lorem ipsum " * 20) + "the Meeting moved; meetings happen. " + ("dolor sit " * 30)
    parts = snippet(body, ["meet"])
    text_ = "".join(part for part, _ in parts)
    assert parts[0] == ("…", False) and parts[-1] == ("…", False)
    assert [part for part, matched in parts if matched] == ["Meeting", "meetings"]
    assert text_.startswith("…ipsum") or text_.startswith("…lorem")
    assert text_.rstrip("…").endswith(("dolor", "sit"))
    assert len(text_) <= search.SNIPPET_LENGTH + 2
    assert snippet("Café crème", ["cafe"]) == [("Café", True), (" crème", False)]
    assert snippet("nothing here", ["zzz"]) == [("nothing here", False)]
    assert snippet("<b>bold</b>", ["bo"]) == [("<b>", False), ("bold", True), ("</b>", False)]
    # One character: whole words only, as the index matches it.
    assert snippet("<b>bold</b>", ["b"]) == [("<", False), ("b", True), (">bold</", False), ("b", True), (">", False)]
    assert snippet("a apple", ["a"]) == [("a", True), (" apple", False)]


def hostile_body(words: list[str], count: int = 2000) -> str:
    """A message of `count` one-character CJK words (2,000 is the body limit), ending with `words`."""
    filler = [chr(0x4E00 + 100 + number % 5000) for number in range(count - len(words))]
    return " ".join(filler + words)


def test_snippet_work_is_bounded_whatever_the_body_and_the_query(monkeypatch):
    """The hostile case: 2,000 one-character words, the matches at the end. Each body word is folded
    at most once (today's code folded it once per query word), and only in the first
    SNIPPET_SCAN_LENGTH characters and the snippet: ten query words cost what one does."""
    calls = []
    real_fold = search.fold
    monkeypatch.setattr(search, "fold", lambda text_: calls.append(text_) or real_fold(text_))
    many = [chr(0x4E00 + n) for n in range(search.QUERY_MAX_WORDS)]
    scanned = search.SNIPPET_SCAN_LENGTH // 2  # one-character words and spaces

    body = hostile_body(many)
    assert len(body) <= 4000 and len(re.findall(r"[^\W_]+", body)) == 2000
    parts = snippet(body, many)
    assert len(calls) <= scanned + len(many)
    assert not any(matched for _, matched in parts)  # past the scan: the beginning, unmarked
    assert "".join(part for part, _ in parts).startswith(body[:100])

    calls.clear()
    body = hostile_body(many, count=scanned - 5)  # the matches inside the scan
    parts = snippet(body, many)
    assert [part for part, matched in parts if matched] == many
    with_many = len(calls)
    assert with_many <= scanned + len(many)
    calls.clear()
    snippet(body, many[-1:])
    assert with_many <= len(calls) + len(many)


# --- the index is used -----------------------------------------------------------------------------


def test_the_engines_index_answers_the_search(world):
    """The query the service runs is answered from the full-text index: FTS5's virtual table on
    SQLite; the GIN index on PostgreSQL (with sequential scans off: a test table is small)."""
    ana = world["ana"]
    for number in range(30):
        send(ana, world["team"], f"line {number} of the minutes")
    # Enough other messages in the same conversation that reading them all would cost more.
    if postgres():
        db.session.execute(
            text(
                "INSERT INTO messages (conversation_id, seq, sender_id, body, created_at) "
                "SELECT :conversation, 100 + n, :sender, 'filler ' || n || ' of the day', now() "
                "FROM generate_series(1, 50000) AS n"
            ),
            {"conversation": world["team"], "sender": ana.id},
        )
    else:
        rows = [
            {"conversation_id": world["team"], "seq": 100 + n, "sender_id": ana.id, "body": f"filler {n}"}
            for n in range(3000)
        ]
        db.session.execute(insert(Message), rows)
    db.session.commit()
    db.session.connection().exec_driver_sql("ANALYZE")
    statements = []

    def capture(_connection, _cursor, statement, parameters, _context, _many):
        if "search_vector" in statement or "messages_fts" in statement:
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        assert len(found(ana, "minutes line")) == 20
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    ((statement, parameters),) = statements
    connection = db.session.connection()
    if postgres():
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters))
        assert "ix_messages_search_vector" in plan, plan
    else:
        plan = " ".join(
            str(row[-1]) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        )
        assert "VIRTUAL TABLE INDEX" in plan and "messages_fts" in plan, plan
    db.session.rollback()


# --- over HTTP ------------------------------------------------------------------------------------


@pytest.fixture
def people(app):
    """Signed-in clients of ana, bob and eve (a stranger); ana and bob share a direct chat."""
    clients = {}
    for name in ("ana", "bob", "eve"):
        client = app.test_client()
        AuthActions(client).register(username=name, first_name=name.title())
        clients[name] = client
    token = extract_csrf(clients["ana"].get("/").get_data(as_text=True))
    clients["ana"].post("/u/bob/friend-request", data={"csrf_token": token})
    token = extract_csrf(clients["bob"].get("/").get_data(as_text=True))
    clients["bob"].post("/u/ana/friend-request/accept", data={"csrf_token": token})
    with app.test_request_context(), transaction():
        ana, bob = (db.session.scalar(select(User).where(User.username == name)) for name in ("ana", "bob"))
        chat = conversations.open_direct(ana, "bob").id
        send(bob, chat, "Lunch <script>alert(1)</script> at noon?")
        for number in range(25):
            send(ana, chat, f"minutes part {number}")
    clients["chat"] = chat
    return clients


def test_api_search_shape(people):
    response = people["ana"].get("/api/search", query_string={"q": "LUNCH"})
    assert response.status_code == 200
    data = response.get_json()
    assert data["has_more"] is False
    (result,) = data["results"]
    assert set(result) == {"message", "conversation", "snippet"}
    assert result["message"]["body"] == "Lunch <script>alert(1)</script> at noon?"
    assert result["message"]["sender"]["username"] == "bob" and result["message"]["seq"] == 1
    assert result["conversation"] == {"id": people["chat"], "kind": "direct", "title": "Bob Lima", "url": "/chat/bob"}
    assert result["snippet"] == [["Lunch", True], [" <script>alert(1)</script> at noon?", False]]

    first = people["ana"].get("/api/search?q=minutes&limit=20").get_json()
    assert len(first["results"]) == 20 and first["has_more"] is True
    before = first["results"][-1]["message"]["id"]
    rest = people["ana"].get(f"/api/search?q=minutes&before={before}").get_json()
    assert [r["message"]["body"] for r in rest["results"]] == [f"minutes part {n}" for n in (4, 3, 2, 1, 0)]
    assert rest["has_more"] is False
    scoped = people["bob"].get(f"/api/search?q=lunch&conversation_id={people['chat']}").get_json()
    assert scoped["results"][0]["conversation"]["title"] == "Ana Lima"


API_ERRORS = [
    ("q=", 400, "invalid"),
    ("q=" + "a" * 201, 400, "invalid"),
    ("q=" + "+".join("abcdefghijk"), 400, "invalid"),
    ("q=lunch&limit=0", 400, "invalid"),
    ("q=lunch&before=x", 400, "invalid"),
    ("q=lunch&conversation_id={chat}", 404, "not_found"),
    ("q=lunch&conversation_id=999999", 404, "not_found"),
    ("q=lunch&conversation_id=abc", 400, "invalid"),
]


def test_api_search_errors(people):
    for query, status, error in API_ERRORS:
        response = people["eve"].get("/api/search?" + query.format(chat=people["chat"]))
        assert response.status_code == status, query
        assert response.get_json()["ok"] is False and response.get_json()["error"] == error, query


def test_api_search_strangers_and_visitors(people, app):
    assert people["eve"].get("/api/search?q=lunch").get_json() == {"results": [], "has_more": False}
    response = app.test_client().get("/api/search?q=lunch")
    assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"


def test_the_page_marks_matches_and_escapes_messages(people):
    html = people["ana"].get("/search/messages?q=lunch").get_data(as_text=True)
    assert "<mark" in html and ">Lunch</mark>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert f'href="/c/{people["chat"]}?around=1"' in html
    assert "Bob Lima" in html and 'value="lunch"' in html
    assert "Up to 10 words" in html


def result_headings(html: str) -> list[str]:
    """Each result's conversation and sender line as read (tags dropped, spaces folded)."""
    headings = re.findall(r'<span class="min-w-0 truncate">(.*?)</span>\s*<time', html, re.DOTALL)
    return [" ".join(re.sub(r"<[^>]+>", "", heading).split()) for heading in headings]


def test_a_direct_chats_results_name_the_partner_once(people, app):
    """A direct chat's title is the partner's name: their message reads "Bob Lima", not
    "Bob Lima · Bob Lima"; your own says "Bob Lima · You"; a group's names its sender after its title."""
    with app.test_request_context(), transaction():
        ana, bob = (db.session.scalar(select(User).where(User.username == name)) for name in ("ana", "bob"))
        send(ana, people["chat"], "lunch at one then")
        team = conversations.create_group(ana, "Team", [bob.id]).id
        send(bob, team, "lunch for the team")
    html = people["ana"].get("/search/messages?q=lunch").get_data(as_text=True)
    assert result_headings(html) == ["Team · Bob Lima (@bob)", "Bob Lima · You", "Bob Lima"]
    api = people["ana"].get("/api/search?q=lunch").get_json()["results"]
    assert [result["conversation"]["kind"] for result in api] == ["group", "direct", "direct"]


def test_the_page_pages_and_narrows(people):
    chat = people["chat"]
    html = people["ana"].get("/search/messages?q=minutes").get_data(as_text=True)
    assert html.count("data-search-result\n") == 20
    older = re.search(r'href="([^"]+)"[^>]*data-search-older', html).group(1).replace("&amp;", "&")
    rest = people["ana"].get(older).get_data(as_text=True)
    assert rest.count("data-search-result\n") == 5 and "data-search-older" not in rest

    narrowed = people["ana"].get(f"/search/messages?q=minutes&conversation_id={chat}").get_data(as_text=True)
    assert f'name="conversation_id" value="{chat}"' in narrowed and "Search all conversations" in narrowed
    assert narrowed.count("data-search-result\n") == 20
    assert people["eve"].get(f"/search/messages?q=minutes&conversation_id={chat}").status_code == 404
    assert people["eve"].get("/search/messages?q=minutes&conversation_id=x").status_code == 400


PAGE_STATES = [
    ("", None),
    ("q=", "Type something to search for."),
    ("q=%20%20", "Type something to search for."),
    ("q=" + "a" * 201, "A search is at most 200 characters."),
    ("q=%22%2A%28", "Search for words: use letters or digits."),
    ("q=" + "+".join(chr(0x4E00 + n) for n in range(100)), "A search is at most 10 words."),
    ("q=zebra", "No messages match “zebra”."),
    ("q=%22NEAR(lunch)", "No messages match “&#34;NEAR(lunch)”."),
    ("q=%22lunch)*", None),
]


def test_the_page_shows_the_form_with_the_reason_or_the_empty_state(people):
    for query, shown in PAGE_STATES:
        response = people["ana"].get("/search/messages?" + query)
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and 'id="message-search-input"' in html, query
        if shown:
            assert shown in html, query
        else:
            assert "data-search-error" not in html and "data-search-empty" not in html, query


def test_the_page_needs_a_signed_in_user(app):
    response = app.test_client().get("/search/messages?q=x")
    assert response.status_code == 302 and response.location.startswith("/login")


def test_search_is_offered_in_the_navigation_and_in_each_conversation(people):
    chat = people["chat"]
    home = people["ana"].get("/").get_data(as_text=True)
    assert re.search(r'<form method="get" action="/search/messages" role="search"', home)
    page = people["ana"].get(f"/c/{chat}").get_data(as_text=True)
    link = re.search(r'href="([^"]+)"[^>]*data-search-conversation', page).group(1).replace("&amp;", "&")
    narrowed = people["ana"].get(link + "&q=lunch").get_data(as_text=True)
    assert "In <a" in narrowed and "Bob Lima" in narrowed and narrowed.count("data-search-result\n") == 1


def test_message_search_is_rate_limited(sqlite_databases):
    """The page and the API each allow RATELIMIT_SEARCH_PER_USER searches per account."""
    url = sqlite_databases.create()
    app = create_app(app_config(url, RATELIMIT_ENABLED=True, RATELIMIT_SEARCH_PER_USER="2/minute"))
    try:
        client = app.test_client()
        AuthActions(client).register()
        for path in ("/api/search?q=a", "/search/messages?q=a"):
            assert [client.get(path).status_code for _ in range(2)] == [200, 200]
            refused = client.get(path)
            assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert client.get("/api/search?q=a").get_json()["ok"] is False
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        sqlite_databases.drop(url)
