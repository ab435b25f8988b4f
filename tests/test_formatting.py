"""The message formatter (app.services.formatting): a chat's Markdown to sanitised HTML, once per
stored text. Each construct, the links and mentions it makes, what stays text, what can never get
through, and a bound on what any text (however hostile) costs."""

from html.parser import HTMLParser

import pytest
from flask import url_for
from hypothesis import given, settings
from hypothesis import strategies as st

from app.models.chat import BODY_MAX_LENGTH
from app.services.formatting import LINK_REL, MAX_NESTING, PROFILE_PATH, TAGS, mentioned_names, render_message

ANA = {"id": 1, "username": "ana"}
BOB = {"id": 2, "username": "bob.s"}
LINK = f'target="_blank" rel="{LINK_REL}"'


def labelled(url: str, label: str) -> str:
    """A link written as [label](url), as rendered."""
    return f'<a href="{url}" title="{url}" {LINK}>{label}</a>'


def auto(url: str, shown: str | None = None) -> str:
    """An address found in the text, as rendered."""
    return f'<a href="{url}" {LINK} dir="ltr">{shown or url}</a>'


def mention(person: dict, shown: str) -> str:
    return f'<a href="/u/{person["username"]}" data-mention="other" data-mention-id="{person["id"]}">{shown}</a>'


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("**bold** and __bold__", "<p><strong>bold</strong> and <strong>bold</strong></p>"),
        ("*italic* and _italic_", "<p><em>italic</em> and <em>italic</em></p>"),
        ("~~gone~~", "<p><s>gone</s></p>"),
        ("run `rm -rf <dir>`", "<p>run <code>rm -rf &lt;dir&gt;</code></p>"),
        ("```python\nif a < b:\n    f('**no**')\n```", "<pre><code>if a &lt; b:\n    f('**no**')\n</code></pre>"),
        ("    indented\n    code", "<pre><code>indented\ncode\n</code></pre>"),
        ("> quoted\n> *twice*\n\nmine", "<blockquote>\n<p>quoted<br>\n<em>twice</em></p>\n</blockquote>\n<p>mine</p>"),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
        ("3. three\n4. four", '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>'),
        ("line one\nline two", "<p>line one<br>\nline two</p>"),
        ("[the docs](https://x.org/a)", "<p>" + labelled("https://x.org/a", "the docs") + "</p>"),
        ("write [me](mailto:ana@x.org)", "<p>write " + labelled("mailto:ana@x.org", "me") + "</p>"),
        ("<https://x.org/a>", "<p>" + auto("https://x.org/a") + "</p>"),
        # A chat is not a document: headings, rules, tables, images, references and entities stay as typed.
        ("# not a heading", "<p># not a heading</p>"),
        ("a\n---", "<p>a<br>\n---</p>"),
        ("| a | b |\n|---|---|", "<p>| a | b |<br>\n|---|---|</p>"),
        ("[ref]: https://x.org", "<p>[ref]: " + auto("https://x.org") + "</p>"),
        ("&lt;b&gt; &amp; &copy;", "<p>&amp;lt;b&amp;gt; &amp;amp; &amp;copy;</p>"),
        ("\\*not italic\\*", "<p>*not italic*</p>"),
    ],
)
def test_each_construct(text, html):
    assert render_message(text) == html


def test_an_image_is_a_link_to_it_never_an_image():
    assert render_message("![cat](https://x.org/cat.png)") == "<p>!" + labelled("https://x.org/cat.png", "cat") + "</p>"


def test_no_text_no_markup():
    assert render_message("") == ""


def test_a_lone_surrogate_is_replaced_not_a_crash():
    assert render_message("a\ud800b") == "<p>a\ufffdb</p>"


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "<div>\n<script>alert(1)</script>\n</div>",
        "<!-- comment --><style>body{}</style>",
        '"><svg onload=alert(1)>',
    ],
)
def test_raw_html_is_text(text):
    found = Elements()
    found.feed(render_message(text))
    assert found.tags <= {"p", "br"} and found.attributes == set()
    assert "".join(found.text).replace("\n", "") == text.replace("\n", "")


@pytest.mark.parametrize(
    "text",
    [
        "[x](javascript:alert(1))",
        "[x](JavaScript:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](java%0ascript:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x](file:///etc/passwd)",
        "[x](/logout)",
        "[x](//evil.example/)",
        "<javascript:alert(1)>",
        "javascript:alert(1)",
        "ftp://x.org and //x.org",
    ],
)
def test_only_http_https_and_mailto_links(text):
    assert "<a" not in render_message(text)


