"""Static files and the browser cache: the stylesheet's address carries a hash of its content and is
cached for a year; any other address of it, and the ES modules, revalidate."""

import hashlib
import re
from pathlib import Path

from tests.conftest import AuthActions

STATIC = Path(__file__).resolve().parent.parent / "app" / "static"


def test_the_stylesheet_is_linked_by_content_hash_and_cached_for_a_year(client):
    html = client.get("/login").get_data(as_text=True)
    (href,) = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    expected = hashlib.sha256((STATIC / "css" / "app.css").read_bytes()).hexdigest()[:16]
    assert href == f"/static/css/app.css?v={expected}"
    response = client.get(href)
    assert response.status_code == 200
    assert response.cache_control.max_age == 365 * 24 * 3600
    assert response.cache_control.public and response.cache_control.immutable
    assert not response.cache_control.no_cache


def test_other_addresses_of_static_files_revalidate(client):
    """Without the current hash (none, a stale one) and for the modules, no long caching."""
    for address in ["/static/css/app.css", "/static/css/app.css?v=0123456789abcdef", "/static/js/app.js"]:
        response = client.get(address)
        assert response.status_code == 200, address
        assert not response.cache_control.immutable and not response.cache_control.max_age, address
    assert '<script type="module" src="/static/js/app.js">' in client.get("/login").get_data(as_text=True)


# A static import: `import x from "./a.js"`, `import { a,\n b } from "../b.js"`, `import "./c.js"`.
STATIC_IMPORT = re.compile(r"""(?:^|;)\s*import\s+(?:[^"';]*?\sfrom\s+)?["'](\.{1,2}/[^"']+)["']""", re.M | re.S)


def static_imports(entry: Path) -> set[Path]:
    """Every module `entry` imports, directly or through others (dynamic imports left out)."""
    found, todo = set(), [entry.resolve()]
    while todo:
        module = todo.pop()
        for address in STATIC_IMPORT.findall(module.read_text()):
            imported = (module.parent / address).resolve()
            if imported not in found:
                found.add(imported)
                todo.append(imported)
    return found


def test_everything_the_chat_pages_first_paint_waits_for_is_fetched_at_once(client, group_and_chat):
    """main.js is render-blocking: every module it imports, however deep, is a modulepreload or a
    module script of the page, so none waits for the module that imports it to arrive."""
    _ana, _bob, _cyd, _dan, group, _chat = group_and_chat
    AuthActions(client).login("ana")
    html = client.get(f"/c/{group.id}").get_data(as_text=True)
    assert re.search(r'<script type="module" blocking="render" src="/static/js/chat/main.js', html)
    fetched = set(re.findall(r'<link rel="modulepreload" href="/static/([^"?]+)"', html))
    fetched |= set(re.findall(r'<script type="module"[^>]* src="/static/([^"?]+)"', html))
    needed = {str(path.relative_to(STATIC)) for path in static_imports(STATIC / "js" / "chat" / "main.js")}
    assert needed - fetched == set()
