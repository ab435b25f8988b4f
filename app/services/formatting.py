"""Message formatting: a message's text (its stored source, `body`) as the HTML its fragment shows.

A chat's Markdown, no more: **bold**, *italic*, ~~strikethrough~~, `inline code`, code blocks
(fenced or indented), > quotes, lists, links ([label](https://...), <https://...> and bare
http(s) and www. addresses) and @mentions of members. No headings, tables, images, rules,
reference definitions, entities or raw HTML: those stay text as typed. A single newline is a
line break.

Rendered once, when a message is stored or edited (messaging.send_message,
editing.edit_message), and kept in messages.body_html; every reader gets the same markup (the
browser marks the reader's own mentions). markdown-it-py parses with only those rules enabled and
HTML off; the renderer's output is then sanitised by nh3 against an allowlist, so even a bug in a
rule cannot let markup through: links are http, https or mailto (or a mention's profile path),
open in a new tab with rel="noopener noreferrer nofollow ugc".

Bounded work: a body is at most BODY_MAX_LENGTH characters, markdown-it-py's rules are linear in
practice, and nesting stops at MAX_NESTING. Past that, markdown-it drops the deeper text, so such a
message is rendered flat instead (paragraphs, line breaks, links and mentions only): nothing typed
is lost.
"""

import re
from dataclasses import dataclass

import nh3
from linkify_it import LinkifyIt
from markdown_it import MarkdownIt
from markdown_it.token import Token

from app.models.user import USERNAME_MAX_LENGTH
from app.names import visible_url
from app.services.text import replace_lone_surrogates

# Not inside a word or an e-mail address ("ana@example.org"); a sentence's final dot is not the name's.
MENTION_PATTERN = re.compile(rf"(?<![\w@.])@([A-Za-z0-9._]{{1,{USERNAME_MAX_LENGTH}}})")
# Where a mention links: the profile (people.profile) by path, so one rendering serves every host.
PROFILE_PATH = "/u/{}"
PROFILE_PATH_PATTERN = re.compile(r"/u/[A-Za-z0-9._]+")

LINK_REL = "noopener noreferrer nofollow ugc"
LINK_SCHEMES = ("http://", "https://", "mailto:")
# Deep enough for a quote in a list in a quote; a flood of ">" or "-" goes past it.
MAX_NESTING = 16

