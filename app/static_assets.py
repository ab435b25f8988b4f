"""Static files and the browser cache: `url_for("static", ...)` of a stylesheet carries `?v=` and a
hash of the file's content, and a request naming the current hash is answered cacheable for a year
(immutable), so a changed stylesheet is a new address. The ES modules are left as they are: they
import each other by plain relative address, which a query on the entry point would not follow, so
they keep Flask's default (revalidate with the ETag: a 304 when unchanged).

`module_graph(entry)` (a template global) lists every module an entry module imports, however deep,
so a page preloads them all at once instead of discovering them import by import."""

import hashlib
import re
from pathlib import Path

from flask import Flask, request

VERSIONED_SUFFIXES = (".css",)
ONE_YEAR = 365 * 24 * 3600


# `import x from "./a.js"`, `import "./a.js"` and `export { x } from "./a.js"`: relative addresses only.
STATIC_IMPORT = re.compile(
    r"""(?:^|;)\s*(?:import|export)\s+(?:[^"';]*?\sfrom\s+)?["'](\.{1,2}/[^"']+)["']""", re.M | re.S
)


def _imports(static: Path, entry: str) -> list[str]:
    found, todo = set(), [(static / entry).resolve()]
    while todo:
        module = todo.pop()
        try:
            text = module.read_text(encoding="utf-8")
        except OSError:
            continue
        for address in STATIC_IMPORT.findall(text):
            imported = (module.parent / address).resolve()
            if imported not in found:
                found.add(imported)
                todo.append(imported)
    return sorted(str(path.relative_to(static)) for path in found if path.is_relative_to(static))


def register_static_versions(app: Flask) -> None:
    """Add the content-hash query to stylesheet addresses and the long caching to their answers."""
    hashes: dict[str, str | None] = {}

    def content_hash(filename: str) -> str | None:
        if filename not in hashes or app.debug:
            try:
                data = (Path(app.static_folder) / filename).read_bytes()
            except OSError:
                hashes[filename] = None
            else:
                hashes[filename] = hashlib.sha256(data).hexdigest()[:16]
        return hashes[filename]

    graphs: dict[str, list[str]] = {}

    def module_graph(entry: str) -> list[str]:
        """The static paths of the modules `entry` (e.g. "js/chat/main.js") imports, however deep."""
        if entry not in graphs or app.debug:
            graphs[entry] = _imports(Path(app.static_folder).resolve(), entry)
        return graphs[entry]

    app.add_template_global(module_graph, "module_graph")

    @app.url_defaults
    def add_version(endpoint: str, values: dict) -> None:
        filename = values.get("filename", "")
        if endpoint == "static" and "v" not in values and filename.endswith(VERSIONED_SUFFIXES):
            version = content_hash(filename)
            if version:
                values["v"] = version

    @app.after_request
    def cache_versioned(response):
        if request.endpoint != "static" or response.status_code not in (200, 304):
            return response
        filename = (request.view_args or {}).get("filename", "")
        version = request.args.get("v")
        if version and filename.endswith(VERSIONED_SUFFIXES) and version == content_hash(filename):
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = ONE_YEAR
            response.cache_control.immutable = True
        return response
