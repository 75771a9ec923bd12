"""The words of newsrooms newsbeam knows, one list each, for every rule that needs them: news
agencies (a byline's credit, a photo credit "Foto: dpa/...", a closing "(Reuters)" line)."""

from __future__ import annotations

import re

# Wire and photo agencies by the names they sign with: short forms first, then full names.
AGENCY_SHORT_NAMES = (
    "dpa", "afp", "ap", "reuters", "sid", "kna", "epd", "apa", "sda", "ansa", "efe", "upi", "pap", "anp", "tt",
    "ntb", "ddp", "aa", "pa", "ips", "ctk", "čtk", "tass", "xinhua", "kyodo", "yonhap", "belga", "ritzau",
    "bloomberg", "anadolu", "epa", "keystone", "pti", "ians")
AGENCY_FULL_NAMES = (
    "dpa-afx", "dpa-infocom", "keystone-sda", "apa-ots", "afp/dpa", "dpa/afp", "associated press",
    "agence france-presse", "deutsche presse-agentur", "agencia efe", "europa press", "press association")
# One alternation of the short names, for patterns ("\b(?:dpa|afp|...)\b"), longest first.
AGENCY_PATTERN = "|".join(re.escape(name) for name in sorted(AGENCY_SHORT_NAMES, key=len, reverse=True))
