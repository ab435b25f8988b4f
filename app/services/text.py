"""Cleaning user-typed text before it is checked and stored."""

import re
import unicodedata


def _drop_control(value: str, keep: str = "") -> str:
    # NUL and other control characters have no place in names or bios (PostgreSQL refuses NUL).
    return "".join(char for char in value if char in keep or unicodedata.category(char) != "Cc")


def clean_line(value: str | None) -> str:
    """One line of text: control characters removed, runs of white space folded to one space."""
    return " ".join(_drop_control(value or "", keep="\t\n\r").split())


def clean_multiline(value: str | None) -> str:
    """Text whose line breaks matter (a bio): newlines normalised, other control characters removed."""
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in _drop_control(text, keep="\n\t").split("\n")]
    return "\n".join(lines).strip()


def replace_lone_surrogates(value):
    """value (JSON: strings, lists, dicts) with every lone UTF-16 surrogate turned into U+FFFD.

    JSON may spell one ("\\ud800"); no database can store it, so it would fail deep inside a
    transaction. Werkzeug decodes form data the same way (errors="replace"). Iterative: however
    deeply the value nests, this never recurses."""
    root = [value]
    # (container, key or index, value) still to clean; containers are rebuilt in place below.
    pending = [(root, 0, value)]
    while pending:
        holder, slot, item = pending.pop()
        if isinstance(item, str):
            holder[slot] = _LONE_SURROGATE.sub("\ufffd", item)
        elif isinstance(item, list):
            copy = list(item)
            holder[slot] = copy
            pending.extend((copy, index, child) for index, child in enumerate(copy))
        elif isinstance(item, dict):
            copy = {
                _LONE_SURROGATE.sub("\ufffd", key) if isinstance(key, str) else key: child
                for key, child in item.items()
            }
            holder[slot] = copy
            pending.extend((copy, key, child) for key, child in copy.items())
    return root[0]


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