@pytest.mark.parametrize(
    "text",
    [
        '[x](https://x.org/" onclick="alert(1))',
        '[x](https://x.org/ "t\\" onclick=\\"alert(1)")',
        '[x](<https://x.org/" onmouseover="alert(1)>)',
        "https://x.org/a'onmouseover='alert(1)' https://x.org/`x`",
        'https://x.org/?q="><img src=x onerror=alert(1)>',
        '[x" onclick="alert(1)](https://x.org)',
    ],
)
def test_no_attribute_can_be_injected(text):
    found = Elements()
    found.feed(render_message(text))
    assert found.attributes <= {"href", "title", "target", "rel", "dir"}, found.attributes
    assert all(not value.lower().startswith("javascript") for value in found.values)


def test_mentions_become_profile_links_carrying_the_member_id():
    """Viewer-neutral: every mention starts as "other" (the browser marks the reader's own) and links
    by path, so one rendering serves whichever host the reader came in by."""
    assert render_message("hi @Ana and @bob.s. see https://x.org/a.", [ANA, BOB]) == (
        f"<p>hi {mention(ANA, '@Ana')} and {mention(BOB, '@bob.s')}. see {auto('https://x.org/a')}.</p>"
    )


def test_the_profile_path_is_the_profile_route(app):
    with app.test_request_context("/"):
        assert PROFILE_PATH.format("bob.s") == url_for("people.profile", username="bob.s")


def test_a_mention_in_code_a_link_or_escaped_is_none():
    html = render_message("`@ana` and\n```\n@ana\n```\n[@ana](https://x.org) \\@ana **@ana**", [ANA])
    assert html.count("data-mention") == 2  # the bold one only: data-mention and data-mention-id
    assert "<strong>" + mention(ANA, "@ana") + "</strong>" in html
    assert "<code>@ana</code>" in html and "<pre><code>@ana\n</code></pre>" in html
    assert mentioned_names("`@ana` [@bob](https://x.org) \\@cyd **@dan** @eve.") == {"dan", "eve"}


def test_names_not_mentioned_e_mails_and_markup_stay_text():
    assert render_message("@carl ana@ana.org x@ana @@ana", [ANA]) == "<p>@carl ana@ana.org x@ana @@ana</p>"
    assert render_message("write to ana@example.org or mailto:ana@example.org") == (
        "<p>write to ana@example.org or mailto:ana@example.org</p>"
    )


def test_mentions_next_to_links():
    """A mention right after a link, or a link's path holding an @, each stays what it is."""
    assert render_message("https://x.org/@ana @ana,www.example.com/@bob.s", [ANA, BOB]) == (
        f"<p>{auto('https://x.org/@ana')} {mention(ANA, '@ana')},"
        + auto("https://www.example.com/@bob.s", "www.example.com/@bob.s")
        + "</p>"
    )


def test_a_link_shows_invisible_characters_percent_encoded_and_left_to_right():
    """An address holding a right-to-left override (typed raw, or already percent-encoded) reads as
    written, "…%E2%80%AEgnp.exe", never reversed as "…exe.png": the control is percent-encoded in the
    shown text and the address, and the link is isolated from the text around it (dir="ltr")."""
    raw = render_message("get https://x.org/\u202egnp.exe now")
    typed = render_message("get https://x.org/%E2%80%AEgnp.exe now")
    assert raw == typed == f"<p>get {auto('https://x.org/%E2%80%AEgnp.exe')} now</p>"
    hidden = render_message("https://x.org/a\u200bb\u2066c\ufeff")
    assert ">https://x.org/a%E2%80%8Bb%E2%81%A6c%EF%BB%BF</a>" in hidden


def test_the_text_around_links_is_kept_as_written():
    """Message text keeps its bidi controls and joiners (an emoji's ZWJ, an RTL mark); the chat page
    contains them in the body's own dir="auto" block (see test_chat_pages)."""
    assert render_message("\u202eevil\u202c 👩\u200d💻 \u200fשלום") == "<p>\u202eevil\u202c 👩\u200d💻 \u200fשלום</p>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A Wikipedia address keeps its balanced parentheses; the sentence's own ones stay out.
        (
            "see https://en.wikipedia.org/wiki/Python_(programming_language).",
            "see " + auto("https://en.wikipedia.org/wiki/Python_(programming_language)") + ".",
        ),
        (
            "(https://en.wikipedia.org/wiki/Python_(programming_language))",
            "(" + auto("https://en.wikipedia.org/wiki/Python_(programming_language)") + ")",
        ),
        # Trailing punctuation ends the sentence, not the address.
        (
            "go to https://x.org/a, then https://x.org/b! ok? https://x.org/c?",
            f"go to {auto('https://x.org/a')}, then {auto('https://x.org/b')}! ok? {auto('https://x.org/c')}?",
        ),
        # www. without a scheme is a link, followed over https; a bare domain or a file name is not.
        ("try www.example.com.", "try " + auto("https://www.example.com", "www.example.com") + "."),
        ("open notes.md or example.com", "open notes.md or example.com"),
        # A quote or an angle bracket ends an address, as in HTML.
        ('x https://x.org/a?b=1&c="2"', "x " + auto("https://x.org/a?b=1&amp;c=") + '"2"'),
        ("x https://x.org/a<b", "x " + auto("https://x.org/a") + "&lt;b"),
        # Emphasis around an address, and marks inside it.
        ("*https://x.org/a*", "<em>" + auto("https://x.org/a") + "</em>"),
        ("https://x.org/a_b_c/*d*", auto("https://x.org/a_b_c/*d") + "*"),
    ],
)
def test_links_are_found_by_one_algorithm(text, expected):
    assert render_message(text) == f"<p>{expected}</p>"


