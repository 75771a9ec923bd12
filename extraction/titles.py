"""The headline as published: no site name, section or separator that is not part of it.

A page offers its headline several times: the JSON-LD `headline` of its article, `og:title`,
`twitter:title`, its main `<h1>`, `<title>`, and the feed entry's title. Meta titles often
carry the site's name ("... | Börsen-Zeitung", "... - WELT", "...：朝日新聞デジタル"); a segment
is only dropped when it names the site (its og:site_name, JSON-LD publisher, the feed's title,
or its host) or is the section the page declares ("... | Sport", "Sport: ..."), so a headline
that happens to contain a separator keeps it.

The choice: the article's JSON-LD headline (what the newsroom filed); else og:title without
the site's name (an og:title that is only the site's name is none), unless the visible <h1>
says the same (then the <h1>, quotes and dashes as published) or og:title is the <h1> behind a
kicker; else the <h1> (or the element the page marks as its headline), twitter:title, <title>,
the feed's title, trafilatura's title, in that order. Words before a colon are a kicker only
where the page shows a kicker above its <h1>; else they are the headline's own.
"""

from __future__ import annotations

import re

from newsbeam.extraction.metadata import PageMetadata
from newsbeam.schemas.text import fold_letters, fold_spaces

# Separators between a headline and a site's name or section: spaced dashes, bars and colons,
# their full-width forms (CJK), bullets.
SEPARATOR = re.compile(r"\s+[|\-–—·•»/]\s+|\s*[|｜：︱]\s*|\s*[-–—]{2}\s*|\s+::\s+|\s+:\s+")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"',
                         "–": "-", "—": "-", "\u00a0": " "})
_GENERIC_HOST_LABELS = frozenset(["www", "m", "amp", "com", "net", "org", "co", "news", "online", "de", "uk", "at",
                                  "ch", "fr", "es", "it"])


def site_words(metadata: PageMetadata, feed_name: str | None = None) -> list[str]:
    """The names a site goes by, folded: what it calls itself, and its host's labels."""
    names = [fold_letters(n) for n in [*metadata.site_names, feed_name or ""] if fold_letters(n)]
    labels = [fold_letters(label) for label in metadata.host.split(".") if label not in _GENERIC_HOST_LABELS]
    return names + [label for label in labels if len(label) >= 2] + [fold_letters(metadata.host)]


def names_the_site(segment: str, sites: list[str]) -> bool:
    """Is this segment of a title the site's name (possibly with a suffix such as ".de",
    "Online", "DIGITAL", or a short qualifier)?"""
    folded = fold_letters(segment)
    if not folded or len(segment.split()) > 6:
        return False
    for site in sites:
        if folded == site or (folded in site and len(folded) >= 3):
            return True
        if site in folded and len(site) >= 3 and len(folded) <= len(site) + 12:
            return True
    return False


def strip_site(title: str, sites: list[str], section: str | None = None) -> str:
    """The title without leading or trailing segments that name the site or the section the
    page declares ("... | Sport | Coastal Courier", "Sport: ..."), nor a date after it."""
    section = section or ""
    section_key = fold_letters(section)

    def names_the_section(segment: str) -> bool:
        return bool(section_key) and fold_letters(segment) == section_key

    while True:
        colon = re.match(r"\s*:\s+", title[len(section):]) if section and \
            title.casefold().startswith(section.casefold()) else None
        if colon and title[len(section) + colon.end():].strip():
            title = title[len(section) + colon.end():]
        pieces = SEPARATOR.split(title)
        if len(pieces) < 2:
            return title.strip()
        separators = SEPARATOR.findall(title)
        if names_the_site(pieces[-1], sites) or names_the_section(pieces[-1]) or _DATE.fullmatch(pieces[-1].strip()):
            title = title[:title.rfind(separators[-1])]
        elif names_the_site(pieces[0], sites) or names_the_section(pieces[0]):
            title = title[title.find(separators[0]) + len(separators[0]):]
        else:
            return title.strip()


