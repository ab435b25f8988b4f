"""Security in Chromium: the pages never break their Content Security Policy and are served with the
security headers and no inline script; nothing a person types (names, bio, messages, group and room
titles, search queries) ever runs as code or shows other than exactly as typed."""

import re
import uuid
from html.parser import HTMLParser
from urllib.parse import quote, urljoin, urlsplit

import pytest
import requests
from playwright.sync_api import expect

from app import create_app
from app.extensions import db
from app.services import conversations
from app.services.formatting import render_message
from app.transactions import transaction
from tests.conftest import (
    TEST_PASSWORD,
    HttpUser,
    LiveServer,
    app_config,
    register_in_browser,
    unique_username,
    wait_connected,
)
from tests.realtime import befriend, create_group, direct_chat, history
from tests.reliability import record

# Installed in every page and frame before the page's own scripts: a trap that reports any write to
# window.__xss (the payloads' marker) and any alert/confirm/prompt, and a recorder of CSP violations.
# Reports go to the page's own list and, through an exposed function, to the test, so none is lost
# when the page navigates away.
GUARD_SCRIPT = """
(() => {
  const hits = [];
  Object.defineProperty(window, "__securityHits", { value: hits });
  const report = (text) => {
    hits.push(text);
    try { window.__securityReport(text); } catch (error) { /* the page's list still has it */ }
  };
  Object.defineProperty(window, "__xss", {
    configurable: false,
    get() { return undefined; },
    set(value) { report("script ran: window.__xss = " + value + " on " + location.href); },
  });
  for (const name of ["alert", "confirm", "prompt"]) {
    window[name] = (message) => report("script ran: " + name + "(" + message + ") on " + location.href);
  }
  document.addEventListener("securitypolicyviolation", (event) => {
    report("CSP violation on " + location.href + ": " + event.violatedDirective + " blocked "
      + (event.blockedURI || "inline") + " " + (event.sample || ""));
  }, true);
})();
"""

# What user text could have injected: handlers, javascript: URLs, inline scripts, frames, styles.
DOM_AUDIT = """
() => {
  const found = [];
  const urlAttributes = ["href", "src", "action", "formaction", "xlink:href", "data", "srcdoc"];
  for (const element of document.querySelectorAll("*")) {
    for (const attribute of element.attributes) {
      if (/^on/i.test(attribute.name)) found.push(element.tagName + " has " + attribute.name);
      const isUrl = urlAttributes.includes(attribute.name.toLowerCase());
      if (isUrl && /^\\s*(javascript|data|vbscript):/i.test(attribute.value)) {
        found.push(element.tagName + " " + attribute.name + "=" + attribute.value);
      }
    }
    if (element.tagName === "SCRIPT" && !element.src && element.type !== "application/json") {
      found.push("inline script: " + element.textContent.slice(0, 80));
    }
  }
  for (const element of document.body.querySelectorAll("iframe, object, embed, style, base, math, link, meta")) {
    found.push("unexpected <" + element.tagName.toLowerCase() + "> in the body");
  }
  // A message's formatting (app/services/formatting.py): these elements, links to the web or a profile.
  const formatting = ["P", "BR", "STRONG", "EM", "S", "CODE", "PRE", "BLOCKQUOTE", "UL", "OL", "LI"];
  for (const element of document.querySelectorAll("[data-body] *")) {
    const href = element.getAttribute("href") || "";
    const link = element.tagName === "A" && /^(https?:\\/\\/|mailto:|\\/u\\/)/.test(href);
    if (!link && !formatting.includes(element.tagName)) {
      found.push("markup in a message: " + element.outerHTML.slice(0, 120));
    }
  }
  return found;
}
"""

