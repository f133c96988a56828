"""Themes: what residents care about, as organisers typed it, folded to one key per
theme of the organisation ("Bins", "bins " and "BINS!" are one theme)."""

from __future__ import annotations

import re
import unicodedata

MAX_THEME = 100
_NOT_WORD = re.compile(r"[^\w]+")


def theme_key(name: str) -> str:
    """Case, punctuation and spacing folded: the key a theme is known by."""
    folded = unicodedata.normalize("NFKC", name).casefold().replace("_", " ")
    return " ".join(_NOT_WORD.sub(" ", folded).split())[:MAX_THEME]


def theme_name(name: str) -> str:
    """The spelling shown: as typed, with surrounding and repeated spaces removed."""
    return " ".join(name.split())[:MAX_THEME]
