"""Articles: fetch each new entry's page, extract it with trafilatura, detect its language and
normalize it. A page that cannot be fetched or extracted still yields an article from the
feed's own text when the feed carried some, and always a dead letter so it is retried."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import re
import time
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

import apache_beam as beam
import langdetect
import trafilatura

from schemas import Article, Batch, DeadLetter, FeedEntry, FetchedPage, host_of
from state import settings
from state.settings import RunOptions
from state.store import utc_now
from transforms.feeds import entry_payload
from transforms.http import ConcurrentFetchFn, FetchError, Response, RobotsCache
from transforms.stories import SharedEncoder, meaning_similarity

# langdetect is random unless seeded: the same text must get the same language every run.
langdetect.DetectorFactory.seed = 0

HTML_TYPES = ("text/html", "application/xhtml+xml")


# --- Normalization --------------------------------------------------------------------------
def normalize_text(text: str) -> str:
    """NFC, single spaces, one paragraph per line, no empty lines."""
    text = unicodedata.normalize("NFC", text)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


# How close in meaning two short texts are (cosine of their sentence vectors).
Similarity = Callable[[str, str], float]


def _headline_like(line: str) -> bool:
    """Short, and not ending like a sentence: a headline, not the lead."""
    line = line.strip()
    return 0 < len(line) <= settings.HEADLINE_LINE_MAX_CHARS and not line.endswith((".", ":", ";", "…", '."', ".»"))


def strip_repeated_headline(title: str, text: str, similarity: Similarity | None = None) -> str:
    """Drop the first one to three lines of the body when they repeat the headline: word for
    word, or (with `similarity`, a judge of meaning) in other words, as another translation of
    the same headline would. Restatements must be headline-like lines, no longer than a
    headline; of those close enough in meaning, the closest wins (a caption under the headline
    makes the lines less like it, and stays), with the lines that continue it in lower case
    (a headline broken over two lines)."""
    folded_title = _fold(title)
    if not folded_title:
        return text
    lines = text.split("\n")
    for count in (1, 2, 3):
        if len(lines) > count and _fold(" ".join(lines[:count])) == folded_title:
            lines = lines[count:]  # the headline word for word; another wording may follow
            break
    if similarity is None:
        return "\n".join(lines)
    best, best_score = 0, settings.HEADLINE_SIMILARITY
    for count in (1, 2, 3):
        lead = " ".join(lines[:count])
        if (len(lines) <= count or not all(_headline_like(line) for line in lines[:count])
                or len(lead) > 2 * len(title) + 20):
            break
        score = similarity(title, lead)
        if score > best_score:
            best, best_score = count, score
    while 0 < best < min(3, len(lines) - 1) and lines[best][:1].islower() and _headline_like(lines[best]):
        best += 1
    if best and lines[best][:1].islower():
        return "\n".join(lines)  # the lines go on into a sentence: the start of the lead, not a headline
    return "\n".join(lines[best:])


# Lines that credit a source, an agency or a translation, in the languages newsbeam meets:
# dropped from the end of a body (at most three, each short), never from its middle.
_TRAILER = re.compile(r"""^(?:
    (?:source|sources|quelle|quellen|fuente|fuentes|fonte|źródło|kaynak)\s*[:：]\s*\S.*
  | (?:source|quelle|fuente)\s+[^\s.!?][^.!?]{0,60}
  | [(\[]?\s*(?:reuters|afp|ap|dpa|epd|kna|sid|ddp|ansa|efe|apa|sda|upi|pap|aa|bloomberg)
      (?:\s*[/,]\s*[\w-]+){0,3}\s*[)\]]?\.?
  | (?:©|\(c\)\s|copyright\b).*
  | mit\s+material\s+(?:von|der|des)\b.*
  | (?:this|the)\s+(?:article|story|text|report)\s+(?:was|has\s+been)\s+(?:\w+\s+){0,2}translated\b.*
  | (?:dieser|der)\s+(?:artikel|text|beitrag)\s+wurde\s+(?:[\w-]+\s+){0,4}übersetzt\b.*
  | (?:automatically|machine|automatisch|maschinell)[- ](?:translated|übersetzt)\b.*
  | (?:translated|übersetzt|übersetzung)\s+(?:by|von|aus|from|mit)\b.*
  | (?:all\s+rights\s+reserved|alle\s+rechte\s+vorbehalten)\.?
  | (?:additional\s+)?(?:reporting|writing|editing)\s+by\b.*
)$""", re.IGNORECASE | re.VERBOSE)


def strip_trailers(text: str) -> str:
    """Drop source, credit and translation-notice lines from the end of a body."""
    lines = text.split("\n")
    for _ in range(3):
        if len(lines) > 1 and len(lines[-1]) <= settings.TRAILER_MAX_CHARS and _TRAILER.match(lines[-1].strip()):
            lines.pop()
    return "\n".join(lines)


def utc_date(value: str | None) -> str | None:
    """An extracted date (ISO date or datetime, any offset) as ISO 8601 UTC."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).isoformat(timespec="seconds")


