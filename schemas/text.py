"""Text from someone else's server, made safe to keep: control characters off."""

from __future__ import annotations

# C0 control characters (NUL among them) and DEL, but for tab, line feed and carriage return:
# a feed's "&#0;" or a page's "\u0000" must not reach a store (PostgreSQL refuses NUL in text,
# SQLite keeps it), and no reader wants them. Both stores get the same text.
_CONTROLS = {code: None for code in [*range(0, 9), 11, 12, *range(14, 32), 127]}


def without_controls(text: str) -> str:
    """The text without control characters (tab and line breaks stay)."""
    return text.translate(_CONTROLS)
