"""Message search over the engine's full-text index, limited to the conversations a user is in now.

The index lives outside the models (see app.models.chat SEARCH_*): SQLite has an FTS5 table
`messages_fts` (unicode61 tokenizer, diacritics removed) kept in step with messages.body by
triggers; PostgreSQL a generated tsvector column `messages.search_vector` ('simple' configuration)
with a GIN index. Either way edits and deletes (body emptied) reach the index in the same
transaction.

A query is cut into words (runs of letters and digits), at most QUERY_MAX_WORDS of them; a message
matches when every word is the start of one of its words, case-insensitively (a one-character word
must be a whole word: as a prefix it would read most of the index). User text never reaches the
engine's query syntax: each word is quoted in the engine's own way, and words hold only letters and
digits.

The work per search is bounded whatever the input: at most QUERY_MAX_WORDS index lookups, and a
snippet folds each body word at most once, and only up to its first match (looked for in the first
SNIPPET_SCAN_LENGTH characters) and then to the snippet's end; between two snippets the server
serves its other clients.

The engines differ in one thing people notice: SQLite ignores accents ("cafe" finds "café" and
the other way round), PostgreSQL's 'simple' configuration does not (that would need the unaccent
extension, which the schema does not install). PostgreSQL's parser also keeps some compounds whole
(an e-mail address, "3.14"), so searching for one of their parts may miss them there.
"""

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import and_, column, func, literal_column, select, table

from app.concurrency import cooperate
from app.extensions import db
from app.models.chat import (
    DIRECT,
    SEARCH_INDEX_TABLE,
    SEARCH_VECTOR_COLUMN,
    Conversation,
    Membership,
    Message,
)
from app.models.user import User
from app.services import ServiceError, is_db_int, page_size
from app.services.conversations import direct_partners, require_member

QUERY_MAX_LENGTH = 200
QUERY_MAX_WORDS = 10
PREFIX_MIN_LENGTH = 2  # shorter words match whole words only
DEFAULT_LIMIT = 20
MAX_LIMIT = 50
SNIPPET_LENGTH = 160  # characters of body around the first match
SNIPPET_LEAD = 50  # of which before it, at most
SNIPPET_SCAN_LENGTH = 1000  # characters of a body in which the first match is looked for

# A word as both engines' tokenizers see it, near enough: a run of letters and digits.
WORD = re.compile(r"[^\W_]+")

Snippet = list[tuple[str, bool]]


@dataclass(frozen=True)
class SearchHit:
    """One found message, the conversation it is in (`other`: the partner of a direct chat, for the
    title the user sees) and the text around its first match as (text, matched) parts."""

    message: Message
    conversation: Conversation
    other: User | None
    snippet: Snippet


@dataclass(frozen=True)
class SearchResults:
    """A page of hits, newest first; `has_more`: older hits follow (ask again with before=the last
    hit's message id)."""

    hits: list[SearchHit]
    has_more: bool


def fold(text: str) -> str:
    """Text as the SQLite index compares it: case-folded, accents removed."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def query_words(query) -> list[str]:
    """The words of a search query, in order, without repeats; ServiceError (invalid) when the
    query is not text, is blank, longer than QUERY_MAX_LENGTH, holds no letter or digit or more
    than QUERY_MAX_WORDS different words."""
    if not isinstance(query, str) or not query.strip():
        raise ServiceError("Type something to search for.", "q", code="invalid")
    if len(query) > QUERY_MAX_LENGTH:
        raise ServiceError(f"A search is at most {QUERY_MAX_LENGTH} characters.", "q", code="invalid")
    words = list(dict.fromkeys(WORD.findall(unicodedata.normalize("NFC", query).casefold())))
    if not words:
        raise ServiceError("Search for words: use letters or digits.", "q", code="invalid")
    if len(words) > QUERY_MAX_WORDS:
        raise ServiceError(f"A search is at most {QUERY_MAX_WORDS} words.", "q", code="invalid")
    return words


def is_prefix(word: str) -> bool:
    """Whether a query word matches the words it begins (else only itself)."""
    return len(word) >= PREFIX_MIN_LENGTH


def fts5_match(words: list[str]) -> str:
    """An FTS5 MATCH expression: every word quoted, as a prefix ("word"*) unless it is one character,
    all required. A word holds no quote (see WORD), so nothing in it is read as query syntax."""
    return " AND ".join('"{}"{}'.format(word.replace('"', ""), "*" if is_prefix(word) else "") for word in words)


def tsquery_text(words: list[str]) -> str:
    """A to_tsquery() input: every word quoted, as a prefix ('word':*) unless it is one character,
    joined by &. A word holds no quote or backslash (see WORD), so nothing in it is read as tsquery
    syntax."""
    return " & ".join(
        "'{}'{}".format(word.replace("'", "").replace("\\", ""), ":*" if is_prefix(word) else "") for word in words
    )


def _match_clause(words: list[str]):
    """The WHERE clause matching all words through the engine's index."""
    if db.engine.dialect.name == "sqlite":
        index = table(SEARCH_INDEX_TABLE, column("rowid"))
        matching = select(index.c.rowid).where(literal_column(SEARCH_INDEX_TABLE).op("MATCH")(fts5_match(words)))
        return Message.id.in_(matching)
    vector = literal_column(f"{Message.__tablename__}.{SEARCH_VECTOR_COLUMN}")
    return vector.op("@@")(func.to_tsquery("simple", tsquery_text(words)))