_AUTHOR_SPLIT = re.compile(r"\s*(?:;|,|/|&|\band\b|\bund\b|\|)\s*", re.I)
_AUTHOR_PREFIX = re.compile(r"^(?:by|von|from)\s+", re.I)


def split_authors(*values: str | None) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for value in values:
        for name in _AUTHOR_SPLIT.split(value or ""):
            name = _AUTHOR_PREFIX.sub("", " ".join(name.split())).strip(" .")
            if len(name) > 1 and name.casefold() not in seen:
                seen[name.casefold()] = name
    return tuple(seen.values())


def detect_language(text: str, declared: str | None) -> str | None:
    """langdetect on the body; the declared language for texts too short to judge."""
    sample = text[:settings.LANGDETECT_MAX_CHARS]
    if len(sample) < settings.LANGDETECT_MIN_CHARS:
        return declared
    try:
        return langdetect.detect(sample)[:2]
    except langdetect.LangDetectException:
        return declared


def extract_article(page: FetchedPage, similarity: Similarity | None = None) -> Article | None:
    """trafilatura on the page; None when it yields no usable body. `similarity` judges
    whether the body's first lines restate the headline in other words."""
    entry = page.entry
    document = trafilatura.bare_extraction(
        page.html, url=page.url, with_metadata=True, include_comments=False)
    if document is None:
        return None
    title = normalize_text(document.title or entry.title or "")
    text = strip_trailers(strip_repeated_headline(title, normalize_text(document.text or ""), similarity))
    if len(text) < settings.MIN_BODY_CHARS:
        return None
    return Article(
        url=entry.url,
        feed_url=entry.feed_url,
        title=title or entry.title,
        text=text,
        language=detect_language(text, entry.language or _page_language(document)),
        published=entry.published or utc_date(document.date),
        authors=split_authors(document.author, *entry.authors),
        site_name=document.sitename or entry.feed_name,
        description=document.description,
        image=document.image,
        tags=tuple(dict.fromkeys([*entry.tags, *(document.tags or []), *(document.categories or [])])),
        body_source="page",
        entry_updated=entry.updated,
    )


def _page_language(document: Any) -> str | None:
    language = getattr(document, "language", None)
    return language[:2].lower() if language else None


def article_from_feed(entry: FeedEntry, similarity: Similarity | None = None) -> Article | None:
    """The feed's own text as the body: the whole article when the feed carries it, else a
    stand-in for a page that failed. None if the feed had no text."""
    text = strip_trailers(strip_repeated_headline(entry.title, normalize_text(entry.summary), similarity))
    if not text:
        return None
    return Article(
        url=entry.url, feed_url=entry.feed_url, title=normalize_text(entry.title), text=text,
        language=detect_language(text, entry.language), published=entry.published,
        authors=split_authors(*entry.authors), site_name=entry.feed_name, description=None, image=None,
        tags=entry.tags, body_source="feed", entry_updated=entry.updated)