# Every payload is also valid text a person might type; each must come back character for character
# (a message as its text, data-source, and its formatting's text: shown()).
PAYLOADS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=1">',
    '"><svg onload=window.__xss=1>',
    "javascript:window.__xss=1",
    '<a href="javascript:window.__xss=1">click me</a>',
    "</textarea><script>window.__xss=1</script>",
    "</script><script>window.__xss=1</script><!--",
    "{{7*7}} {% if 1 %}jinja{% endif %} ${7*7} #{7*7} <%= 7*7 %>",
    "`${window.__xss=1}` ${alert(1)} '-window.__xss=1-' \";window.__xss=1;//",
    "\u202e<b>gnp.exe</b>\u202c مرحبا שלום 👩\u200d💻 e\u0301 \u200b<i>zero width</i>",
    "&lt;b&gt;not bold&lt;/b&gt; &amp;amp; &#x3c;i&#x3e; &#60;",
    '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
    'https://example.com/?q="><img src=x onerror=window.__xss=1>',
    "https://example.com/a'onmouseover='window.__xss=1' https://example.com/`x`",
    '<style>body{display:none}</style><math><mi xlink:href="javascript:window.__xss=1">m</mi></math>',
    "line one\n<script>window.__xss=1</script>\n  indented <b>line</b>",
]


class Guard:
    """Watches one browser context for scripts that must not run and for CSP violations (reported
    by the page and logged to the console)."""

    def __init__(self, page):
        self.reports: list[str] = []
        page.context.expose_function("__securityReport", self._report)
        page.context.add_init_script(GUARD_SCRIPT)
        page.on("console", self._console)

    def _report(self, text: str) -> None:
        self.reports.append(text)

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.reports.append(f"console: {message.text}")

    def check(self, page, step: str) -> None:
        """Fail unless nothing was reported so far and the page's DOM holds nothing injected."""
        state = page.evaluate(f"() => ({{hits: window.__securityHits || null, dom: ({DOM_AUDIT})()}})")
        assert state["hits"] is not None, f"{step}: the guard script did not run on {page.url}"
        problems = list(dict.fromkeys(self.reports + state["hits"] + state["dom"]))
        assert not problems, f"{step}: {problems}"


@pytest.fixture(scope="module")
def live_server(sqlite_databases, tmp_path_factory):
    """This module's own server, on SQLite only (the walk and the payloads do not depend on the
    engine); community rooms are made on its database as operators do (`flask rooms create`)."""
    url = sqlite_databases.create()
    server = LiveServer(url, tmp_path_factory.mktemp("security") / "server.log")
    yield server
    server.stop()
    sqlite_databases.drop(url)


def create_room(server, title: str) -> int:
    """Open a community room the way `flask rooms create TITLE` does."""
    app = create_app(app_config(server.database_url))
    with app.app_context():
        with transaction():
            room_id = conversations.create_room(title).id
        db.session.remove()
        db.engine.dispose()
    return room_id


def composer(page):
    """The chat page's message box."""
    return page.get_by_role("textbox", name="Message")


def connected(page) -> None:
    """Wait until the page's socket is connected (and so in its rooms)."""
    wait_connected(page)


# --- headers and markup over HTTP ------------------------------------------------------------------

SAFE_REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}


