"""Commands on a JSON Lines corpus, one record a line, with the pipeline's own code:
`newsbeam extract` (what newsbeam makes of a page) and `newsbeam dedup` (story and event ids
for any articles)."""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Callable
from typing import Any

from newsbeam.pipeline.inputs import InputError, UniqueIds, json_lines, string_fields
from newsbeam.reading.where import open_output
from newsbeam.schemas import Article, FetchedPage, Variant, utc_iso
from newsbeam.schemas.settings import from_command_line
from newsbeam.schemas.times import parse_time
from newsbeam.state.store import open_store

# What `extract` writes for a page, in this order: the line's id, and what a story variant
# carries from its article (all but the feed's address: a page alone has no feed).
EXTRACTED = ("id", *(name for name in Variant.__dataclass_fields__
                     if name in Article.__dataclass_fields__ and name != "feed_url"))


def extract(args: argparse.Namespace) -> int:
    """Each page of the input through the pipeline's extraction (the same code a run uses,
    the sentence encoder judging headlines restated in the body), one line out per line in:
    the article's fields, or `error` with the reason when the page yields no article."""
    from newsbeam.extraction.page import NotAnArticle, extract_article, feed_entry
    from newsbeam.extraction.settings import ExtractSettings
    from newsbeam.matching.encoders import load_encoder, meaning_similarity

    with json_lines(args.input, _page_record(UniqueIds())) as records:
        similarity = meaning_similarity(load_encoder(args.encoder))
        settings = from_command_line(ExtractSettings, args)
        with open_output(args.output) as out:
            for record in records():
                entry = feed_entry(record["url"], record)
                fetched = parse_time(utc_iso(record["fetched"])) if record.get("fetched") else None
                try:
                    article = extract_article(FetchedPage(entry=entry, url=entry.url, html=record["html"],
                                                          content_type=None), similarity, settings,
                                              fetched=fetched)
                except NotAnArticle as exc:
                    line = {"id": record["id"], "url": entry.url, "error": str(exc)}
                except Exception as exc:  # a page that breaks the extractor is that page's error
                    line = {"id": record["id"], "url": entry.url, "error": f"extraction failed: {type(exc).__name__}"}
                else:
                    fields = {**article.to_dict(), "id": record["id"], "authors": list(article.authors),
                              "credits": list(article.credits), "tags": list(article.tags)}
                    line = {name: fields[name] for name in EXTRACTED}
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return 0


def _page_record(unique_ids: UniqueIds) -> Callable[[dict[str, Any], str], dict[str, Any]]:
    """The check of one `extract` input line: an id, a URL, the page's HTML as a string, and
    optionally what a feed entry would say of it."""
    def check(record: dict[str, Any], where: str) -> dict[str, Any]:
        unique_ids(record, where)
        string_fields(record, where, ("url", "html", "title", "summary", "published", "language", "fetched"))
        for field in ("url", "html"):
            if not record.get(field):
                raise InputError(f"{where}: '{field}' is missing")
        authors = record.get("authors")
        if authors is not None and (not isinstance(authors, list) or not all(isinstance(a, str) for a in authors)):
            raise InputError(f"{where}: 'authors' must be a list of strings")
        for field in ("published", "fetched"):
            if record.get(field) and utc_iso(record[field]) is None:
                raise InputError(f"{where}: '{field}' is not an ISO 8601 date")
        return record

    return check


def dedup(args: argparse.Namespace) -> int:
    from newsbeam.matching.dedup import dedup_records
    from newsbeam.matching.encoders import load_encoder
    from newsbeam.matching.features import Fingerprinter
    from newsbeam.matching.settings import MatchSettings
    from newsbeam.matching.story_index import StoryIndex

    with contextlib.ExitStack() as stack:
        records = stack.enter_context(json_lines(args.input, _article_record(UniqueIds())))
        # without a store, the articles are matched against each other in memory
        store = open_store(args.store) if args.store else None
        if store is not None:
            stack.callback(store.close)
        index = StoryIndex(store, Fingerprinter(load_encoder(args.encoder)),
                           settings=from_command_line(MatchSettings, args))
        with open_output(args.output, args.store) as out:
            for line in dedup_records(records(), index):
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
        if args.store:
            index.vectors.save()
    return 0


def _article_record(unique_ids: UniqueIds) -> Callable[[dict[str, Any], str], dict[str, Any]]:
    """The check of one `dedup` input line: an article with an id, its fields strings."""
    def check(record: dict[str, Any], where: str) -> dict[str, Any]:
        unique_ids(record, where)
        string_fields(record, where, ("title", "text", "language", "url", "published", "feed_url"))
        if record.get("published") and utc_iso(record["published"]) is None:
            raise InputError(f"{where}: 'published' is not an ISO 8601 date")
        return record

    return check
