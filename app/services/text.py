"""Cleaning user-typed text before it is checked and stored."""

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