# --- Beam -------------------------------------------------------------------------------------
class FetchPagesFn(ConcurrentFetchFn):
    """A Batch of FeedEntry -> Batches of FetchedPage, handed on in chunks as pages arrive
    while the rest are still being fetched (html None when the page failed, with a dead letter
    beside it). Fetched concurrently, polite per host, obeying robots.txt. Entries whose feed
    carries the whole article need no page."""

    def setup(self) -> None:
        super().setup()
        self.robots = RobotsCache(self.http)

    def crawl_delay(self, host: str) -> float | None:
        return self.robots.crawl_delay(host)

    def process(self, batch: Batch) -> Iterator[Batch]:
        carried = dataclasses.replace(batch, entries=())  # what earlier steps put in, passed on once
        pages = [FetchedPage(entry=e, url=e.url, html=None, content_type=None) for e in batch.entries if e.full_text]
        letters: list[DeadLetter] = []
        counts: collections.Counter = collections.Counter()
        for entry, outcome in self.fetch_all(e for e in batch.entries if not e.full_text):
            if isinstance(outcome, FetchError):
                counts["pages_refused" if outcome.final else "pages_failed"] += 1
                letters.append(DeadLetter(
                    url=entry.url, stage="page_fetch", reason=outcome.reason, status=outcome.status,
                    at=utc_now(), payload=entry_payload(entry), retry_after=outcome.retry_after,
                    final=outcome.final))
                pages.append(FetchedPage(entry=entry, url=entry.url, html=None, content_type=None))
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                counts["pages_fetched"] += 1
                pages.append(FetchedPage(entry=entry, url=outcome.url, html=outcome.body,
                                         content_type=outcome.content_type))
            if len(pages) >= settings.PAGE_CHUNK:
                yield carried.add(counts, pages=tuple(pages), dead_letters=carried.dead_letters + tuple(letters))
                carried, pages, letters, counts = Batch(), [], [], collections.Counter()
        if pages or letters or carried != Batch():
            yield carried.add(counts, pages=tuple(pages), dead_letters=carried.dead_letters + tuple(letters))

    def fetch(self, entry: FeedEntry) -> Response:
        if self.robots.check(entry.url):
            # robots.txt was just fetched in this request's slot: the page takes the next slot,
            # and the host's next request the one after
            host = host_of(entry.url)
            delay = 0.0 if host == self.options.served_host else self.options.per_host_delay_s
            delay = max(delay, self.robots.crawl_delay(host) or 0.0)
            self.scheduler.postpone(host, time.monotonic() + 2 * delay)
            time.sleep(delay)
        response = self.http.get(entry.url, max_bytes=settings.MAX_PAGE_BYTES,
                                  headers={"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"})
        if response.status == 304 or not response.body.strip():
            raise FetchError("empty response", response.status)
        if response.content_type and response.content_type not in HTML_TYPES:
            raise FetchError(f"not an HTML page (Content-Type {response.content_type})", response.status)
        return response


class ExtractArticlesFn(beam.DoFn):
    """A Batch of FetchedPage -> a Batch of Article. A page that will not extract gets a dead
    letter; the feed's own text stands in for a failed page when the feed carried some. The
    sentence encoder (the one story assignment uses, shared in the process) judges whether a
    body's first lines restate the headline."""

    def __init__(self, options: RunOptions):
        self.encoder_name, self.encoder_threads = options.encoder, options.encoder_threads

    def setup(self) -> None:
        self.encoder = SharedEncoder(self.encoder_name, self.encoder_threads)
        self.similarity = meaning_similarity(self.encoder)

    def process(self, batch: Batch) -> Iterator[Batch]:
        articles, letters, counts = [], [], collections.Counter()
        for page in batch.pages:
            article = None
            if page.html is not None:
                try:
                    article = extract_article(page, self.similarity)
                except Exception as exc:  # a page that breaks the extractor must not break the run
                    reason = f"extraction failed: {type(exc).__name__}: {exc}"
                else:
                    reason = "no article body found on the page"
                if article is not None:
                    counts["articles_extracted"] += 1
                    articles.append(article)
                    continue
                letters.append(DeadLetter(url=page.entry.url, stage="extract", reason=reason, at=utc_now(),
                                          payload=entry_payload(page.entry)))
            article = article_from_feed(page.entry, self.similarity)
            if article is None:
                counts["articles_failed"] += 1
                continue
            counts["articles_from_feed"] += 1
            articles.append(article)
        yield batch.add(counts, pages=(), articles=tuple(articles), dead_letters=batch.dead_letters + tuple(letters))
