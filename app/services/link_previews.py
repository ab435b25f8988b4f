"""Link previews: the first http(s) link of a message gets a card (title, description, site name,
picture) from the page's Open Graph tags, else its <title> and meta description.

A card is one LinkPreview row per URL, shared by every message linking it. Sending (or editing) a
message points it at the URL's row (card_for): a card fetched within LINK_PREVIEW_TTL_SECONDS shows
at once; otherwise, once the send commits, a green thread of the server fetches it
(app.link_fetcher: public addresses only, bounded in time and size), re-encodes its picture
(app.services.pictures, in a subprocess) and stores it in a transaction of its own, then every
message pointing at the row is sent again as "message_updated". At most LINK_PREVIEW_WORKERS
fetches run at once per worker, LINK_PREVIEW_QUEUE more wait, each user starts at most
RATELIMIT_LINK_PREVIEWS_PER_USER; a message beyond those bounds is simply sent without a card. Only
the server's green process fetches (not the CLI nor a test's app without a server).
"""

import hashlib
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from flask import Flask, current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from app import events, link_fetcher
from app.concurrency import cooperate, green_library, lane
from app.extensions import db
from app.models.base import utcnow
from app.models.chat import (
    PREVIEW_DESCRIPTION_MAX_LENGTH,
    PREVIEW_FAILED,
    PREVIEW_READY,
    PREVIEW_SITE_MAX_LENGTH,
    PREVIEW_TITLE_MAX_LENGTH,
    PREVIEW_URL_MAX_LENGTH,
    LinkPreview,
    Message,
)
from app.names import visible_url
from app.rate_limits import RateLimited, check_link_preview
from app.services import ServiceError, formatting

log = logging.getLogger(__name__)

LANE = "link-previews"
# A fetch that began this long ago and never ended (its worker died) may be taken over.
CLAIM_SECONDS = 60
# The messages one fetched card updates at most (the newest ones pointing at it).
UPDATE_AT_MOST = 50
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
PARSE_CHUNK = 64 * 1024

_waiting = 0
_waiting_lock = threading.Lock()


def url_hash(url: str) -> str:
    """The key of a URL's card: its SHA-256, hex."""
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


def enabled() -> bool:
    """Whether link previews are on (LINK_PREVIEWS)."""
    return bool(current_app.config.get("LINK_PREVIEWS"))


def card_for(user_id: int, body: str) -> LinkPreview | None:
    """The card row of the first link of a message the user is sending or editing to `body` (None
    without a link, or with previews off), made if the URL has none yet. When its card is missing
    or older than LINK_PREVIEW_TTL_SECONDS and no fetch is under way, a fetch is queued for after
    the commit (within the user's RATELIMIT_LINK_PREVIEWS_PER_USER)."""
    if not enabled() or not body or ("http" not in body and "www." not in body.lower()):
        return None
    url = formatting.first_link(body)
    url = visible_url(url) if url else None
    if url is None or len(url) > PREVIEW_URL_MAX_LENGTH:
        return None
    key = url_hash(url)
    preview = db.session.scalar(select(LinkPreview).where(LinkPreview.url_hash == key))
    if preview is None:
        try:
            with db.session.begin_nested():
                preview = LinkPreview(url_hash=key, url=url, created_at=utcnow())
                db.session.add(preview)
        except IntegrityError:  # the same link sent at the same moment: that row is ours too
            preview = db.session.scalar(select(LinkPreview).where(LinkPreview.url_hash == key))
    if _needs_fetch(preview):
        try:
            check_link_preview(user_id)
        except RateLimited:
            log.info("link preview of user %s not fetched: over their limit", user_id)
        else:
            app, preview_id = current_app._get_current_object(), preview.id
            events.after_commit(lambda: spawn(app, preview_id))
    return preview


def _stale_before():
    return utcnow() - timedelta(seconds=current_app.config["LINK_PREVIEW_TTL_SECONDS"])


def _claimable():
    """The condition on a row that a fetch may take: its card missing or stale, no live fetch on it."""
    now = utcnow()
    return (
        or_(LinkPreview.fetched_at.is_(None), LinkPreview.fetched_at < _stale_before()),
        or_(LinkPreview.claimed_at.is_(None), LinkPreview.claimed_at < now - timedelta(seconds=CLAIM_SECONDS)),
    )


