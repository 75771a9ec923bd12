"""Defaults and limits of extraction and normalization."""

# Enough text for langdetect to be stable; more only costs time.
LANGDETECT_MAX_CHARS = 2000
# Below this many characters langdetect is unreliable and the declared language is preferred.
LANGDETECT_MIN_CHARS = 60
# A body shorter than this is treated as "nothing extracted" (navigation crumbs, cookie walls).
MIN_BODY_CHARS = 200
# At the top of a body, up to three lines no longer than this that restate the headline
# (judged by the sentence encoder: vectors at least this close) are dropped; at its end, up to
# three source, credit or translation-notice lines no longer than TRAILER_MAX_CHARS.
HEADLINE_LINE_MAX_CHARS = 160
HEADLINE_SIMILARITY = 0.7
TRAILER_MAX_CHARS = 200
# Pages with more elements than this (counted as '<' in the markup) are not extracted: the
# extractor's time grows faster than the page (see extraction.page.check_page_size).
MAX_PAGE_ELEMENTS = 30_000
# A JSON-LD script longer than this is read by newsbeam but kept from trafilatura (whose
# patterns over it take seconds and a gigabyte): the longest in the pages newsbeam is measured
# on is about 30,000 characters.
MAX_JSON_LD_CHARS = 1_000_000