# Between a kicker and its headline when a title joins them.
_KICKER_SEPARATOR = re.compile(f"{SEPARATOR.pattern}|\\s*:\\s+")
# A date as a title's last segment: "28.04.2023", "2023-04-28", "28/04/2023".
_DATE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")
# A word, to tell whether an <h1> and a page's title have any in common.
_WORD = re.compile(r"\w+")


def same_words(a: str, b: str) -> bool:
    """The same headline, whatever its quotes, dashes and spaces."""
    return fold_spaces(a.translate(_QUOTES)) == fold_spaces(b.translate(_QUOTES))


def headline(metadata: PageMetadata, entry_title: str = "", extracted: str = "",
             feed_name: str | None = None) -> tuple[str, str | None]:
    """The headline as published, and the page's kicker (the line above it), apart."""
    title = _choose(metadata, entry_title, extracted, feed_name)
    h1 = metadata.h1 or ""
    if h1 and _behind_a_kicker(title, h1, metadata.kicker is not None):  # "Kicker | Headline" shown apart
        kicker = SEPARATOR.split(title[:len(title) - len(h1)])[0].strip()
        return h1, metadata.kicker or kicker or None
    if h1 and _before_a_suffix(title, h1):  # "Headline | Sport", "Headline | DW | 28.04.2023"
        title = h1
    kicker = metadata.kicker
    if kicker and not same_words(kicker, title) and title.casefold().startswith(kicker.casefold()):
        between = _KICKER_SEPARATOR.match(title[len(kicker):])  # "Kicker: Headline", "Kicker | Headline"
        if between:
            title = title[len(kicker) + between.end():].strip() or title
    return title, kicker


def _choose(metadata: PageMetadata, entry_title: str, extracted: str, feed_name: str | None) -> str:
    sites = site_words(metadata, feed_name)
    h1 = metadata.h1 or ""
    for candidate in metadata.headlines:
        if not candidate.endswith(("…", "...")):
            return strip_site(candidate, sites)
    section = metadata.section
    og = strip_site(metadata.meta_titles.get("og:title", ""), sites, section)
    if og and not names_the_site(og, sites):  # an og:title that is only the site's name is none
        if h1 and (same_words(h1, og) or _behind_a_kicker(og, h1, metadata.kicker is not None)):
            return h1
        return og
    title = strip_site(metadata.meta_titles.get("title", ""), sites, section)
    if h1 and len(_WORD.findall(title)) >= 3 and not names_the_site(title, sites) and not _shares_a_word(h1, title):
        h1 = ""  # beside a headline-like title it names no word of: the site's logo or the page's label
    for candidate in (h1, strip_site(metadata.meta_titles.get("twitter:title", ""), sites, section), title,
                      strip_site(entry_title, sites, section), strip_site(extracted, sites, section)):
        if candidate and not names_the_site(candidate, sites):
            return candidate
    return h1 or entry_title or extracted


def _shares_a_word(a: str, b: str) -> bool:
    return bool(set(_WORD.findall(a.casefold())) & set(_WORD.findall(b.casefold())))


def _before_a_suffix(title: str, h1: str) -> bool:
    """Is `title` the headline `h1` with a section, site or date after it ("... | Sport")?"""
    if len(title) <= len(h1) or not title.startswith(h1):
        return False
    return SEPARATOR.match(title[len(h1):]) is not None


def _behind_a_kicker(title: str, h1: str, kicker_shown: bool) -> bool:
    """Is `title` the headline `h1` with a kicker in front ("Vierschanzentournee | ...",
    "Iranischer Angriff auf Israel: ...")?"""
    if len(title) <= len(h1) or not title.endswith(h1):
        return False
    # a colon joins a kicker to its headline only where the page shows a kicker of its own: else
    # the words before it are the headline's (a newsroom's "Nach Gaetz-Rückzug: ...")
    separator = _KICKER_SEPARATOR if kicker_shown else SEPARATOR
    return re.search(f"(?:{separator.pattern})$", title[:len(title) - len(h1)]) is not None
