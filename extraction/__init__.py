"""From a page (or a feed entry's own text) to an article: a publisher's own parser where Fundus
has one, else trafilatura with newsbeam's rules for the headline, byline and body; language,
normalization. Beam-free.

- `page`: `extract_article` (a page) and `article_from_feed` (a feed entry's text).
- `publishers`: Fundus's parsers, by the host of a page and the time it was fetched.
- `metadata`: what a page's markup says of itself (JSON-LD, meta tags, headline, byline, times).
- `titles`, `authors`, `bodies`: the headline as published (and its kicker), the people and the
  credits of a byline, the body and nothing else.
- `text`: normalization (NFC, paragraphs, the headline restated at the top, source trailers).
- `language`: langdetect, seeded.
"""