def csp_directives(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as {directive: [sources]}."""
    return {parts[0].lower(): parts[1:] for parts in (part.split() for part in header.split(";")) if parts}


def assert_security_headers(url: str, headers) -> None:
    """CSP without inline script, no plugins, no framing; nosniff; a referrer policy."""
    headers = {name.lower(): value for name, value in headers.items()}
    assert "content-security-policy" in headers, f"{url}: no Content-Security-Policy"
    policy = csp_directives(headers["content-security-policy"])
    script_src = policy.get("script-src", policy.get("default-src"))
    assert script_src, f"{url}: no script-src: {policy}"
    for unsafe in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"):
        assert unsafe not in script_src, f"{url}: script-src allows {unsafe}: {script_src}"
    assert policy.get("object-src") == ["'none'"], f"{url}: {policy}"
    assert policy.get("frame-ancestors") == ["'none'"], f"{url}: {policy}"
    assert headers.get("x-content-type-options") == "nosniff", f"{url}: {headers}"
    assert headers.get("referrer-policy") in SAFE_REFERRER_POLICIES, f"{url}: {headers}"


class MarkupAudit(HTMLParser):
    """Inline scripts, inline handlers, inline styles and off-site scripts, styles and links of one page."""

    URL_ATTRIBUTES = {"script": "src", "link": "href", "img": "src", "iframe": "src", "source": "src"}

    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.origin = urlsplit(page_url)[:2]
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        for name, _value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> inline handler")
        if "style" in values:
            self.problems.append(f"<{tag} style=...> inline style")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script" and not values.get("src") and values.get("type") != "application/json":
            self.problems.append("inline <script> without src")
        address = values.get(self.URL_ATTRIBUTES.get(tag, ""))
        if address is not None and urlsplit(urljoin(self.page_url, address))[:2] != self.origin:
            self.problems.append(f"<{tag}> points off-site: {address}")


def audit_markup(url: str, html: str) -> list[str]:
    """The problems MarkupAudit finds in one page's HTML."""
    audit = MarkupAudit(url)
    audit.feed(html)
    audit.close()
    return audit.problems


def audit_over_http(session: requests.Session, base_url: str, paths: list[str]) -> None:
    """GET each path (following redirects) and check every response's headers and every HTML body."""
    for path in paths:
        response = session.get(base_url + path, timeout=10)
        assert response.status_code < 500, f"{path}: {response.status_code}"
        for hop in [*response.history, response]:
            assert_security_headers(hop.url, hop.headers)
        if response.headers.get("Content-Type", "").startswith("text/html"):
            problems = audit_markup(response.url, response.text)
            assert not problems, f"{path}: {problems}"


def session_like(page, base_url: str) -> requests.Session:
    """A requests session holding the browser context's cookies (the same signed-in session)."""
    session = requests.Session()
    for cookie in page.context.cookies(base_url):
        session.cookies.set(cookie["name"], cookie["value"])
    return session


# --- the CSP walk ------------------------------------------------------------------------------------


def test_main_flows_never_break_the_content_security_policy(new_page, live_server):
    """Sign-up, login, profile and picture, search, friends, a live chat, a group, a room, settings,
    a password change and logout run without a single CSP violation; every page (and every error,
    redirect, fragment and JSON answer) carries the policy, nosniff and a referrer policy, and no
    page has inline script, inline handlers, inline styles or off-site scripts and styles."""
    ana, bob = new_page(), new_page()
    ana_guard, bob_guard = Guard(ana), Guard(bob)
    documents = []  # every page the walk loads, for their headers

    def on_response(response) -> None:
        if response.request.resource_type == "document":
            documents.append(response)

    for page in (ana, bob):
        page.on("response", on_response)
    ana_name, bob_name = unique_username("ana"), unique_username("bob")

    ana.goto("/")
    ana_guard.check(ana, "landing page")
    register_in_browser(ana, ana_name, "Ana", "Lima")
    expect(ana.get_by_role("heading", level=1)).to_contain_text("Hi, Ana")
    ana_guard.check(ana, "register")

    ana.get_by_role("button", name="Log out").click()
    expect(ana.locator("[data-flash]")).to_contain_text("signed out")
    ana.goto("/login")
    ana.fill("#username", ana_name)
    ana.fill("#password", TEST_PASSWORD)
    ana.get_by_role("button", name="Log in").click()
    expect(ana.get_by_role("heading", level=1)).to_contain_text("Hi, Ana")
    ana_guard.check(ana, "login")

    ana.goto("/settings/profile")
    ana.fill("#bio", "Hello there\nsecond line")
    ana.get_by_role("button", name="Save profile").click()
    expect(ana.locator("[data-flash]")).to_be_visible()
    ana.goto(f"/u/{ana_name}")
    expect(ana.locator("main")).to_contain_text("second line")
    ana_guard.check(ana, "profile edit")

    ana.goto("/settings/avatar")
    ana.get_by_role("button", name=re.compile("Owl")).click()
    expect(ana.locator("[data-flash]")).to_contain_text("Your picture has been changed.")
    ana_guard.check(ana, "avatar page")

    register_in_browser(bob, bob_name, "Bob", "Stone")
    expect(bob.get_by_role("heading", level=1)).to_contain_text("Hi, Bob")
    bob_guard.check(bob, "register (second person)")

    ana.goto("/search")
    ana.get_by_label("Search people").fill(bob_name[:9])
    result = ana.locator("[data-search-results] li", has_text=f"@{bob_name}")
    expect(result).to_be_visible()
    result.get_by_role("button", name="Add friend").click()
    expect(ana.locator("[data-flash]")).to_contain_text(f"Friend request sent to @{bob_name}")
    ana_guard.check(ana, "people search and friend request")

    bob.goto("/")
    bob.locator("#friend-requests").get_by_role("button", name=re.compile("^Accept")).click()
    expect(bob.locator("[data-flash]")).to_contain_text("are now friends")
    bob_guard.check(bob, "accept friend request")

    bob.goto(f"/chat/{ana_name}")
    wait_connected(bob)
    ana.goto(f"/chat/{bob_name}")
    wait_connected(ana)
    composer(ana).fill("hello https://example.com/x")
    composer(ana).press("Enter")
    expect(ana.locator("li[data-message][data-state=sent]")).to_have_count(1)
    expect(bob.locator("li[data-message]")).to_have_count(1)
    expect(ana.locator("[data-seen-receipt]")).to_have_text("Seen")
    ana_guard.check(ana, "direct chat, sending")
    bob_guard.check(bob, "direct chat, receiving live")

    ana.goto("/groups/new")
    ana.get_by_label("Group name").fill("Weekend plans")
    ana.get_by_label(re.compile("Bob Stone")).check()
    ana.get_by_role("button", name="Create group").click()
    expect(ana.locator("#chat-title")).to_have_text("Weekend plans")
    group_path = urlsplit(ana.url).path
    ana.get_by_role("link", name="Group settings").click()
    expect(ana.get_by_role("heading", level=1)).to_have_text("Group settings")
    ana_guard.check(ana, "new group and its settings")

    ana.goto("/rooms")
    ana.get_by_role("button", name="Join Community").click()
    expect(ana.locator("#chat-title")).to_have_text("Community")
    room_path = urlsplit(ana.url).path
    ana_guard.check(ana, "rooms, joining one")

    ana.goto("/settings")
    expect(ana.get_by_role("heading", level=1)).to_have_text("Settings")
    ana_guard.check(ana, "settings")

    # Every page of the walk (and more) over HTTP, in Ana's session, before her password changes.
    signed_in = [
        "/",
        f"/u/{ana_name}",
        f"/u/{bob_name}",
        f"/search?q={bob_name[:5]}",
        f"/search?q={bob_name[:5]}&partial=1",
        f"/chat/{bob_name}",
        group_path,
        f"{group_path}/settings",
        "/groups/new",
        "/rooms",
        room_path,
        "/settings",
        "/settings/profile",
        "/settings/avatar",
        "/settings/password",
        "/api/conversations",
        "/no-such-page",
    ]
    audit_over_http(session_like(ana, live_server.url), live_server.url, signed_in)
    anonymous = ["/", "/login", "/register", "/settings", f"/u/{ana_name}", "/healthz", "/no-such-page"]
    audit_over_http(requests.Session(), live_server.url, anonymous)

    ana.goto("/settings/password")
    ana.fill("#current_password", TEST_PASSWORD)
    ana.fill("#new_password", "N3w-Passw0rd!x")
    ana.fill("#confirm_password", "N3w-Passw0rd!x")
    ana_guard.check(ana, "change password page")
    ana.get_by_role("button", name="Update password").click()
    expect(ana.locator("[data-flash]")).to_contain_text("Your password has been changed")
    ana_guard.check(ana, "password changed")

    # Logging out: this tab lands on the farewell, another tab of the same session reloads signed out.
    other_tab = ana.context.new_page()
    other_tab.goto("/")
    connected(other_tab)
    ana.get_by_role("button", name="Log out").click()
    expect(ana.locator("[data-flash]")).to_contain_text("signed out")
    ana_guard.check(ana, "logout")
    expect(other_tab.locator("nav").get_by_role("link", name="Log in")).to_be_visible()
    ana_guard.check(other_tab, "logged out elsewhere")

    assert len(documents) >= 20
    for response in documents:
        assert_security_headers(response.url, response.all_headers())
    record(
        "Security",
        "Content-Security-Policy walk in Chromium",
        {
            "pages loaded by the browser": len(documents),
            "addresses audited over HTTP": len(signed_in) + len(anonymous),
            "CSP violations": 0,
        },
        "Two people walk sign-up, profile, avatar, search, friends, a live chat, a group, a community room, "
        "settings, password change and logout in Chromium; securitypolicyviolation events and CSP console "
        "messages are collected after every step, and every page's headers and HTML are audited.",
    )


# --- XSS -----------------------------------------------------------------------------------------------


def register_over_http(base_url: str, first_name: str, last_name: str, bio: str = "") -> HttpUser:
    """A person signed up through the form with the given names (and bio, saved from the profile editor)."""
    user = HttpUser(base_url)
    user.username = unique_username("x")
    fields = {"username": user.username, "first_name": first_name, "last_name": last_name}
    response = user.post_form("/register", {**fields, "password": TEST_PASSWORD, "confirm_password": TEST_PASSWORD})
    assert response.ok and "/register" not in response.url, response.text[:500]
    if bio:
        response = user.post_form("/settings/profile", {**fields, "bio": bio})
        assert response.ok and f"/u/{user.username}" in response.url, response.text[:500]
    return user


def browser_for(new_page, user: HttpUser):
    """A Chromium page signed in as `user` (their HTTP session's cookies), with the page's CSP
    bypassed: escaping alone has to keep every payload inert, CSP is only the second wall."""
    page = new_page(bypass_csp=True)
    page.context.add_cookies(
        [{"name": name, "value": value, "url": user.base_url} for name, value in user.http.cookies.items()]
    )
    return page


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)


