"""The JSON that Socket.IO packets are read and written with."""

import json
import math
import re

from app.services.text import replace_lone_surrogates

# python-engineio refuses integers written in more than 100 digits (int() on huge text is slow) by
# failing the whole packet, before any handler could answer it: the client gets no ack at all.
MAX_INTEGER_DIGITS = 100
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _bounded_int(digits: str) -> int | float:
    """The integer, or ±infinity for one too long to read: a value every handler already refuses."""
    if len(digits) <= MAX_INTEGER_DIGITS:
        return int(digits)
    return -math.inf if digits.startswith("-") else math.inf


class SocketJSON:
    """A json module for Flask-SocketIO: huge integers become a refusable value, not a lost event."""

    dumps = staticmethod(json.dumps)

    @staticmethod
    def loads(text, **kwargs):
        """json.loads, reading integers of more than MAX_INTEGER_DIGITS digits as ±infinity and lone
        surrogates as U+FFFD."""
        kwargs.setdefault("parse_int", _bounded_int)
        value = json.loads(text, **kwargs)
        if isinstance(text, str) and SURROGATE_ESCAPE.search(text):
            value = replace_lone_surrogates(value)
        return value
