"""From a page (or a feed entry's own text) to an article: extraction with trafilatura, the
headline and authors as published, language, normalization. Beam-free.

- `page`: `extract_article` (a page) and `article_from_feed` (a feed entry's text).
- `text`: normalization (NFC, paragraphs, the headline restated at the top, source trailers).
- `language`: langdetect, seeded.
- `authors`: people, each once.
"""