def shown(body: str) -> str:
    """The text a message's body shows once formatted: its rendering's textContent."""
    text = _Text()
    text.feed(render_message(body))
    return "".join(text.parts)


def bodies_of(locator, bodies: list[str]) -> None:
    """The messages' texts as typed (data-source) and as shown, exactly and in order."""
    texts_of(locator, [shown(body) for body in bodies])
    assert [item.get_attribute("data-source") for item in locator.all()] == bodies


def text_of(locator, text: str) -> None:
    """Wait until the element's textContent is exactly `text` (no whitespace folding)."""
    expect(locator).to_have_js_property("textContent", text)


def texts_of(locator, texts: list[str]) -> None:
    """The elements' textContents, exactly and in order."""
    expect(locator).to_have_count(len(texts))
    assert locator.all_text_contents() == texts


def post_without_javascript(user: HttpUser, conversation_id: int, body: str, token: str) -> None:
    """Send a message through the chat page's plain form (the no-JavaScript path)."""
    response = user.http.post(
        f"{user.base_url}/c/{conversation_id}/messages",
        data={"body": body, "client_id": uuid.uuid4().hex, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]


def test_typed_text_never_runs_and_shows_exactly_as_typed(new_page, live_server, open_socket):
    """Script, markup, template and URL payloads (and bidi/emoji text) in names, a bio, messages sent
    from the page, a raw Socket.IO client and the plain form, group and room titles and search
    queries: shown live and after reload (chat, conversation list, profile, search, members, typing,
    flash messages), no trap ever fires, the DOM gains no handler or script, and every text node
    reads exactly what was typed."""
    base = live_server.url
    first, last = '<img src=x onerror="window.__xss=1">', '"><svg onload=window.__xss=1>'
    bio = "\n".join([PAYLOADS[0], PAYLOADS[5], PAYLOADS[7], PAYLOADS[9], "  <b>kept</b> {{ config }}"])
    mallory = register_over_http(base, first, last, bio)
    display = f"{first} {last}"
    vic = register_over_http(base, "Vic", "Tim")
    eve = register_over_http(base, "<script>window.__xss=1</script>", "{{7*7}} ${7*7} `x`")
    eve_display = "<script>window.__xss=1</script> {{7*7}} ${7*7} `x`"
    rtl = register_over_http(base, "\u202eevil\u202c مرحبا", "👩\u200d💻 </textarea>&amp;")
    # Names lose their invisible characters (bidi controls, the emoji's zero-width joiner).
    rtl_display = "evil مرحبا 👩💻 </textarea>&amp;"
    befriend(mallory, vic)
    befriend(eve, vic)
    assert rtl.post_form(f"/u/{vic.username}/friend-request", {}, csrf_from="/").ok

    v, m = browser_for(new_page, vic), browser_for(new_page, mallory)
    v_guard, m_guard = Guard(v), Guard(m)

    # A direct chat: every payload from Mallory's page, her raw socket and the plain form, live.
    assert len(PAYLOADS) * 3 + 1 <= 50, "the chat must fit the one page of history a reload shows"
    dm = direct_chat(mallory, vic)
    v.goto(f"/chat/{mallory.username}")
    connected(v)
    text_of(v.locator("#chat-title"), f"{display} @{mallory.username}")
    assert v.title() == f"{display} · Messanger"
    m.goto(f"/chat/{vic.username}")
    connected(m)
    for payload in PAYLOADS:
        composer(m).fill(payload)
        composer(m).press("Enter")
    expect(m.locator("li[data-message][data-state=sent]")).to_have_count(len(PAYLOADS))
    socket = open_socket(mallory)
    for payload in PAYLOADS:
        socket.send(dm, payload)
    token = mallory.csrf("/")
    for payload in PAYLOADS:
        post_without_javascript(mallory, dm, payload, token)
    stored = [message["body"] for message in history(vic, dm, limit=100)]
    assert sorted(stored) == sorted(PAYLOADS * 3)
    bodies = "li[data-message] [data-body]"
    bodies_of(v.locator(bodies), stored)
    texts_of(v.locator("li[data-message] [data-sender-sr]"), [f"{display}: "] * len(stored))
    bodies_of(m.locator(bodies), stored)
    v_guard.check(v, "direct chat, received live")
    m_guard.check(m, "direct chat, sent from the page")

    v.reload()
    bodies_of(v.locator(bodies), stored)
    texts_of(v.locator("li[data-message] [data-sender-sr]"), [f"{display}: "] * len(stored))
    m.reload()
    bodies_of(m.locator(bodies), stored)
    v_guard.check(v, "direct chat after reload")
    m_guard.check(m, "own messages after reload")

    # Vic's home: the conversation list (drawn by the server, then live), friends and requests.
    v.goto("/")
    row = v.locator(f'[data-conversation-list] li[data-conversation-id="{dm}"]')
    text_of(row.locator("[data-conversation-title]"), display)
    # Vic may leave the chat before its last messages were marked read: the label then names them.
    label = row.locator("[data-conversation-link]").get_attribute("aria-label")
    assert re.fullmatch(re.escape(f"{display} (@{mallory.username})") + r"(, \d+ unread messages?)?", label), label
    text_of(row.locator("[data-conversation-username]"), f"@{mallory.username}")
    text_of(row.locator("[data-conversation-preview]"), stored[-1])
    connected(v)
    socket.send(dm, PAYLOADS[4])
    text_of(row.locator("[data-conversation-preview]"), PAYLOADS[4])
    friends = v.locator("[data-presence-for] a span.font-medium").all_text_contents()
    assert sorted(friends) == sorted([display, eve_display])
    text_of(v.locator("#friend-requests a span.font-medium"), rtl_display)
    v_guard.check(v, "home: conversation list, friends, requests")

    # A group appearing while Vic is on his home page: its row is built by the page's script.
    vic_id = int(v.evaluate("document.body.dataset.userId"))
    first_group = PAYLOADS[6]
    group_id = create_group(mallory, [vic_id], title=first_group)
    socket.send(group_id, PAYLOADS[12])
    group_row = v.locator(f'[data-conversation-list] li[data-conversation-id="{group_id}"]')
    text_of(group_row.locator("[data-conversation-title]"), first_group)
    text_of(group_row.locator("[data-conversation-preview]"), f"{display}: {PAYLOADS[12]}")
    text_of(row.locator("[data-conversation-title]"), display)
    v_guard.check(v, "home: list rebuilt live")
    v.goto(f"/c/{group_id}")
    text_of(v.locator("#chat-title"), first_group)
    text_of(v.locator("li[data-message] [data-body]"), shown(PAYLOADS[12]))
    v_guard.check(v, "group whose title closes the page's JSON script")

    # A group Mallory names in her browser: flash, header, title, typing, sender names, members.
    typed = "{{7*7}} <b>${7*7}</b> \u202eRTL\u202c 👩\u200d💻 </title><script>window.__xss=1</script>"
    title = "{{7*7}} <b>${7*7}</b> RTL 👩💻 </title><script>window.__xss=1</script>"  # without invisibles
    m.goto("/groups/new")
    m.get_by_label("Group name").fill(typed)
    m.get_by_label(re.compile("Vic Tim")).check()
    m.get_by_role("button", name="Create group").click()
    text_of(m.locator("[data-flash] p"), f"Group {title} created.")
    text_of(m.locator("#chat-title"), title)
    assert m.title() == f"{title} · Messanger"
    second_group = int(re.search(r"/c/(\d+)", m.url).group(1))
    m.goto(f"/c/{second_group}/settings")
    expect(m.locator("#title")).to_have_value(title)
    m_guard.check(m, "group created in the browser, its settings")
    v.goto(f"/c/{second_group}")
    connected(v)
    text_of(v.locator("#chat-title"), title)
    assert socket.call("typing", {"conversation_id": second_group})["ok"] is True
    text_of(v.locator("[data-typing]"), f"{display} is typing…")
    socket.send(second_group, PAYLOADS[9])
    newest = v.locator("li[data-message]").last
    text_of(newest.locator("[data-sender-name]"), display)
    text_of(newest.locator("[data-body]"), shown(PAYLOADS[9]))
    members = sorted([f"{display} @{mallory.username}", f"Vic Tim (you) @{vic.username}"])
    assert sorted(v.locator("[data-member-list] li a").all_text_contents()) == members
    v_guard.check(v, "group chat live")
    v.reload()
    text_of(v.locator("li[data-message]").last.locator("[data-sender-name]"), display)
    v.goto(f"/c/{second_group}/settings")
    expect(v.locator("main")).to_contain_text(f"{title} · 2 members")
    text_of(v.locator("main p.truncate").first, f"{title} · 2 members")
    v_guard.check(v, "group settings")

    # A community room with a hostile title: directory, joining (flash), live message.
    room = create_room(live_server, '<img src=x onerror="window.__xss=1"> {{7*7}} `${1}` \u202eroom')
    room_title = '<img src=x onerror="window.__xss=1"> {{7*7}} `${1}` room'  # without the bidi control
    v.goto("/rooms")
    listed = v.locator("main li", has=v.get_by_role("button", name=f"Join {room_title}", exact=True))
    text_of(listed.locator("p.truncate"), room_title)
    listed.get_by_role("button").click()
    text_of(v.locator("[data-flash] p"), f"You joined {room_title}.")
    text_of(v.locator("#chat-title"), room_title)
    connected(v)
    assert mallory.post_form(f"/rooms/{room}/join", {}, csrf_from="/").ok
    socket.send(room, PAYLOADS[13])
    newest = v.locator("li[data-message]").last
    text_of(newest.locator("[data-sender-name]"), display)
    text_of(newest.locator("[data-body]"), shown(PAYLOADS[13]))
    v_guard.check(v, "community room")

    # Profiles: the names and bio on Mallory's public page, and in her own editor and navigation.
    v.goto(f"/u/{mallory.username}")
    text_of(v.locator("h1"), display)
    text_of(v.locator("#bio-title + p"), bio)
    assert v.title() == f"{display} (@{mallory.username}) · Messanger"
    v_guard.check(v, "profile")
    m.goto("/settings/profile")
    expect(m.locator("#first_name")).to_have_value(first)
    expect(m.locator("#last_name")).to_have_value(last)
    expect(m.locator("#bio")).to_have_value(bio)
    m.goto("/")
    text_of(m.locator("h1"), f"Hi, {display}")
    text_of(m.locator("#nav-menu > a").first.locator("span.font-semibold"), display)
    m_guard.check(m, "own profile editor and home")

    # Search: as you type (the results fragment goes in with innerHTML) and as a plain GET.
    def shows_search(query: str, found: str | None, how: str) -> None:
        results = v.locator("[data-search-results]")
        if found:
            text_of(results.locator("p span.font-medium"), query)
            text_of(results.locator("li a span.font-medium"), found)
        else:
            text_of(results.locator("p.font-medium"), f"No one matches “{query}”.")
        expect(v.get_by_label("Search people")).to_have_value(query)
        v_guard.check(v, f"search for {query!r} {how}")

    for query, found in ((first, display), (eve_display[:20], eve_display), (PAYLOADS[6], None)):
        v.goto("/search")
        v.get_by_label("Search people").fill(query)
        expect(v).to_have_url(re.compile(r"[?&]q="))  # set once the results are in
        shows_search(query, found, "as you type")
        v.goto(f"/search?q={quote(query, safe='')}")
        shows_search(query, found, "as a page")
        assert v.title() == f"“{query}” · Search people · Messanger"
    record(
        "Security",
        "XSS payloads in Chromium",
        {
            "payloads": len(PAYLOADS),
            "ways each message payload was sent": 3,
            "scripts that ran": 0,
            "texts shown altered": 0,
        },
        "Each payload typed into names, a bio, messages (from the page, a raw Socket.IO client and the plain form), "
        "group and room titles and searches, then checked live and after reload in the chat, the conversation list, "
        "profiles, search and flash messages, with CSP bypassed so that escaping alone must hold.",
    )


# --- names that lie ------------------------------------------------------------------------------------

LINK_READS_IN_ORDER = """link => {
    const text = link.firstChild, shown = text.textContent;
    const left = (needle) => {
        const range = document.createRange(), at = shown.indexOf(needle);
        range.setStart(text, at);
        range.setEnd(text, at + needle.length);
        return range.getBoundingClientRect().left;
    };
    return left("gnp") < left(".exe");
}"""


def shows_address_as_written(link, address: str) -> None:
    """The link reads `address` (its format characters percent-encoded) left to right."""
    text_of(link, address)
    expect(link).to_have_attribute("dir", "ltr")
    expect(link).to_have_attribute("href", address)
    assert link.evaluate(LINK_READS_IN_ORDER), "the address is drawn reversed"


def test_links_read_as_written_and_names_come_with_their_username(new_page, live_server, open_socket):
    """A link whose address hides a right-to-left override shows "…%E2%80%AEgnp.exe" drawn left to
    right, never "…exe.png", live and from the server; the conversation list row that the page's
    script builds for a new chat and a group's live sender label show the @username."""
    base = live_server.url
    mallory = register_over_http(base, "Vic", "Tim")  # the same name as the person she writes to
    vic = register_over_http(base, "Vic", "Tim")
    befriend(mallory, vic)
    v = browser_for(new_page, vic)
    v.goto("/")
    connected(v)

    chat = direct_chat(mallory, vic)  # after Vic's list was drawn: its row comes from the script
    socket = open_socket(mallory)
    socket.send(chat, "see https://example.com/files/\u202egnp.exe now")
    row = v.locator(f'[data-conversation-list] li[data-conversation-id="{chat}"]')
    text_of(row.locator("[data-conversation-title]"), "Vic Tim")
    text_of(row.locator("[data-conversation-username]"), f"@{mallory.username}")
    expect(row.locator("[data-conversation-username]")).to_be_visible()
    expect(row.locator("[data-conversation-link]")).to_have_attribute(
        "aria-label", re.compile(re.escape(f"Vic Tim (@{mallory.username})"))
    )
    expect(row.locator("[data-conversation-preview] bdi")).to_have_count(1)

    address = "https://example.com/files/%E2%80%AEgnp.exe"
    v.goto(f"/chat/{mallory.username}")
    connected(v)
    text_of(v.locator("[data-chat-username]"), f"@{mallory.username}")
    drawn = v.locator("li[data-message] [data-body]").last
    expect(drawn).to_have_attribute("dir", "auto")
    shows_address_as_written(drawn.locator("a"), address)
    socket.send(chat, "again https://example.com/files/%E2%80%AEgnp.exe")
    expect(v.locator("li[data-message]")).to_have_count(2)
    shows_address_as_written(v.locator("li[data-message] [data-body]").last.locator("a"), address)

    vic_id = int(v.evaluate("document.body.dataset.userId"))
    group = create_group(mallory, [vic_id], title="Team")
    v.goto(f"/c/{group}")
    connected(v)
    socket.send(group, "hello")
    newest = v.locator("li[data-message]").last
    text_of(newest.locator("[data-sender-name]"), "Vic Tim")
    text_of(newest.locator("[data-sender-username]"), f"@{mallory.username}")
    expect(newest.locator("[data-sender-username]")).to_be_visible()
    text_of(newest.locator("[data-sender-sr]"), f"Vic Tim (@{mallory.username}): ")
