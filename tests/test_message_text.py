"""The message_text filter: a body's links and the mentions of M.mentions as markup, all else escaped
(static/js/chat.js builds the same markup for live messages)."""

from app.templating import message_text

ANA = {"id": 1, "username": "ana"}
BOB = {"id": 2, "username": "bob.s"}


def test_mentions_become_profile_links_marked_for_the_reader(app):
    with app.test_request_context("/", base_url="http://chat.example"):
        html = str(message_text("hi @Ana and @bob.s. see https://x.org/a.", [ANA, BOB], me_id=2))
    assert html == (
        'hi <a href="http://chat.example/u/ana" data-mention="other">@Ana</a> and '
        '<a href="http://chat.example/u/bob.s" data-mention="me">@bob.s</a>. see '
        '<a href="https://x.org/a" dir="ltr" target="_blank" rel="noopener nofollow" class="underline break-all">https://x.org/a</a>.'
    )


def test_names_not_mentioned_e_mails_and_markup_stay_text(app):
    with app.test_request_context("/"):
        html = str(message_text("<b>@carl</b> ana@ana.org x@ana", [ANA], me_id=1))
        assert html == "&lt;b&gt;@carl&lt;/b&gt; ana@ana.org x@ana"
        assert str(message_text("plain <i>", None)) == "plain &lt;i&gt;"


def test_a_link_shows_invisible_characters_percent_encoded_and_left_to_right(app):
    """An address holding a right-to-left override (typed raw, or already percent-encoded) reads as
    written, "…%E2%80%AEgnp.exe", never reversed as "…exe.png": the control is percent-encoded in the
    shown text and the address, and the link is isolated from the text around it (dir="ltr")."""
    with app.test_request_context("/"):
        raw = str(message_text("get https://x.org/\u202egnp.exe now", None))
        typed = str(message_text("get https://x.org/%E2%80%AEgnp.exe now", None))
        hidden = str(message_text("https://x.org/a\u200bb\u2066c\ufeff", None))
    link = (
        '<a href="https://x.org/%E2%80%AEgnp.exe" dir="ltr" target="_blank" rel="noopener nofollow" '
        'class="underline break-all">https://x.org/%E2%80%AEgnp.exe</a>'
    )
    assert raw == typed == f"get {link} now"
    assert "\u202e" not in raw
    assert ">https://x.org/a%E2%80%8Bb%E2%81%A6c%EF%BB%BF</a>" in hidden


def test_the_text_around_links_is_kept_as_written(app):
    """Message text keeps its bidi controls and joiners (an emoji's ZWJ, an RTL mark); the chat page
    contains them in the body's own dir="auto" paragraph (see test_chat_pages)."""
    with app.test_request_context("/"):
        html = str(message_text("\u202eevil\u202c 👩\u200d💻 \u200fשלום", None))
    assert html == "\u202eevil\u202c 👩\u200d💻 \u200fשלום"
