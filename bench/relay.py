"""The ceiling: a bare relay on the product's stack (Flask-SocketIO on eventlet, or on gevent with
ASYNC_MODE=gevent, served like app/server.py serves), with no auth and no database.
`python -m bench.relay` (PORT, HOST, ASYNC_MODE).

On connect a client passes auth={"rooms": [conversation ids], "user": U}; the relay joins it to
"conversation:<id>" rooms. "send_message" {conversation_id, body, client_id} emits "message" (the
product's payload M, seq from an in-memory counter) to that room and acks {"ok": true, "message": M}.
"""

import os
import warnings

# As in run.py: the green library patches the standard library before anything else is imported.
ASYNC_MODE = "gevent" if os.environ.get("ASYNC_MODE", "").strip().lower() == "gevent" else "eventlet"
if ASYNC_MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()
else:
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()

import itertools  # noqa: E402
import logging  # noqa: E402
import socket  # noqa: E402
from collections import defaultdict  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

from flask import Flask, request  # noqa: E402
from flask_socketio import SocketIO, join_room  # noqa: E402

NAMESPACE = "/"
ANONYMOUS = {"id": None, "username": None, "display_name": "Relay user", "avatar_url": "/static/img/deleted-user.svg"}

app = Flask(__name__)
# The product's Socket.IO options: server-side sessions are not used here, same-origin CORS default.
socketio = SocketIO(app, async_mode=ASYNC_MODE, manage_session=False)

_senders: dict[str, dict] = {}
_seqs: dict[int, int] = defaultdict(int)
_ids = itertools.count(1)


@app.get("/healthz")
def healthz():
    """Answers while the relay serves."""
    return {"ok": True}


@socketio.on("connect")
def on_connect(auth=None):
    """Join the rooms the client names (the product derives them from memberships instead)."""
    auth = auth if isinstance(auth, dict) else {}
    for conversation_id in auth.get("rooms") or []:
        join_room(f"conversation:{int(conversation_id)}")
    _senders[request.sid] = auth.get("user") or ANONYMOUS


@socketio.on("disconnect")
def on_disconnect(*_reason):
    """Forget the socket."""
    _senders.pop(request.sid, None)


@socketio.on("send_message")
def on_send_message(payload=None, *_ignored):
    """Emit M to the conversation's room, then ack it."""
    if not isinstance(payload, dict) or not isinstance(payload.get("conversation_id"), int):
        return {"ok": False, "error": "invalid", "message": "send_message takes an object."}
    conversation_id = payload["conversation_id"]
    _seqs[conversation_id] += 1
    message = {
        "id": next(_ids),
        "conversation_id": conversation_id,
        "seq": _seqs[conversation_id],
        "sender": _senders.get(request.sid, ANONYMOUS),
        "body": payload.get("body"),
        "client_id": payload.get("client_id"),
        "created_at": datetime.now(UTC).isoformat(),
    }
    socketio.emit("message", message, to=f"conversation:{conversation_id}", namespace=NAMESPACE)
    return {"ok": True, "message": message}


def without_websocket_compression(wsgi_app):
    """Decline permessage-deflate (the client offers it), as the product's server does."""

    def wrapped(environ, start_response):
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return wsgi_app(environ, start_response)

    return wrapped


def main() -> None:
    """Serve until killed, on a listener and server set up like app/server.py's."""
    logging.basicConfig(level=logging.WARNING)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8100"))
    max_connections = int(os.environ.get("MAX_CONNECTIONS", "10000"))
    listener = socket.create_server((host, port), backlog=1024)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if ASYNC_MODE == "gevent":
        from gevent.pool import Pool
        from gevent.pywsgi import WSGIServer

        WSGIServer(
            listener,
            without_websocket_compression(app),
            spawn=Pool(max_connections),
            log=None,
            error_log=logging.getLogger("gevent.pywsgi"),
        ).serve_forever()
        return
    import eventlet.wsgi

    eventlet.wsgi.server(
        listener,
        without_websocket_compression(app),
        log=logging.getLogger("eventlet.wsgi"),
        log_output=False,
        max_size=max_connections,
    )


if __name__ == "__main__":
    main()