def _needs_fetch(preview: LinkPreview) -> bool:
    stale = preview.fetched_at is None or preview.fetched_at < _stale_before()
    claimed = preview.claimed_at is not None and preview.claimed_at >= utcnow() - timedelta(seconds=CLAIM_SECONDS)
    return stale and not claimed


def spawn(app: Flask, preview_id: int) -> None:
    """Start fetching the card in a green thread of the server (a no-op outside the green server,
    or when LINK_PREVIEW_QUEUE fetches already wait)."""
    global _waiting
    if green_library() is None:
        return
    with _waiting_lock:
        if _waiting >= app.config["LINK_PREVIEW_WORKERS"] + app.config["LINK_PREVIEW_QUEUE"]:
            log.warning("link preview %s not fetched: too many fetches waiting", preview_id)
            return
        _waiting += 1
    from app.extensions import socketio

    socketio.start_background_task(_fetch_in_background, app, preview_id)


def _fetch_in_background(app: Flask, preview_id: int) -> None:
    """The background door: claim the row, fetch, store and publish, each write in its transaction."""
    global _waiting
    from app.transactions import transaction

    try:
        with lane(LANE, app.config["LINK_PREVIEW_WORKERS"]), app.app_context():
            with transaction():
                url = claim(preview_id)
            if url is None:
                return
            db.session.remove()  # no connection held during the fetch
            card = fetch_card(url)
            with transaction():
                store(preview_id, card)
    except Exception:  # noqa: BLE001 - a background job: nobody to answer, the message stands
        log.exception("link preview %s failed", preview_id)
    finally:
        with _waiting_lock:
            _waiting -= 1


