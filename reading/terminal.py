"""Text from other people's servers, shown safely on a terminal: control characters,
bidirectional overrides and other invisible format characters are shown as escapes, never
sent raw (they could rewrite or reorder what a person reads)."""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from typing import Any


# Characters a terminal would act on or that change how text reads: C0 and C1 controls, format
# characters (bidirectional overrides and isolates, zero-width joiners), line and paragraph
# separators, surrogates, private use.
@functools.cache
def _hidden() -> re.Pattern:
    ranges: list[list[int]] = []
    for code in range(0x110000):
        if unicodedata.category(chr(code)) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return re.compile("[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges) + "]")


def printable(text: str, keep: str = "") -> str:
    """Text with every hidden or controlling character shown as an escape (\\u202e), but the
    ones in `keep` (a page keeps its line breaks)."""
    return _hidden().sub(lambda m: m.group() if m.group() in keep else m.group().encode("unicode_escape").decode(
        "ascii"), text)


def _json_escape(match: re.Match) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def safe_json(value: Any, **options: Any) -> str:
    """JSON as `json.dumps(ensure_ascii=False)` writes it, with the hidden characters as
    \\u escapes: the same JSON to a program, nothing a terminal acts on. (Newlines of `indent`
    are JSON's own; inside strings json already escapes its controls.)"""
    text = json.dumps(value, ensure_ascii=False, **options)
    return _hidden().sub(lambda m: m.group() if m.group() == "\n" else _json_escape(m), text)
