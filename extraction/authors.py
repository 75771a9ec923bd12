"""Authors: people, each once, in reading order."""

from __future__ import annotations

import re

_AUTHOR_SPLIT = re.compile(r"\s*(?:;|,|/|&|\band\b|\bund\b|\|)\s*", re.I)
_AUTHOR_PREFIX = re.compile(r"^(?:by|von|from)\s+", re.I)


def split_authors(*values: str | None) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for value in values:
        for name in _AUTHOR_SPLIT.split(value or ""):
            name = _AUTHOR_PREFIX.sub("", " ".join(name.split())).strip(" .")
            if len(name) > 1 and name.casefold() not in seen:
                seen[name.casefold()] = name
    return tuple(seen.values())
