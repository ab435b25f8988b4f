"""How Socket.IO packets are read and written: the JSON, and the packet class that turns a packet no
handler could read into one the server refuses with an ack instead of a traceback."""

import json
import math
import re
import time

from socketio import packet as sio_packet

from app.log import socket_log
from app.services.text import replace_lone_surrogates

# python-engineio refuses integers written in more than 100 digits (int() on huge text is slow) by
# failing the whole packet, before any handler could answer it: the client gets no ack at all.
MAX_INTEGER_DIGITS = 100
# No payload of ours nests deeper than 3; deeper packets are refused before anything walks them.
MAX_DEPTH = 32
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
# The event an unreadable packet becomes: its handler answers `invalid` (app/realtime/handlers.py).
UNDECODABLE_EVENT = "\x00undecodable"
# At most one log line per this many seconds (per worker) for unreadable packets, with a count.
LOG_EVERY_SECONDS = 10


def _bounded_int(digits: str) -> int | float:
    """The integer, or ±infinity for one too long to read: a value every handler already refuses."""
    if len(digits) <= MAX_INTEGER_DIGITS:
        return int(digits)
    return -math.inf if digits.startswith("-") else math.inf


def nesting_depth(value) -> int:
    """How deeply lists and dicts nest in value (a scalar is 0), found without recursing."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in item)
    return deepest


class SocketJSON:
    """A json module for Flask-SocketIO: huge integers become a refusable value, not a lost event;
    text nested deeper than MAX_DEPTH is a ValueError, like any other unreadable JSON."""

    dumps = staticmethod(json.dumps)

    @staticmethod
    def loads(text, **kwargs):
        """json.loads, reading integers of more than MAX_INTEGER_DIGITS digits as ±infinity and lone
        surrogates as U+FFFD; ValueError for text nested deeper than MAX_DEPTH."""
        kwargs.setdefault("parse_int", _bounded_int)
        try:
            value = json.loads(text, **kwargs)
        except RecursionError:
            raise ValueError("nested too deeply") from None
        # Cheap guard first: text with few brackets cannot nest deeply.
        if isinstance(text, (str, bytes)) and _brackets(text) > MAX_DEPTH and nesting_depth(value) > MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH}")
        if isinstance(text, str) and SURROGATE_ESCAPE.search(text):
            value = replace_lone_surrogates(value)
        return value


def _brackets(text: str | bytes) -> int:
    if isinstance(text, bytes):
        return text.count(b"[") + text.count(b"{")
    return text.count("[") + text.count("{")


_CLIENT_TYPES = {
    sio_packet.CONNECT,
    sio_packet.DISCONNECT,
    sio_packet.EVENT,
    sio_packet.ACK,
    sio_packet.BINARY_EVENT,
    sio_packet.BINARY_ACK,
}


class SocketPacket(sio_packet.Packet):
    """python-socketio's packet, except that a packet it cannot read (bad JSON, nesting too deep, an
    event without a name, an unknown type) raises nothing: an event becomes UNDECODABLE_EVENT, which
    is answered `invalid` through its ack when it asked for one; anything else is dropped (a
    CONNECT's unreadable auth is ignored). Either way one short, rate-limited log line, never the
    library's traceback."""

    def __init__(self, *args, encoded_packet=None, **kwargs):
        super().__init__(*args, encoded_packet=encoded_packet, **kwargs)
        if encoded_packet is not None and not encoded_packet:  # python-socketio skips decoding ""
            self.attachment_count = self._unreadable("an empty packet")

    def decode(self, encoded_packet):
        """Decode a received packet; see the class."""
        try:
            attachments = super().decode(encoded_packet)
        except (ValueError, TypeError, IndexError, RecursionError) as error:  # TypeError: a stray binary frame
            return self._unreadable(str(error) or type(error).__name__)
        # Engine.IO hands over text it could read as JSON (a dict, a list, true) as that value.
        if type(self.packet_type) is not int or self.packet_type not in _CLIENT_TYPES:
            return self._unreadable(f"packet type {self.packet_type!r}")
        # No client of ours sends binary; python-socketio would raise (and log a traceback) for a binary
        # packet on a namespace the socket left, so none is taken at all.
        if self.packet_type in (sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK):
            return self._unreadable("a binary packet: this server reads JSON only")
        if self.packet_type == sio_packet.EVENT and not (
            isinstance(self.data, list) and self.data and isinstance(self.data[0], str)
        ):
            return self._unreadable("an event without a name")
        return attachments

    def _unreadable(self, reason: str) -> int:
        log_unreadable(reason)
        if self.packet_type == sio_packet.CONNECT:
            self.data = None
            return 0
        if self.packet_type not in (sio_packet.EVENT, sio_packet.BINARY_EVENT):
            self.id = None  # never answer an ACK (or anything but an event) with an ack
        # Its binary attachments, if any follow, arrive as unreadable packets of their own.
        self.packet_type = sio_packet.EVENT
        self.data = [UNDECODABLE_EVENT]
        return 0


_log_state = {"next": 0.0, "suppressed": 0}


def log_unreadable(reason: str) -> None:
    """One short line for an unreadable packet, at most every LOG_EVERY_SECONDS (the rest counted)."""
    now = time.monotonic()
    if now < _log_state["next"]:
        _log_state["suppressed"] += 1
        return
    suppressed, _log_state["suppressed"], _log_state["next"] = _log_state["suppressed"], 0, now + LOG_EVERY_SECONDS
    socket_log.warning(
        "unreadable socket packet refused: %s (%d more since the last such line)",
        reason[:120],
        suppressed,
        extra={"event": "packet", "error": "invalid"},
    )
