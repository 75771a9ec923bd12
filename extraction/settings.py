"""`ExtractSettings`: every default and limit of extraction and normalization, and why. One
frozen object, passed down explicitly (`extract_article(page, similarity, settings)`)."""

from __future__ import annotations

import dataclasses

from newsbeam.schemas.settings import setting


@dataclasses.dataclass(frozen=True)
class ExtractSettings:
    # Pages of the publishers Fundus covers are read by their own parsers (extraction.publishers).
    publisher_parsers: bool = setting(
        True, flag="--no-publisher-parsers",
        help="read every page by the generic path (newsbeam's rules and trafilatura), also those of the "
             "publishers Fundus has a parser for")
    # Enough text for langdetect to be stable; more only costs time.
    langdetect_max_chars: int = 2000
    # Below this many characters langdetect is unreliable and the declared language is preferred.
    langdetect_min_chars: int = 60
    # A body shorter than this is treated as "nothing extracted" (navigation crumbs, cookie walls).
    min_body_chars: int = 200
    # At the top of a body, up to three lines no longer than this that restate the headline
    # (judged by the sentence encoder: vectors at least this close) are dropped; at its end, up
    # to three source, credit or translation-notice lines no longer than trailer_max_chars.
    headline_line_max_chars: int = 160
    headline_similarity: float = 0.7
    trailer_max_chars: int = 200
    # Pages with more elements than this (counted as '<' in the markup) are not extracted: the
    # extractor's time grows faster than the page (see extraction.page.check_page_size).
    max_page_elements: int = 30_000
    # A JSON-LD script longer than this is read by newsbeam but kept from trafilatura (whose
    # patterns over it take seconds and a gigabyte): the longest in the pages newsbeam is
    # measured on is about 30,000 characters.
    max_json_ld_chars: int = 1_000_000
    # A paragraph in the bodies of this many pages of one host is the site's furniture
    # (extraction.site_furniture): more than two reports of one site sharing a paragraph.
    site_furniture_min_pages: int = 3


DEFAULTS = ExtractSettings()