TAGS = {"p", "br", "strong", "em", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a"}


def _link_finder() -> LinkifyIt:
    """http(s) links, and "www." ones without a scheme; no e-mail, ftp:, mailto: or "//" links, and no
    bare domains ("notes.md" is a file name far more often than Moldova's web)."""
    finder = LinkifyIt(options={"fuzzy_link": True, "fuzzy_email": False, "fuzzy_ip": False})
    for schema in ("ftp:", "mailto:", "//"):
        finder.add(schema, None)
    return finder


# A link never runs across these, as in HTML: a quote or an angle bracket ends it.
LINK_BREAKS = re.compile(r"[\"<>]")


@dataclass(frozen=True)
class _Link:
    """A found address as markdown-it's linkify rules read it (linkify-it's match)."""

    schema: str
    index: int
    last_index: int
    text: str
    url: str


class _ChatLinks:
    """linkify-it (LinkifyIt above) as markdown-it asks it (pretest, test, match, match_at_start),
    with this app's rules: links end at a quote or an angle bracket; a scheme-less one must start
    with "www." and is followed over https. Balanced parentheses stay in, trailing punctuation out."""

    def __init__(self):
        self.finder = _link_finder()

    def pretest(self, text: str) -> bool:
        return self.finder.pretest(text)

    def test(self, text: str) -> bool:
        return bool(self.match(text))

    def match(self, text: str) -> list[_Link]:
        found, start = [], 0
        for stop in [match.start() for match in LINK_BREAKS.finditer(text)] + [len(text)]:
            for match in self.finder.match(text[start:stop]) or []:
                link = self._accepted(match, start)
                if link:
                    found.append(link)
            start = stop + 1
        return found

    def match_at_start(self, text: str) -> _Link | None:
        cut = LINK_BREAKS.search(text)
        match = self.finder.match_at_start(text[: cut.start()] if cut else text)
        return self._accepted(match, 0) if match else None

    @staticmethod
    def _accepted(match, offset: int) -> _Link | None:
        if match.schema in ("http:", "https:"):
            url = match.url
        elif match.schema == "" and match.text.lower().startswith("www."):
            url = "https://" + match.text
        else:
            return None
        return _Link(match.schema, offset + match.index, offset + match.last_index, match.text, url)


def _allowed_link(url: str) -> bool:
    return url.lower().startswith(LINK_SCHEMES)


# A scheme right before "://", as markdown-it's inline linkify rule finds it (RFC 3986's letters).
SCHEME_BEFORE = re.compile(r"(?:^|[^a-z0-9.+-])([a-z][a-z0-9.+-]*)$", re.IGNORECASE)
SCHEME_LOOKBEHIND = 32  # longer than any scheme _ChatLinks accepts


def _inline_links(state, silent: bool) -> bool:
    """markdown-it's inline linkify rule (a link is found before emphasis can cut it), looking back
    for the scheme over the last SCHEME_LOOKBEHIND characters only: the original searches all the
    text pending before it at every "://", quadratic in a message made of them."""
    pos = state.pos
    if state.linkLevel > 0 or not state.src.startswith("://", pos):
        return False
    scheme = SCHEME_BEFORE.search(state.pending[-SCHEME_LOOKBEHIND:])
    if not scheme:
        return False
    proto = scheme.group(1)
    link = state.md.linkify.match_at_start(state.src[pos - len(proto) :])
    if not link:
        return False
    url = link.url.rstrip("*")  # a "*" after it closes emphasis
    full_url = state.md.normalizeLink(url)
    if not state.md.validateLink(full_url):
        return False
    if not silent:
        state.pending = state.pending[: -len(proto)]
        token = state.push("link_open", "a", 1)
        token.attrs = {"href": full_url}
        token.markup, token.info = "linkify", "auto"
        token = state.push("text", "", 0)
        token.content = state.md.normalizeLinkText(url)
        token = state.push("link_close", "a", -1)
        token.markup, token.info = "linkify", "auto"
    state.pos += len(url) - len(proto)
    return True


def _mention_tokens(state) -> None:
    """Core rule: @username in text (never in code, nor inside a link) of a member the message
    mentions (env["mentions"]: {lowercased username: {id, username}}) becomes a link to their
    profile carrying data-mention-id; the browser marks the reader's own data-mention="me". Every
    such name goes into env["names"] when that is a set (mentioned_names)."""
    named, names = state.env.get("mentions") or {}, state.env.get("names")
    if not named and names is None:
        return
    for block in state.tokens:
        if block.type != "inline" or "@" not in block.content:
            continue
        children, in_link = [], 0
        for token in block.children:
            in_link += token.type == "link_open"
            in_link -= token.type == "link_close"
            if token.type == "text" and not in_link and "@" in token.content:
                children.extend(_split_mentions(token, named, names))
            else:
                children.append(token)
        block.children = children


def _split_mentions(token: Token, named: dict, names: set | None) -> list[Token]:
    text, pieces, last = token.content, [], 0

    def plain(content: str) -> None:
        if content:
            piece = Token("text", "", 0)
            piece.content, piece.level = content, token.level
            pieces.append(piece)

    for match in MENTION_PATTERN.finditer(text):
        name = match.group(1).rstrip(".")
        if names is not None and name:
            names.add(name.lower())
        person = named.get(name.lower())
        if person is None:
            continue
        plain(text[last : match.start()])
        opening = Token("link_open", "a", 1)
        opening.attrs = {
            "href": PROFILE_PATH.format(person["username"]),
            "data-mention": "other",
            "data-mention-id": str(person["id"]),
        }
        opening.markup, opening.level = "mention", token.level
        label = Token("text", "", 0)
        label.content, label.level = "@" + name, token.level + 1
        closing = Token("link_close", "a", -1)
        closing.markup, closing.level = "mention", token.level
        pieces.extend((opening, label, closing))
        last = match.start(1) + len(name)
    if last == 0:
        return [token]
    plain(text[last:])
    return pieces


def _link_attributes(state) -> None:
    """Core rule: every link but a mention opens in a new tab without the page's opener or address;
    an address found in the text reads left to right (dir="ltr", so a bidi control cannot reverse
    it); a labelled link shows its address as its title."""
    for block in state.tokens:
        if block.type != "inline":
            continue
        for token in block.children:
            if token.type != "link_open" or token.markup == "mention":
                continue
            href = token.attrGet("href")
            if token.info == "auto":
                token.attrs = {"href": href, "target": "_blank", "rel": LINK_REL, "dir": "ltr"}
            else:  # the address as its title, never one the text sets
                token.attrs = {"href": href, "title": href, "target": "_blank", "rel": LINK_REL}


def _parser(*, flat: bool) -> MarkdownIt:
    md = MarkdownIt("zero", {"html": False, "linkify": True, "breaks": True, "maxNesting": MAX_NESTING})
    block = [] if flat else ["code", "fence", "blockquote", "list"]
    inline = ["newline", "linkify"] + (
        [] if flat else ["escape", "backticks", "strikethrough", "emphasis", "link", "autolink"]
    )
    md.enable(["linkify", *block, *inline])
    md.linkify = _ChatLinks()
    md.validateLink = _allowed_link
    # An address shows as written (not decoded), its invisible characters percent-encoded.
    md.normalizeLinkText = visible_url
    md.inline.ruler.at("linkify", _inline_links)
    md.core.ruler.after("linkify", "mentions", _mention_tokens)
    md.core.ruler.after("mentions", "link_attributes", _link_attributes)
    return md


MARKDOWN = _parser(flat=False)
FLAT = _parser(flat=True)


def _relative_href(tag: str, attribute: str, value: str) -> str | None:
    # nh3 checks the schemes of absolute addresses; a relative one may only be a profile's.
    if attribute == "href" and ":" not in value and not PROFILE_PATH_PATTERN.fullmatch(value):
        return None
    return value


SANITIZER = nh3.Cleaner(
    tags=TAGS,
    attributes={"a": {"href", "title", "dir", "data-mention-id"}, "ol": {"start"}},
    tag_attribute_values={"a": {"rel": {LINK_REL}, "target": {"_blank"}, "data-mention": {"other"}}},
    attribute_filter=_relative_href,
    url_schemes={"http", "https", "mailto"},
    link_rel=None,
    strip_comments=True,
)


def _too_deep(tokens: list[Token]) -> bool:
    # markdown-it stops reading a block (and drops what is in it) once MAX_NESTING levels are open.
    return any(token.nesting == 1 and token.level >= MAX_NESTING - 1 for token in tokens)


def _parse(text: str, env: dict) -> tuple[MarkdownIt, list[Token]]:
    tokens = MARKDOWN.parse(text, env)
    if not _too_deep(tokens):
        return MARKDOWN, tokens
    env.get("names", set()).clear()
    return FLAT, FLAT.parse(text, env)


def render_message(text: str, mentions: list[dict] | None = None) -> str:
    """The HTML of a message's text: formatted (see the module's docstring), links and mentions
    made, sanitised. `mentions`: the members it mentions ([{id, username}], M.mentions); any other
    @name stays text. "" for no text. The same text and mentions always give the same HTML."""
    if not text:
        return ""
    text = replace_lone_surrogates(text)  # the doors replace them already; nh3 could not encode one
    env = {"mentions": {person["username"].lower(): person for person in mentions or [] if person.get("username")}}
    md, tokens = _parse(text, env)
    return SANITIZER.clean(md.renderer.render(tokens, md.options, env)).strip()


def first_link(text: str) -> str | None:
    """The address of the text's first http(s) link as render_message makes it (not one in code),
    None without one: the one a link preview is made for."""
    if not text or ("http" not in text and "www." not in text):
        return None
    _md, tokens = _parse(text, {})
    for token in tokens:
        for child in token.children or []:
            href = child.attrGet("href") if child.type == "link_open" else None
            if href and href.startswith(("http://", "https://")):
                return href
    return None


def mentioned_names(text: str) -> set[str]:
    """The lowercased usernames a text names with @ where render_message would link a member: in
    its text, not in code, a link or after a backslash."""
    if not text or "@" not in text:
        return set()
    env = {"names": set()}
    _parse(text, env)
    return env["names"]
