"""Serve Messanger: `python run.py` (PORT, default 8000; ASYNC_MODE eventlet, the default, or gevent)."""

import os
import warnings
from pathlib import Path

from dotenv import load_dotenv

# ASYNC_MODE may come from .env, and the green library must patch the standard library before
# anything else is imported, so sockets, threads and the database driver cooperate with its loop.
load_dotenv(Path(__file__).resolve().parent / ".env")
if os.environ.get("ASYNC_MODE", "").strip().lower() == "gevent":
    from gevent import monkey

    monkey.patch_all()
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()
else:
    # Known and decided (docs/decisions.md): eventlet is in bugfix-only mode; gevent is the exit.
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()

from app.server import main  # noqa: E402

if __name__ == "__main__":
    main()
