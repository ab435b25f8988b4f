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
        '<a href="https://x.org/a" target="_blank" rel="noopener nofollow" class="underline break-all">https://x.org/a</a>.'
    )


def test_names_not_mentioned_e_mails_and_markup_stay_text(app):
    with app.test_request_context("/"):
        html = str(message_text("<b>@carl</b> ana@ana.org x@ana", [ANA], me_id=1))
        assert html == "&lt;b&gt;@carl&lt;/b&gt; ana@ana.org x@ana"
        assert str(message_text("plain <i>", None)) == "plain &lt;i&gt;"
