"""Text from someone else's server, made safe to keep: valid Unicode, no control characters,
and no longer than the records that hold it allow. Every record built from outside text (a
feed entry, an article, a dead letter) passes its strings through here once, whatever the
source (feeds, pages, JSON-LD, WARC records, JSON Lines input): the encoder, the stores'
indexes and the sinks never see a lone surrogate or a headline of a megabyte."""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable

# C0 control characters (NUL among them) and DEL, but for tab, line feed and carriage return:
# a feed's "&#0;" or a page's "\u0000" must not reach a store (PostgreSQL refuses NUL in text,
# SQLite keeps it), and no reader wants them. Both stores get the same text.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # (a pattern: twelve times str.translate's speed)
# A surrogate code point on its own: JSON's "\ud800" escape makes one in a Python string. UTF-8
# cannot encode it, so the sentence encoder, the stores and every file writer would fail on it.
_SURROGATE = re.compile("[\ud800-\udfff]")

# The longest headline kept. Headlines run to a few hundred characters; a longer "title" is a
# body or an attack (a megabyte of distinct words overflows PostgreSQL's text-search vector), cut
# at a word.
MAX_TITLE_CHARS = 1_000
# The longest URL newsbeam handles. Browsers and CDNs stop near 2,000 to 8,000; PostgreSQL's
# B-tree keys (articles, dead letters, feeds) at ~2,700 bytes. A longer link is not fetched.
MAX_URL_CHARS = 2_048


def valid_unicode(text: str) -> str:
    """The text with each lone surrogate replaced by U+FFFD; a surrogate pair that JSON escapes
    split into two code points is joined into its character."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def without_controls(text: str) -> str:
    """The text as valid Unicode without control characters (tab and line breaks stay)."""
    return valid_unicode(_CONTROLS.sub("", text))


def clipped(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word where one ends in the last tenth."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", limit - limit // 10, limit)
    return text[:cut if cut > 0 else limit].rstrip()


def bounded_key(url: str) -> str:
    """A URL as a store's key: itself when short enough, else its start and a digest of the
    whole, so two long URLs stay two keys and no index is asked to hold more than it can."""
    if len(url) <= MAX_URL_CHARS:
        return url
    digest = hashlib.sha256(url.encode("utf-8", "replace")).hexdigest()[:16]
    return f"{url[:MAX_URL_CHARS - 40]}...#{digest}"


def clean_fields(record: object) -> None:
    """On a frozen dataclass being made: every str field (and every str in a tuple field) as
    without_controls gives it. Called from __post_init__ of the records that carry outside text."""
    for name, value in vars(record).items():
        cleaned: str | tuple[str, ...]
        if isinstance(value, str):
            cleaned = without_controls(value)
        elif isinstance(value, tuple) and value and all(isinstance(item, str) for item in value):
            cleaned = tuple(without_controls(item) for item in value)
        else:
            continue
        if cleaned != value:
            object.__setattr__(record, name, cleaned)


def tag_list(values: Iterable[str]) -> tuple[str, ...]:
    """Tags as a reader reads them: each once (whatever its case), a list written as one
    ("Politics,Federal Politics") apart, entities decoded ("Science &amp; Technology"); a tag
    that is itself a list ("Business, Finance, & Economics") stays one."""
    tags: dict[str, str] = {}
    for value in values:
        pieces = [" ".join(part.split()) for part in html.unescape(value or "").split(",")]
        if any(piece.startswith(("&", "and ")) for piece in pieces[1:]):
            pieces = [", ".join(piece for piece in pieces if piece)]  # one tag, written as a list
        for tag in filter(None, pieces):
            tags.setdefault(tag.casefold(), tag)
    return tuple(tags.values())


# --- Folds: a text in the form it is compared in, each named for what it keeps -----------------
def fold_spaces(text: str) -> str:
    """Case and runs of whitespace folded: the same words, however spaced and capitalised."""
    return " ".join(text.casefold().split())


def fold_words(text: str) -> str:
    """Case folded, and anything but letters and digits one space: the same words, whatever the
    punctuation between them."""
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


def fold_accents(text: str) -> str:
    """Case folded and accents dropped ("Écoles" and "ecoles" agree)."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def fold_letters(text: str) -> str:
    """Letters and digits only, lower-case, accents and umlauts spelled out: for comparing a
    title's segment with a site's name ("Börsen-Zeitung", boersen-zeitung.de)."""
    text = text.casefold().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    return re.sub(r"\W+|_", "", fold_accents(text))
