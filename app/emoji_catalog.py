"""The emoji the composer's picker and `:shortcode:` completion offer, from the `emoji` package:
one row [emoji, [shortcodes...]] per fully-qualified emoji (skin-tone variants left out; the
first shortcode is its name), built once per process and served as one cacheable JSON body."""

import hashlib
import json
from functools import cache

import emoji

_SKIN_TONES = {chr(code) for code in range(0x1F3FB, 0x1F400)}
# Faces, then hands and people, as pickers start; then the rest by code point.
_FIRST_BLOCKS = ((0x1F600, 0x1F64F), (0x1F910, 0x1F92F), (0x1F970, 0x1F97F), (0x1F440, 0x1F4AF))


def _order(char: str) -> tuple[int, int]:
    code = ord(char[0])
    block = next((index for index, (low, high) in enumerate(_FIRST_BLOCKS) if low <= code <= high), len(_FIRST_BLOCKS))
    return block, code


def rows() -> list[list]:
    """[[emoji, [shortcode, ...]], ...]: shortcodes without colons, the CLDR name first, then aliases."""
    found = []
    for char, data in emoji.EMOJI_DATA.items():
        if data.get("status") != emoji.STATUS["fully_qualified"] or _SKIN_TONES & set(char):
            continue
        codes = [data["en"], *data.get("alias", [])]
        names = list(dict.fromkeys(code.strip(":") for code in codes))
        found.append([char, names])
    found.sort(key=lambda row: (_order(row[0]), row[0]))
    return found


@cache
def catalog() -> tuple[bytes, str]:
    """The JSON body {"version", "emoji": rows()} and its ETag, computed once."""
    body = json.dumps({"version": emoji.__version__, "emoji": rows()}, ensure_ascii=False, separators=(",", ":"))
    data = body.encode()
    return data, hashlib.sha256(data).hexdigest()[:32]
