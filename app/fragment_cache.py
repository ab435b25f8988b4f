"""Rendered message fragments (chat/_message.html), kept by what they are drawn from.

A message's fragment is viewer-neutral and a function of its inputs alone: M without its html, the
stored body HTML, whether senders are named with their @username, and the reactors' names. The
key is a digest of those inputs, so an edit, a reaction, a deletion, a link card or a sender's new
name or picture is a new key: nothing is ever invalidated, and a stale fragment cannot be served.
The least recently used go once MESSAGE_FRAGMENT_CACHE_SIZE are kept (0: every render is fresh).
"""

import hashlib
import threading
from collections.abc import Callable

import msgspec
from cachetools import LRUCache

_encoder = msgspec.json.Encoder()


class FragmentCache:
    """One worker's rendered fragments by the digest of their inputs; `hits` and `misses` count."""

    def __init__(self, size: int):
        self._entries: LRUCache | None = LRUCache(maxsize=size) if size > 0 else None
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries) if self._entries is not None else 0

    def get_or_render(self, inputs, render: Callable[[], str]) -> str:
        """The fragment drawn from `inputs` (JSON-encodable), rendered by `render` when not kept."""
        if self._entries is None:
            return render()
        key = hashlib.blake2b(_encoder.encode(inputs), digest_size=16).digest()
        with self._lock:
            html = self._entries.get(key)
        if html is not None:
            self.hits += 1
            return html
        self.misses += 1
        html = render()
        with self._lock:
            self._entries[key] = html
        return html
