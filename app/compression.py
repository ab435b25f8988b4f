"""Compressed responses (Flask-Compress): Brotli or gzip, whichever the browser prefers, for the
text the app sends (pages, fragments, JSON, scripts, styles, SVG) of at least COMPRESS_MIN_SIZE
bytes. Never for attachments (their bytes go out as stored, and byte ranges of them must mean the
stored bytes), never for a partial (206) answer or a request for a byte range, and never for
Socket.IO, whose requests never reach Flask (the Engine.IO middleware answers them first).
Static files are read whole to be compressed: they are small, and their ETag gets the
encoding appended (a strong validator per encoding), so conditional requests still answer 304."""

from flask import Flask, Response, current_app, request
from flask_compress import Compress

compress = Compress()

COMPRESSED_TYPES = [
    "text/html",
    "text/css",
    "text/plain",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/manifest+json",
    "image/svg+xml",
]
# Blueprints whose answers go out as they are: files people uploaded.
UNCOMPRESSED_BLUEPRINTS = {"attachments"}


def init_app(app: Flask) -> None:
    """Compress the app's answers; registered first, so that it runs after every other hook."""
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    app.config.setdefault("COMPRESS_MIN_SIZE", 500)
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)
    app.config.setdefault("COMPRESS_STREAMS", False)
    app.config["COMPRESS_REGISTER"] = False  # our own hook below decides what is compressed
    compress.init_app(app)
    app.after_request(_compress)


def _compress(response: Response) -> Response:
    if not current_app.config.get("COMPRESS_ENABLED", True) or request.blueprint in UNCOMPRESSED_BLUEPRINTS:
        return response
    if response.status_code == 206 or "Range" in request.headers:
        return response
    if request.endpoint == "static" and response.status_code == 200 and response.mimetype in COMPRESSED_TYPES:
        # send_file answers with the open file; read it whole so that it can be compressed.
        response.direct_passthrough = False
        response.make_sequence()
    if response.is_streamed:
        return response
    compressed = compress.after_request(response)
    if compressed.headers.get("Content-Encoding"):
        # Byte ranges of a compressed answer would mean bytes of the compressed form: offer none.
        compressed.headers.pop("Accept-Ranges", None)
    return compressed