def search(user: User, query, conversation_id=None, before=None, limit=None) -> SearchResults:
    """The user's messages matching every word of `query`, newest first.

    Only conversations the user is in now (leaving a group takes its history out of their search),
    never deleted messages. `conversation_id` narrows to one conversation (not_found unless the
    user is in it); `before` (a message id) continues after the previous page's last hit.
    """
    words = query_words(query)
    limit = page_size(limit, DEFAULT_LIMIT, MAX_LIMIT)
    if before is not None and not is_db_int(before, minimum=1):
        raise ServiceError("before must be a message id.", "before", code="invalid")
    ids = (
        select(Message.id)
        .join(
            Membership,
            and_(Membership.conversation_id == Message.conversation_id, Membership.user_id == user.id),
        )
        .where(_match_clause(words), Message.deleted_at.is_(None))
    )
    if conversation_id is not None:
        ids = ids.where(Message.conversation_id == require_member(user, conversation_id).conversation_id)
    if before is not None:
        ids = ids.where(Message.id < before)
    found = list(db.session.scalars(ids.order_by(Message.id.desc()).limit(limit + 1)))
    has_more = len(found) > limit
    found = found[:limit]
    if not found:
        return SearchResults([], has_more)
    messages = {message.id: message for message in db.session.scalars(select(Message).where(Message.id.in_(found)))}
    conversation_ids = {message.conversation_id for message in messages.values()}
    places = {
        conversation.id: conversation
        for conversation in db.session.scalars(select(Conversation).where(Conversation.id.in_(conversation_ids)))
    }
    partners = direct_partners(user, [cid for cid, place in places.items() if place.kind == DIRECT])
    hits = []
    for message_id in found:
        cooperate()  # a snippet is CPU work: let the server's other clients in between
        message = messages[message_id]
        place = places[message.conversation_id]
        hits.append(SearchHit(message, place, partners.get(place.id), snippet(message.body, words)))
    return SearchResults(hits, has_more)


def snippet(body: str, words: list[str], length: int = SNIPPET_LENGTH) -> Snippet:
    """The part of `body` around its first word that `words` match (see is_prefix), as (text,
    matched) parts with every such word marked; "…" where the body was cut. Plain text: whoever
    shows it escapes the text and wraps the matched parts (never build HTML from it by hand).

    Linear and bounded: each body word is folded at most once, up to the first match and then up to
    the snippet's end. The first match is looked for among the words that begin in the first
    SNIPPET_SCAN_LENGTH characters; a body that matches only further on shows its beginning."""
    matches = _matcher(words)
    found = WORD.finditer(body)
    spans = []
    for match in found:
        if match.start() >= SNIPPET_SCAN_LENGTH:
            break
        if matches(match.group()):
            spans.append(match.span())
            break
    first = spans[0][0] if spans else 0
    start = 0 if first <= SNIPPET_LEAD else _word_start(body, first - SNIPPET_LEAD)
    end = min(len(body), start + length)
    if end < len(body):
        end = _word_end(body, end, minimum=max(start + 1, first + 1))
    if spans:
        for match in found:  # the words after the first match, up to the snippet's end
            if match.start() >= end:
                break
            if matches(match.group()):
                spans.append(match.span())
    parts: Snippet = []
    if start > 0:
        parts.append(("…", False))
    position = start
    for span_start, span_end in spans:
        span_start, span_end = max(span_start, start), min(span_end, end)
        if span_start > position:
            parts.append((body[position:span_start], False))
        parts.append((body[span_start:span_end], True))
        position = span_end
    if end > position:
        parts.append((body[position:end], False))
    if end < len(body):
        if parts and not parts[-1][1]:
            parts[-1] = (parts[-1][0].rstrip(), False)
        parts.append(("…", False))
    return [part for part in parts if part[0]]


def _matcher(words: list[str]):
    """A test of one body word against the query words, as the index matches them: folded once."""
    whole = {fold(word) for word in words if not is_prefix(word)}
    prefixes = tuple(fold(word) for word in words if is_prefix(word))

    def matches(word: str) -> bool:
        folded = fold(word)
        return folded in whole or folded.startswith(prefixes)

    return matches


def _word_start(body: str, index: int) -> int:
    """index moved forward to the start of the next word (so a snippet does not open mid-word)."""
    match = WORD.search(body, index)
    if match is None or match.start() - index > 20:
        return index
    if index > 0 and WORD.match(body[index - 1]) and match.start() == index:
        following = WORD.search(body, match.end())
        return following.start() if following and following.start() - index <= 20 else index
    return match.start()


def _word_end(body: str, index: int, minimum: int) -> int:
    """index moved back to the end of a word (so a snippet does not close mid-word)."""
    cut = index
    while cut > minimum and WORD.match(body[cut - 1]) and WORD.match(body[cut]):
        cut -= 1
    return cut if cut > minimum and index - cut <= 20 else index
