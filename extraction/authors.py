"""Authors: the people who wrote the article, each once, in reading order.

From the first source that names people: the article's JSON-LD `author`, the page's author meta
tags, the byline trafilatura finds, the page's byline elements, the feed entry's
`dc:creator`/`author`, and last the links to an author's page. Bylines are split
("By A and B", "A, B und C", "A og B"); prefixes ("Von", "Autor:") and initials in brackets
dropped; organisations (said so by JSON-LD, or named like the site), news agencies, newsrooms
("Redaktion", "Staff"), e-mail addresses, URLs and descriptions of a person's job are not
authors."""

from __future__ import annotations

import re
from collections.abc import Iterable

from newsbeam.extraction.metadata import Author, PageMetadata, fold
from newsbeam.extraction.titles import names_the_site, site_words

_PREFIX = re.compile(r"^(?:(?:written|reported|reporting|text|texte|texto|testo)\s+)?(?:by|von|from|par|por|di|da|"
                     r"door|av|af|autor(?:in|a)?|author|text|texte|texto|testo|de)\s*[:\-]?\s+", re.I)
# Between two names: punctuation, and the word for "and" of the languages newsbeam meets.
_BETWEEN = re.compile(r"\s*(?:[,;|/&+]|\s(?:and|und|et|y|e|og|och|en|i|ve|a|и|și|ja|és)\s)\s*", re.I)
_BRACKETS = re.compile(r"\s*[(\[][^)\]]{0,40}[)\]]")
_NOT_A_PERSON = re.compile(
    r"\b(?:redaktion|redaction|rédaction|redacción|redazione|redakce|redaksjon|staff|newsroom|news desk|desk|team|"
    r"agenturen|agentur|agencies|agency|agence|nachrichtenagentur|online|editors?|editorial|reporters|"
    r"gmbh|ag|inc|ltd|llc|s\.a\.|verlag|media|medien|zeitung|newspaper|news|nachrichten|noticias|nouvelles|"
    r"notizie|nieuws|nyheter|wiadomości)\b|^(?:red|red\.|rd|ots)$", re.I)
# News agencies, by their usual names and short forms.
AGENCIES = frozenset(fold(name) for name in (
    "dpa", "afp", "ap", "reuters", "sid", "kna", "epd", "apa", "sda", "ansa", "efe", "upi", "pap", "anp", "tt", "ntb",
    "ritzau", "dpa-afx", "bloomberg", "associated press", "agence france-presse", "deutsche presse-agentur",
    "agencia efe", "europa press", "belga", "ctk", "čtk", "tass", "xinhua", "kyodo", "yonhap", "ips", "aa",
    "anadolu", "press association", "pa", "ddp", "afp/dpa", "dpa/afp"))
_LINK = re.compile(r"^(?:https?://|www\.)|@|\.(?:com|de|org|net|html?)\b", re.I)


def people(metadata: PageMetadata | None, extracted: str | None = None, entry_authors: Iterable[str] = (),
           feed_name: str | None = None) -> tuple[str, ...]:
    """The authors of a page (its metadata, trafilatura's byline `extracted`) or of a feed
    entry alone (`metadata` None)."""
    sites = site_words(metadata, feed_name) if metadata else ([fold(feed_name)] if feed_name else [])
    sources: list[list[Author]] = [
        metadata.ld_authors if metadata else [],
        [Author(name) for name in metadata.meta_authors] if metadata else [],
        [Author(extracted)] if extracted else [],  # trafilatura's byline, "A; B": one byline
        [Author(text) for text in metadata.bylines] if metadata else [],
        [Author(name) for name in entry_authors],
        [Author(name) for name in metadata.author_links] if metadata else [],  # the weakest sign
    ]
    for source in sources:
        found = _people_of(source, sites)
        if found:
            return found
    return ()


def _people_of(authors: list[Author], sites: list[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for author in authors:
        if author.organization:
            continue
        for name in _names(author.name):
            if names_the_site(name, sites) or fold(name) in AGENCIES:
                break  # "Jane Doe, MDR THÜRINGEN, Erfurt": after the newsroom come places and dates
            if is_person(name, sites) and fold(name) not in seen:
                seen[fold(name)] = name
    return tuple(seen.values())


def _names(byline: str) -> list[str]:
    """The names in a byline: split, prefixes and bracketed initials off."""
    byline = _BRACKETS.sub("", byline)
    names = []
    for part in _BETWEEN.split(f" {byline} "):
        part = _PREFIX.sub("", " ".join(part.split())).strip(" .,:;-–—")
        part = _PREFIX.sub("", part)  # "Text: Von ..."
        if part:
            names.append(part)
    return names


def is_person(name: str, sites: list[str]) -> bool:
    """Could this be a person's name (not an organisation, an agency, a newsroom, an address,
    or a description of someone's job)?"""
    words = name.split()
    if not 1 <= len(words) <= 5 or len(name) < 2 or any(c.isdigit() for c in name) or _LINK.search(name):
        return False
    if fold(name) in AGENCIES or _NOT_A_PERSON.search(name) or names_the_site(name, sites):
        return False
    # A job or a place written out ("professor at the faculty of ..."): a name's words start
    # with a capital, but for the particles between them (von, de, van, del, bin, ...).
    lower = [w for w in words if w[:1].islower() and w not in _PARTICLES]
    return not lower or (len(words) == 1 and not name.isascii())


_PARTICLES = frozenset("von van der den de del della di da dos das du le la al el bin ibn ten ter zu af".split())
