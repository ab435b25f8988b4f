"""Link previews: a local HTTP server stands in for the internet. The fetcher's refusals are proved
by calling it directly (private and metadata addresses, names resolving to them, redirects into
them, too many redirects, too big, too slow, not HTML); the card itself over a real server and
sockets (sent after the commit as message_updated, cached per URL, its picture re-encoded), and live
in Chromium for the other person."""

import io
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from app import create_app, events, link_fetcher
from app.config import STRONG_PASSWORD_HASH, ConfigError, check_production_config, load_config
from app.extensions import db
from app.models import LinkPreview, Message
from app.services import conversations, editing, link_previews, messaging, social
from tests import images
from tests.conftest import TEST_PASSWORD, LiveServer, app_config, door
from tests.realtime import GRACE, befriend, direct_chat
from tests.test_browser_chat import composer, open_direct_chat

PAGE = b"""<!doctype html><html><head><meta charset="utf-8">
<title>Fallback title</title>
<meta property="og:title" content="Dunes at dawn &amp; dusk">
<meta property="og:description" content="Sand, light and a long walk.">
<meta property="og:site_name" content="Dune Diary">
<meta property="og:image" content="/pictures/dunes.jpg">
</head><body><p>Hello</p></body></html>"""
PLAIN_PAGE = b"""<html><head><title> Only a  title </title>
<meta name="description" content="And a meta description."></head><body></body></html>"""
OTHER_PAGE = b"""<html><head><meta property="og:title" content="The second page"></head></html>"""


