"""Serve Messanger with the eventlet server: `python run.py` (PORT, default 8000)."""

import eventlet

# Patch the standard library before anything else is imported, so sockets, threads and the
# database drivers cooperate with the event loop.
eventlet.monkey_patch()

import os  # noqa: E402
import sys  # noqa: E402

from app import create_app  # noqa: E402
from app.config import ConfigError  # noqa: E402
from app.extensions import socketio  # noqa: E402


def main() -> None:
    """Build the app and serve it until interrupted."""
    try:
        app = create_app()
    except ConfigError as error:
        sys.exit(f"Messanger cannot start: {error}")
    production = app.config["APP_ENV"] == "production"
    host = os.environ.get("HOST", "").strip() or ("0.0.0.0" if production else "127.0.0.1")
    port = int(os.environ.get("PORT", "").strip() or 8000)
    app.logger.info("Messanger serving on http://%s:%d", "localhost" if host == "127.0.0.1" else host, port)
    socketio.run(app, host=host, port=port, log_output=not production)


if __name__ == "__main__":
    main()