def claim(preview_id: int) -> str | None:
    """Take the row for one fetch (across workers: a conditional UPDATE): its URL, or None when its
    card is fresh or another fetch holds it."""
    claimed = db.session.execute(
        update(LinkPreview)
        .where(LinkPreview.id == preview_id, *_claimable())
        .values(claimed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        return None
    return db.session.scalar(select(LinkPreview.url).where(LinkPreview.id == preview_id))


@dataclass(frozen=True)
class Card:
    """What a page gave for its card."""

    title: str
    description: str
    site_name: str
    image: bytes | None = None
    image_width: int | None = None
    image_height: int | None = None


def store(preview_id: int, card: Card | None) -> int:
    """Keep a fetched card (None: the fetch failed, which is kept too, for the TTL) and queue
    "message_updated" for the messages that show it (the UPDATE_AT_MOST newest not deleted). Returns
    how many were told."""
    from app.services.messaging import publish_update

    values = {"fetched_at": utcnow(), "claimed_at": None}
    if card is None:
        values |= {"status": PREVIEW_FAILED}
    else:
        image_hash = hashlib.sha256(card.image).hexdigest()[:32] if card.image else None
        values |= {
            "status": PREVIEW_READY,
            "title": card.title,
            "description": card.description,
            "site_name": card.site_name,
            "image": card.image,
            "image_hash": image_hash,
            "image_width": card.image_width,
            "image_height": card.image_height,
        }
    db.session.execute(
        update(LinkPreview)
        .where(LinkPreview.id == preview_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if card is None:
        return 0
    messages = list(
        db.session.scalars(
            select(Message)
            .where(Message.link_preview_id == preview_id, Message.deleted_at.is_(None))
            .order_by(Message.id.desc())
            .limit(UPDATE_AT_MOST)
        )
    )
    for message in messages:
        publish_update(message)
    return len(messages)


# --- reading the page -----------------------------------------------------------------------------


def _policy(**options) -> link_fetcher.Policy:
    config = current_app.config
    return link_fetcher.Policy(
        timeout=config["LINK_PREVIEW_TIMEOUT_SECONDS"],
        allowed=link_fetcher.allowed_pairs(config["LINK_PREVIEW_ALLOWED_HOSTS"]),
        **options,
    )


def fetch_card(url: str) -> Card | None:
    """Fetch the page and its picture through app.link_fetcher and read its card; None when the
    page cannot be had or says nothing a card could show."""
    try:
        page = link_fetcher.fetch(url, _policy(max_bytes=current_app.config["LINK_PREVIEW_MAX_BYTES"], truncate=True))
    except link_fetcher.Refused as refusal:
        log.info("link preview of %s not fetched: %s", urlsplit(url).hostname, refusal)
        return None
    meta = read_meta(page.body, page.charset)
    title = _clip(meta.get("og:title") or meta.get("twitter:title") or meta.get("title"), PREVIEW_TITLE_MAX_LENGTH)
    description = _clip(
        meta.get("og:description") or meta.get("twitter:description") or meta.get("description"),
        PREVIEW_DESCRIPTION_MAX_LENGTH,
    )
    site_name = _clip(meta.get("og:site_name"), PREVIEW_SITE_MAX_LENGTH)
    if not title and not description:
        return None
    image = _picture(page.url, meta.get("og:image") or meta.get("twitter:image"))
    return Card(title, description, site_name, *(image or (None, None, None)))


def _picture(page_url: str, address: str | None) -> tuple[bytes, int, int] | None:
    """The page's picture (resolved against the page's URL) fetched through the same guard and
    re-encoded; None when there is none or it fails."""
    from app.services import pictures

    if not address:
        return None
    url = urljoin(page_url, address.strip())
    if urlsplit(url).scheme not in ("http", "https"):
        return None
    try:
        fetched = link_fetcher.fetch(
            url, _policy(max_bytes=current_app.config["LINK_PREVIEW_IMAGE_MAX_BYTES"], content_types=IMAGE_TYPES)
        )
        return pictures.link_preview(fetched.body)
    except link_fetcher.Refused as refusal:
        log.info("link preview picture of %s not fetched: %s", urlsplit(url).hostname, refusal)
    except ServiceError as refusal:
        log.info("link preview picture of %s refused: %s", urlsplit(url).hostname, refusal.message)
    return None


def _clip(text: str | None, length: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


class _MetaReader(HTMLParser):
    """Collects <meta property|name=... content=...> (first of each) and the first <title>'s text,
    until the head ends."""

    WANTED = {
        "og:title",
        "og:description",
        "og:image",
        "og:image:url",
        "og:image:secure_url",
        "og:site_name",
        "twitter:title",
        "twitter:description",
        "twitter:image",
        "description",
    }

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.in_title = False
        self.title: list[str] = []
        self.done = False

    def handle_starttag(self, tag, attrs):
        if self.done:
            return
        if tag == "meta":
            values = {name.lower(): value or "" for name, value in attrs if name}
            key = (values.get("property") or values.get("name") or "").strip().lower()
            if key in self.WANTED and "content" in values:
                self.meta.setdefault(key, values["content"])
        elif tag == "title" and not self.title:
            self.in_title = True
        elif tag == "body":
            self.done = True

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        elif tag == "head":
            self.done = True

    def handle_data(self, data):
        if self.in_title and not self.done:
            self.title.append(data)


def read_meta(body: bytes, charset: str | None = None) -> dict[str, str]:
    """The card's tags of an HTML page: {"og:title": ..., "description": ..., "title": <title>'s
    text, "og:image": ...}, read with the standard library's HTML parser up to the end of <head>."""
    try:
        text = body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = body.decode("utf-8", errors="replace")
    reader = _MetaReader()
    for start in range(0, len(text), PARSE_CHUNK):
        reader.feed(text[start : start + PARSE_CHUNK])
        if reader.done:
            break
        cooperate()
    meta = dict(reader.meta)
    for secure in ("og:image:secure_url", "og:image:url"):
        if secure in meta and "og:image" not in meta:
            meta["og:image"] = meta[secure]
    title = "".join(reader.title).strip()
    if title:
        meta["title"] = title
    return meta


def image(preview_id: int, image_hash: str) -> bytes | None:
    """A card's stored picture when `image_hash` is its hash (None otherwise, as for no card)."""
    row = db.session.execute(
        select(LinkPreview.image_hash, LinkPreview.image).where(LinkPreview.id == preview_id)
    ).one_or_none()
    if row is None or not row.image_hash or row.image_hash != image_hash or row.image is None:
        return None
    return row.image