class Site:
    """A local web server on 127.0.0.1 counting the requests of each path (and their headers)."""

    def __init__(self, routes: dict):
        self.routes = routes
        self.requests: list[tuple[str, dict]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.requests.append((self.path, dict(self.headers)))
                route = site.routes.get(self.path.split("?")[0])
                try:
                    if route is None:
                        self.send_error(404)
                    else:
                        route(self)
                except (BrokenPipeError, ConnectionResetError):  # the fetcher hung up: as it should
                    pass

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self, path: str) -> int:
        return sum(1 for requested, _headers in self.requests if requested == path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def answer(body: bytes, content_type: str = "text/html; charset=utf-8", status: int = 200, **headers):
    def respond(handler):
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def redirect(location: str):
    return answer(b"", status=302, Location=location)


def slowly(handler):
    time.sleep(3)
    answer(PAGE)(handler)


def dripping(handler):
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Content-Length", str(len(PAGE)))
    handler.end_headers()
    for start in range(0, len(PAGE), 20):
        handler.wfile.write(PAGE[start : start + 20])
        handler.wfile.flush()
        time.sleep(0.25)


def unbounded(handler):
    """2 MB of HTML without a Content-Length: the reader must stop by itself."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.end_headers()
    for _ in range(32):
        handler.wfile.write(b"<p>" + b"x" * 65536 + b"</p>")


JPEG_WITH_EXIF = images.picture("JPEG", (1600, 900), exif=True)


@pytest.fixture(scope="module")
def private():
    """Another local server: the private network a redirect must never reach."""
    site = Site({"/": answer(PAGE)})
    yield site
    site.close()


@pytest.fixture(scope="module")
def site(private):
    routes = {
        "/page": answer(PAGE),
        "/plain": answer(PLAIN_PAGE),
        "/other": answer(OTHER_PAGE),
        "/browser": answer(
            PAGE.replace(b"Dunes at dawn", b"Seen in the browser").replace(b"dunes.jpg", b"browser.jpg")
        ),
        "/pictures/browser.jpg": answer(JPEG_WITH_EXIF, "image/jpeg"),
        "/pictures/dunes.jpg": answer(JPEG_WITH_EXIF, "image/jpeg"),
        "/to-private": redirect(f"{private.url}/"),
        "/to-metadata": redirect("http://169.254.169.254/latest/meta-data/"),
        "/slow": slowly,
        "/drip": dripping,
        "/big": answer(b"<html>" + b"x" * (1024 * 1024 + 10), "text/html"),
        "/unbounded": unbounded,
        "/text": answer(b"title: no", "text/plain"),
        "/json": answer(b"{}", "application/json"),
    }
    for hop in range(5):
        routes[f"/chain/{hop}"] = redirect(f"/chain/{hop - 1}") if hop else answer(PAGE)
    site = Site(routes)
    yield site
    site.close()


def allowing(site: Site, **options) -> link_fetcher.Policy:
    return link_fetcher.Policy(allowed=frozenset({f"127.0.0.1:{site.port}"}), **options)


# --- the fetcher's refusals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "169.254.1.1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "198.18.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "fd00:ec2::254",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",
        "2002:a00:1::1",
        "2001:db8::1",
    ],
)
def test_private_loopback_link_local_and_metadata_addresses_are_refused(address):
    assert link_fetcher.address_refusal(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001::200e"])
def test_public_addresses_pass(address):
    assert link_fetcher.address_refusal(address) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:127.0.0.1]/",
        "http://localhost/",  # a name that resolves to a loopback address
        "https://localhost/",
        "http://2130706433/",  # 127.0.0.1 written as a number
        "http://0x7f.1/",
    ],
)
def test_private_hosts_are_refused_before_any_connection(url):
    with pytest.raises(link_fetcher.Refused, match="not a public address|metadata|does not resolve"):
        link_fetcher.fetch(url)


def test_the_local_server_is_refused_without_the_allow_setting(site):
    before = site.count("/page")
    with pytest.raises(link_fetcher.Refused, match="port"):
        link_fetcher.fetch(f"{site.url}/page")
    # Allowing another port of the same address allows nothing here.
    with pytest.raises(link_fetcher.Refused):
        link_fetcher.fetch(f"{site.url}/page", link_fetcher.Policy(allowed=frozenset({"127.0.0.1:1"})))
    # Nor does the same port under another name that resolves to it.
    with pytest.raises(link_fetcher.Refused):
        link_fetcher.fetch(f"http://localhost:{site.port}/page", allowing(site))
    assert site.count("/page") == before


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/", "file:///etc/passwd", "gopher://127.0.0.1/", "javascript:alert(1)", "http://:80/", ""],
)
def test_only_http_and_https_urls_are_fetched(url):
    with pytest.raises(link_fetcher.Refused):
        link_fetcher.fetch(url)


def test_credentials_in_the_url_are_refused(site):
    with pytest.raises(link_fetcher.Refused, match="credentials"):
        link_fetcher.fetch(f"http://user:secret@127.0.0.1:{site.port}/page", allowing(site))


def test_the_allowed_server_is_fetched_without_cookies_and_with_our_user_agent(site):
    fetched = link_fetcher.fetch(f"{site.url}/page", allowing(site))
    assert fetched.content_type == "text/html" and fetched.charset == "utf-8" and fetched.body == PAGE
    _path, headers = site.requests[-1]
    assert "Cookie" not in headers and "Authorization" not in headers
    assert headers["User-Agent"] == link_fetcher.USER_AGENT
    assert headers["Host"] == f"127.0.0.1:{site.port}"


def test_a_redirect_into_a_private_range_is_refused(site, private):
    """The allow setting lets the first hop through, never the private server it redirects to."""
    with pytest.raises(link_fetcher.Refused, match="port|not a public address"):
        link_fetcher.fetch(f"{site.url}/to-private", allowing(site))
    with pytest.raises(link_fetcher.Refused, match="metadata|not a public address"):
        link_fetcher.fetch(f"{site.url}/to-metadata", allowing(site))
    assert private.count("/") == 0


def test_at_most_three_redirects(site):
    assert link_fetcher.fetch(f"{site.url}/chain/3", allowing(site)).url.endswith("/chain/0")
    with pytest.raises(link_fetcher.Refused, match="more than 3 redirects"):
        link_fetcher.fetch(f"{site.url}/chain/4", allowing(site))


def test_a_body_over_one_megabyte_is_refused_or_cut(site):
    with pytest.raises(link_fetcher.Refused, match="larger than"):
        link_fetcher.fetch(f"{site.url}/big", allowing(site))
    with pytest.raises(link_fetcher.Refused, match="larger than"):
        link_fetcher.fetch(f"{site.url}/unbounded", allowing(site))
    # A page (whose head comes first) is read up to the limit and no further.
    cut = link_fetcher.fetch(f"{site.url}/unbounded", allowing(site, truncate=True))
    assert cut.truncated and len(cut.body) == 1024 * 1024


@pytest.mark.parametrize("path", ["/slow", "/drip"])
def test_a_slow_server_runs_out_of_time(site, path):
    """The deadline covers the whole fetch: a server that answers only after it, or drips its body
    so that every read succeeds, is cut off (both would succeed without it)."""
    with pytest.raises(link_fetcher.Refused, match="out of time"):
        link_fetcher.fetch(f"{site.url}{path}", allowing(site, timeout=1))


@pytest.mark.parametrize("path", ["/text", "/json", "/pictures/dunes.jpg"])
def test_only_html_is_read_as_a_page(site, path):
    with pytest.raises(link_fetcher.Refused, match="content type"):
        link_fetcher.fetch(f"{site.url}{path}", allowing(site))


def test_the_card_falls_back_to_the_title_and_meta_description():
    meta = link_previews.read_meta(PLAIN_PAGE)
    assert meta["title"] == "Only a  title" and meta["description"] == "And a meta description."
    assert link_previews.read_meta(PAGE)["og:title"] == "Dunes at dawn & dusk"
    # Nothing past the head is read: a <meta> in the body does not count.
    late = b"<html><head></head><body><meta property='og:title' content='late'></body></html>"
    assert "og:title" not in link_previews.read_meta(late)


def test_the_allow_setting_is_refused_in_production(monkeypatch, tmp_path):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    monkeypatch.setenv("LINK_PREVIEW_ALLOWED_HOSTS", "127.0.0.1:8123")
    strong = {"SECRET_KEY": "k" * 40, "PASSWORD_HASH_METHOD": STRONG_PASSWORD_HASH}
    settings = {**load_config(str(tmp_path)), **strong}
    assert settings["LINK_PREVIEWS"] is True and settings["LINK_PREVIEW_ALLOWED_HOSTS"] == ["127.0.0.1:8123"]
    with pytest.raises(ConfigError, match="LINK_PREVIEW_ALLOWED_HOSTS"):
        check_production_config(settings)
    monkeypatch.setenv("LINK_PREVIEW_ALLOWED_HOSTS", "")
    monkeypatch.setenv("LINK_PREVIEWS", "0")
    settings = {**load_config(str(tmp_path)), **strong}
    check_production_config(settings)
    assert settings["LINK_PREVIEWS"] is False


# --- the service, without a server ---------------------------------------------------------------


def test_previews_off_no_card_and_no_request(ctx, make_user, site):
    """LINK_PREVIEWS off (the tests' default): a link makes no row, no fetch, no card."""
    assert ctx.config["LINK_PREVIEWS"] is False
    ana, bob = make_user(), make_user()
    door(social.send_request, ana, bob.username)
    door(social.accept_request, bob, ana.username)
    chat = door(conversations.open_direct, ana, bob.username)
    before = len(site.requests)
    sent, _created = door(messaging.send_message, ana, chat.id, f"see {site.url}/page", "c-1")
    assert sent["link_preview"] is None and "data-link-preview" not in sent["html"]
    assert db.session.scalar(select(Message.link_preview_id).where(Message.id == sent["id"])) is None
    assert db.session.scalars(select(LinkPreview)).all() == []
    assert len(site.requests) == before


def test_a_fetched_card_shows_on_the_message_and_goes_with_an_edit_or_delete(ctx, make_user, site):
    ctx.config.update(LINK_PREVIEWS=True, LINK_PREVIEW_ALLOWED_HOSTS=[f"127.0.0.1:{site.port}"])
    ana, bob = make_user(), make_user()
    door(social.send_request, ana, bob.username)
    door(social.accept_request, bob, ana.username)
    chat = door(conversations.open_direct, ana, bob.username)
    sent, _created = door(messaging.send_message, ana, chat.id, f"see {site.url}/plain and {site.url}/page", "c-1")
    assert sent["link_preview"] is None  # not fetched yet: only the first link counts
    preview_id = db.session.scalar(select(Message.link_preview_id).where(Message.id == sent["id"]))
    url = door(link_previews.claim, preview_id)
    assert url == f"{site.url}/plain"
    assert door(link_previews.claim, preview_id) is None  # one fetch at a time
    told = door(link_previews.store, preview_id, link_previews.fetch_card(url))
    assert told == 1
    shown = door(messaging.history, bob, chat.id)[0][0]
    from app.serializers import message_dict

    card = message_dict(shown)["link_preview"]
    assert card["title"] == "Only a title" and card["description"] == "And a meta description."
    assert card["image_url"] is None and card["host"] == "127.0.0.1"

    edited = door(editing.edit_message, ana, sent["id"], "no link any more")
    assert edited["link_preview"] is None
    again = door(editing.edit_message, ana, sent["id"], f"back to {site.url}/plain")
    assert again["link_preview"]["title"] == "Only a title"  # cached: at once, no fetch
    deleted = door(editing.delete_message, ana, sent["id"])
    assert deleted["link_preview"] is None and "data-link-preview" not in deleted["html"]


def test_each_user_starts_a_bounded_number_of_fetches(sqlite_databases, site):
    """Past RATELIMIT_LINK_PREVIEWS_PER_USER a user's messages are sent without queueing a fetch;
    another user's still queue theirs."""
    url = sqlite_databases.create()
    app = create_app(
        app_config(
            url,
            RATELIMIT_ENABLED=True,
            RATELIMIT_LINK_PREVIEWS_PER_USER="2/minute",
            LINK_PREVIEWS=True,
            LINK_PREVIEW_ALLOWED_HOSTS=[f"127.0.0.1:{site.port}"],
        )
    )
    with app.test_request_context():
        from app.services import accounts

        ana, bob = (door(accounts.register_user, name, TEST_PASSWORD, "Ana", "Lima") for name in ("ana_rl", "bob_rl"))

        def queued(user, body: str) -> int:
            with db.session.begin():
                link_previews.card_for(user.id, body)
                return events.pending_count()

        assert [queued(ana, f"{site.url}/page?{n}") for n in range(4)] == [1, 1, 0, 0]
        assert queued(bob, f"{site.url}/page?bob") == 1
        assert queued(ana, "no link here") == 0
        db.session.remove()
        db.engine.dispose()
    sqlite_databases.drop(url)


# --- over a real server and sockets --------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgres-gevent"])
def live_server(request, site, tmp_path_factory):
    """A real server (eventlet on SQLite, gevent on PostgreSQL) with previews on, allowed to reach
    the local site alone."""
    engine, _, async_mode = request.param.partition("-")
    databases = request.getfixturevalue(f"{engine}_databases")
    server = LiveServer(
        databases.create(),
        tmp_path_factory.mktemp("previews") / "server.log",
        ASYNC_MODE=async_mode or "eventlet",
        LINK_PREVIEWS="1",
        LINK_PREVIEW_ALLOWED_HOSTS=f"127.0.0.1:{site.port}",
        LINK_PREVIEW_TIMEOUT_SECONDS="2",
    )
    yield server
    server.stop()


# A fetch re-encodes its picture in a subprocess: on a loaded machine that takes longer than an event.
FETCH_TIMEOUT = 30


def updated(tab, predicate) -> list:
    """Wait (bounded by FETCH_TIMEOUT) for a message_updated matching predicate; all that match."""
    with tab.changed:
        tab.changed.wait_for(lambda: tab.received("message_updated", predicate), FETCH_TIMEOUT)
        return tab.received("message_updated", predicate)


@pytest.fixture(scope="module")
def stored(live_server):
    """Read a URL's stored card from the live server's database: stored(url) -> (LinkPreview, image)."""
    app = create_app(app_config(live_server.database_url))

    def read(url: str) -> tuple[LinkPreview, bytes | None]:
        with app.app_context():
            preview = db.session.scalar(select(LinkPreview).where(LinkPreview.url == url))
            image = preview.image
            db.session.expunge(preview)
            db.session.remove()
        return preview, image

    yield read
    with app.app_context():
        db.engine.dispose()


def test_a_card_arrives_after_the_send_and_is_cached_per_url(live_server, http_user, open_socket, site, stored):
    ana, bob = http_user().register(), http_user().register()
    befriend(ana, bob)
    chat = direct_chat(ana, bob)
    ana_tab, bob_tab = open_socket(ana), open_socket(bob)
    url = f"{site.url}/page"
    fetches = lambda: (site.count("/page"), site.count("/pictures/dunes.jpg"))  # noqa: E731
    before = fetches()

    sent = ana_tab.send(chat, f"look {url} (so nice)")
    assert sent["link_preview"] is None  # the send did not wait for the fetch
    for tab in (ana_tab, bob_tab):
        (update,) = updated(tab, lambda m: m["id"] == sent["id"])
        card = update["link_preview"]
        assert card["title"] == "Dunes at dawn & dusk" and card["site_name"] == "Dune Diary"
        assert card["description"] == "Sand, light and a long walk."
        assert "data-link-preview" in update["html"] and "Dunes at dawn &amp; dusk" in update["html"]
        assert card["image_url"] in update["html"] and site.url not in card["image_url"]
    assert fetches() == (before[0] + 1, before[1] + 1)

    # The picture: re-encoded (WebP, at most 600 px, no EXIF), served by our own route.
    preview, data = stored(url)
    assert preview.status == "ready"
    with Image.open(io.BytesIO(data)) as picture:
        assert picture.format == "WEBP" and max(picture.size) == 600
        assert "exif" not in picture.info and not picture.getexif()
    served = bob.http.get(live_server.url + card["image_url"], timeout=10)
    assert served.status_code == 200 and served.content == data
    assert served.headers["Content-Type"] == "image/webp"
    assert "immutable" in served.headers["Cache-Control"] and served.headers["X-Content-Type-Options"] == "nosniff"
    assert http_user().http.get(live_server.url + card["image_url"], timeout=10, allow_redirects=False).status_code in (
        302,
        401,
    )

    # The same link again: its card comes with the send, and nothing is fetched again.
    second = bob_tab.send(chat, f"{url} indeed")
    assert second["link_preview"]["title"] == "Dunes at dawn & dusk"
    assert "data-link-preview" in second["html"]
    time.sleep(GRACE)
    assert fetches() == (before[0] + 1, before[1] + 1)

    # Editing to another first link brings that link's card; deleting removes it.
    ack = ana_tab.call("edit_message", {"message_id": sent["id"], "body": f"rather {site.url}/other"})
    assert ack["ok"] is True, ack
    assert updated(
        bob_tab, lambda m: m["id"] == sent["id"] and (m["link_preview"] or {}).get("title") == "The second page"
    )
    ack = ana_tab.call("delete_message", {"message_id": sent["id"]})
    assert ack["ok"] is True, ack
    (gone,) = bob_tab.wait_for("message_updated", lambda m: m["id"] == sent["id"] and m["deleted"])
    assert gone["link_preview"] is None and "data-link-preview" not in gone["html"]


def test_a_refused_link_gets_no_card(live_server, http_user, open_socket, site, private, stored):
    """In the green server too: a redirect into a private range, a text/plain answer, a server too
    slow to answer and one dripping its body past the deadline (2 s here) each end as a failed
    fetch, and their messages are never updated."""
    ana, bob = http_user().register(), http_user().register()
    befriend(ana, bob)
    chat = direct_chat(ana, bob)
    bob_tab = open_socket(bob)
    ana_tab = open_socket(ana)
    marker = uuid.uuid4().hex
    refused = [ana_tab.send(chat, f"{site.url}{path}?{marker}") for path in ("/to-private", "/text", "/slow", "/drip")]
    third = ana_tab.send(chat, f"{site.url}/chain/1?{marker}")
    assert updated(bob_tab, lambda m: m["id"] == third["id"])
    # Every fetch ended (bounded wait): the refused ones as failed, and their messages never updated.
    statuses = {}
    for _attempt in range(200):
        statuses = {sent["body"]: stored(sent["body"])[0].status for sent in refused}
        if "pending" not in statuses.values():
            break
        time.sleep(0.1)
    assert set(statuses.values()) == {"failed"}, statuses
    assert not bob_tab.received("message_updated", lambda m: m["id"] in {sent["id"] for sent in refused})
    assert private.count("/") == 0


# --- in the browser ------------------------------------------------------------------------------


@pytest.mark.parametrize("live_server", ["sqlite"], indirect=True)
def test_the_card_appears_live_for_the_other_person(new_page, site):
    ana, _ana_name, bob, _bob_name = open_direct_chat(new_page)
    composer(ana).fill(f"the dunes {site.url}/browser")
    composer(ana).press("Enter")
    card = bob.locator("li[data-message] [data-link-preview]")
    expect(card).to_have_count(1, timeout=FETCH_TIMEOUT * 1000)
    title = card.get_by_role("link", name="Seen in the browser & dusk")
    expect(title).to_have_attribute("href", f"{site.url}/browser")
    expect(title).to_have_attribute("target", "_blank")
    expect(card.locator("img[data-link-preview-image]")).to_have_attribute("alt", "")
    expect(card.locator("img[data-link-preview-image]")).to_have_js_property("complete", True)
    assert card.locator("img").evaluate("img => img.naturalWidth") == 600
    expect(card).to_contain_text("Sand, light and a long walk.")
    expect(ana.locator("li[data-message] [data-link-preview]")).to_have_count(1)
