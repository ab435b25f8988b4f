"""Responses go out compressed (Brotli or gzip, as the browser asks): pages, styles and scripts decode
to exactly what an uncompressed answer holds; attachments, byte ranges and small answers go out as
they are; static files still answer conditional requests with 304."""

import gzip
import io
import json

import brotli
import pytest

from tests.conftest import AuthActions, extract_csrf
from tests.images import picture

DECODE = {"br": brotli.decompress, "gzip": gzip.decompress}


@pytest.fixture
def plain_bodies(app):
    """The bodies of the app's answers before they are compressed, in order (a hook that runs before
    the compression's, which runs last)."""
    bodies = []

    @app.after_request
    def keep(response):
        if not response.direct_passthrough:
            bodies.append(response.get_data())
        return response

    return bodies


@pytest.fixture
def ana_and_bob(app, plain_bodies):
    """Ana, signed in, with her friend Bob: (ana's client, bob's client)."""
    ana, bob = app.test_client(), app.test_client()
    AuthActions(ana).register(username="ana", first_name="Ana")
    AuthActions(bob).register(username="bob", first_name="Bob")
    _post(ana, "/u/bob/friend-request")
    _post(bob, "/u/ana/friend-request/accept")
    return ana, bob


def _post(client, path, **options):
    token = extract_csrf(client.get("/").get_data(as_text=True))
    return client.post(path, headers={"X-CSRFToken": token}, **options)


@pytest.mark.parametrize("encoding", ["br", "gzip"])
@pytest.mark.parametrize("path", ["/chat/bob", "/", "/static/css/app.css", "/static/js/chat/main.js"])
def test_pages_styles_and_scripts_are_compressed_and_decode_to_the_same(ana_and_bob, plain_bodies, path, encoding):
    ana, _bob = ana_and_bob
    plain = ana.get(path)
    assert "Content-Encoding" not in plain.headers
    packed = ana.get(path, headers={"Accept-Encoding": f"{encoding}, identity;q=0.5"})
    assert plain.status_code == packed.status_code == 200
    assert packed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data) / 2
    # Pages differ from one answer to the next (a fresh CSRF token): compare with this answer's own.
    sent = plain.data if path.startswith("/static/") else plain_bodies[-1]
    assert DECODE[encoding](packed.data) == sent


def test_a_browser_asking_for_both_gets_brotli(ana_and_bob):
    ana, _bob = ana_and_bob
    answer = ana.get("/chat/bob", headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert answer.headers["Content-Encoding"] == "br"


def test_json_is_compressed(ana_and_bob, plain_bodies):
    ana, _bob = ana_and_bob
    conversation = _post(ana, "/api/conversations/direct", json={"username": "bob"}).get_json()["id"]
    for index in range(5):
        _post(ana, f"/c/{conversation}/messages", data={"body": f"message {index}", "client_id": f"json-{index}"})
    answer = ana.get(f"/api/conversations/{conversation}/messages", headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200 and answer.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(answer.data) == plain_bodies[-1]
    assert len(json.loads(plain_bodies[-1])["messages"]) == 5


def test_static_files_keep_answering_conditional_requests(ana_and_bob):
    ana, _bob = ana_and_bob
    first = ana.get("/static/css/app.css", headers={"Accept-Encoding": "br"})
    assert first.headers["Content-Encoding"] == "br" and first.headers["ETag"].endswith(':br"')
    assert "Accept-Ranges" not in first.headers
    again = ana.get("/static/css/app.css", headers={"Accept-Encoding": "br", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_byte_ranges_are_answered_from_the_plain_bytes(ana_and_bob):
    ana, _bob = ana_and_bob
    plain = ana.get("/static/css/app.css").data
    part = ana.get("/static/css/app.css", headers={"Accept-Encoding": "br, gzip", "Range": "bytes=0-99"})
    assert part.status_code == 206 and "Content-Encoding" not in part.headers
    assert part.data == plain[:100]


def test_attachments_go_out_as_stored(ana_and_bob):
    ana, _bob = ana_and_bob
    conversation = _post(ana, "/api/conversations/direct", json={"username": "bob"}).get_json()["id"]
    text = b"a plain text file, long enough to be worth compressing. " * 40
    for name, data in (("notes.txt", text), ("photo.png", picture("PNG", (300, 200)))):
        uploaded = _post(
            ana,
            f"/c/{conversation}/attachments",
            data={"file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )
        assert uploaded.status_code == 201, uploaded.get_data(as_text=True)
        url = uploaded.get_json()["attachment"]["url"]
        served = ana.get(url, headers={"Accept-Encoding": "br, gzip"})
        assert served.status_code == 200, url
        assert "Content-Encoding" not in served.headers
        if name.endswith(".txt"):
            assert served.data == text
        part = ana.get(url, headers={"Accept-Encoding": "br, gzip", "Range": "bytes=0-9"})
        assert "Content-Encoding" not in part.headers


def test_small_answers_are_not_compressed(app):
    answer = app.test_client().get("/healthz", headers={"Accept-Encoding": "br, gzip"})
    assert "Content-Encoding" not in answer.headers