class Elements(HTMLParser):
    """The tags, attributes, their values and the text of a fragment, and how deep it nests."""

    def __init__(self):
        super().__init__()
        self.tags, self.attributes, self.values, self.text = set(), set(), [], []
        self.depth = self.deepest = 0

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.update(name for name, _value in attrs if not name.startswith("data-mention"))
        self.values.extend(value or "" for _name, value in attrs)
        if tag != "br":
            self.depth += 1
            self.deepest = max(self.deepest, self.depth)

    def handle_endtag(self, tag):
        self.depth -= 1

    def handle_data(self, data):
        self.text.append(data)


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(
    st.lists(
        st.sampled_from(list("*_~`>-+#[]()<>!\\@:/\"'&; \n\tab1.") + ["http://", "javascript:", "@ana", "    "]),
        max_size=120,
    ).map("".join)
)
def test_any_text_gives_only_allowed_markup(text):
    found = Elements()
    found.feed(render_message(text, [ANA]))
    assert found.tags <= TAGS
    assert found.attributes <= {"href", "title", "target", "rel", "dir", "start"}
    assert found.deepest <= MAX_NESTING + 2


PATHOLOGICAL = {
    "nested quotes": ">" * BODY_MAX_LENGTH,
    "quote per line": "\n".join(">" * depth + " deep" for depth in range(1, 80)),
    "backticks": "`" * BODY_MAX_LENGTH,
    "backtick runs": "".join("`" * n + "a" for n in range(1, 90)),
    "stars": "*" * BODY_MAX_LENGTH,
    "emphasis openers": "*a_" * (BODY_MAX_LENGTH // 3),
    "underscores": "_a" * (BODY_MAX_LENGTH // 2),
    "strikes": "~~a" * (BODY_MAX_LENGTH // 3),
    "brackets": "[" * BODY_MAX_LENGTH,
    "unclosed links": "[a](" * (BODY_MAX_LENGTH // 4),
    "nested link labels": "[a" * (BODY_MAX_LENGTH // 3) + "](https://x.org)",
    "autolink openers": "<http://" * (BODY_MAX_LENGTH // 8),
    "schemes": "http://" * (BODY_MAX_LENGTH // 7),
    "list items": "- a\n" * (BODY_MAX_LENGTH // 4),
    "nested lists": "".join("  " * depth + "- x\n" for depth in range(60)),
    "ordered items": "1. x\n" * (BODY_MAX_LENGTH // 5),
    "mentions": "@ana " * (BODY_MAX_LENGTH // 5),
    "addresses": "www.x.org " * (BODY_MAX_LENGTH // 10),
    "backslashes": "\\" * BODY_MAX_LENGTH,
    "angle brackets": "<" * BODY_MAX_LENGTH,
    "mixed marks": "**_~~`[<>" * (BODY_MAX_LENGTH // 9),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", PATHOLOGICAL)
def test_pathological_text_renders_bounded_and_loses_nothing(name):
    """Each of these, at the longest a message may be, renders (linear work: the test's timeout is
    the bound), nests at most MAX_NESTING deep and keeps its last line (past the nesting limit
    markdown-it would drop the rest: such a text is rendered flat instead)."""
    text = PATHOLOGICAL[name][: BODY_MAX_LENGTH - 4] + "\nend"
    found = Elements()
    found.feed(render_message(text, [ANA]))
    assert found.deepest <= MAX_NESTING + 2
    assert "end" in "".join(found.text)


def test_past_the_nesting_limit_a_text_is_rendered_flat():
    text = ">" * (MAX_NESTING + 5) + " hello @ana\n\n- and **this**"
    assert render_message(text, [ANA]) == (
        "<p>" + "&gt;" * (MAX_NESTING + 5) + f" hello {mention(ANA, '@ana')}</p>\n<p>- and **this**</p>"
    )
    assert mentioned_names(text) == {"ana"}
    assert render_message(">" * (MAX_NESTING - 4) + " fine").count("<blockquote>") == MAX_NESTING - 4
