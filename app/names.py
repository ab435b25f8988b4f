"""Names people and conversations are known by: which characters a name may hold, and which names
look alike (app.services.names.clean_name refuses a name by these rules). Unicode's sets and its
confusables data come from ICU (PyICU): the invisible characters are ICU's property sets, and two
names look alike when their UTS #39 skeletons match."""

import hashlib
import re
from urllib.parse import quote

import icu


def _character_class(pattern: str) -> re.Pattern:
    """A regular expression matching one character of an ICU UnicodeSet pattern."""
    ranges = icu.UnicodeSet(pattern).ranges()
    return re.compile("[" + "".join(f"{re.escape(first)}-{re.escape(last)}" for first, last in ranges) + "]")


# Characters that draw nothing or reorder what is drawn around them: format characters (Cf: the bidi
# controls U+202A–202E and U+2066–2069, zero-width spaces and joiners U+200B–200D, the BOM U+FEFF,
# ...), the other default-ignorable code points (Hangul fillers, variation selectors, the combining
# grapheme joiner), controls, and line and paragraph separators. static/js/chat.js's FORMAT_CHARACTER
# is the same set.
INVISIBLE = _character_class(r"[[:Cf:][:Default_Ignorable_Code_Point:][:Cc:][:Zl:][:Zp:]]")
# What may stand in a name but shows nothing alone: spaces, marks with no letter to sit on, the
# blank Braille pattern.
_BLANK = _character_class(r"[[:White_Space:][:Mn:][:Me:]\u2800]")

_SPOOF_CHECKER = icu.SpoofChecker()


def strip_invisible(value: str | None) -> str:
    """value without INVISIBLE characters, runs of white space folded to one space, trimmed."""
    return " ".join(INVISIBLE.sub("", value or "").split())


def is_visible(value: str) -> bool:
    """Whether value shows at least one character of its own (a letter, digit, symbol or mark of
    punctuation), rather than only spaces, lone combining marks or blanks."""
    return _BLANK.sub("", value) != ""


def skeleton(name: str) -> str:
    """The form two names share when they look alike: ICU's UTS #39 skeleton of the case-folded name,
    folded again (so "Alice", "ALICE", "Аlice" with a Cyrillic А and "A1ice" all give "alice")."""
    return _SPOOF_CHECKER.getSkeleton(0, strip_invisible(name).casefold()).casefold()


SKELETON_KEY_LENGTH = 32


def skeleton_key(name: str) -> str:
    """skeleton(name) as a fixed-size key for an indexed column (a skeleton can be longer than the
    name: "m" becomes "rn")."""
    return hashlib.sha256(skeleton(name).encode()).hexdigest()[:SKELETON_KEY_LENGTH]


def visible_url(url: str) -> str:
    """A link's address as shown and followed: every INVISIBLE character percent-encoded, so
    "…/%E2%80%AEgnp.exe" reads as written and never reversed (as "…/exe.png")."""
    return INVISIBLE.sub(lambda match: quote(match.group(0), safe=""), url)
