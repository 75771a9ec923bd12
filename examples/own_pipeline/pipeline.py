"""A Beam pipeline of your own, built from newsbeam's transforms: read feeds, fetch and extract
their articles, keep those in the languages you want with a step of your own, and write the
stories they make (with every variant) as a run would.

    python examples/own_pipeline/pipeline.py --feed https://example.org/feed.xml \\
        --store sqlite:///out/state.db --output out/ --language de --language en [Beam options]

Run it again: feeds that did not change are not fetched again, and an article already filed
joins its story instead of making a new one (the store remembers both).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from newsbeam.schemas import Article
from newsbeam.transforms.plain import (
    AssignStoryRecords,
    ExtractPageArticles,
    FetchArticlePages,
    ReadFeedEntries,
    WriteStoryFiles,
)


class KeepLanguages(beam.DoFn):
    """The user's own step: only articles in these languages, long enough to be a report."""

    def __init__(self, languages: set[str], min_words: int = 40):
        self.languages, self.min_words = languages, min_words

    def process(self, article: Article) -> Iterator[Article]:
        if (not self.languages or article.language in self.languages) and len(article.text.split()) >= self.min_words:
            yield article


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feed", action="append", required=True, help="a feed URL (repeat for more)")
    parser.add_argument("--store", required=True, help="newsbeam's store: sqlite:///state.db or postgresql://...")
    parser.add_argument("--output", required=True, help="where the stories go")
    parser.add_argument("--language", action="append", default=[], help="keep articles in this language")
    parser.add_argument("--allow-private-network", action="store_true", help="feeds on this machine (tests)")
    args, beam_args = parser.parse_known_args(argv)
    settings = {"allow_private_network": args.allow_private_network}
    with beam.Pipeline(options=PipelineOptions(beam_args)) as pipeline:
        (pipeline
         | "Feeds" >> beam.Create(args.feed)
         | "Entries" >> ReadFeedEntries(args.store, **settings)
         | "Pages" >> FetchArticlePages(args.store, **settings)
         | "Articles" >> ExtractPageArticles(args.store)
         | "MyLanguages" >> beam.ParDo(KeepLanguages(set(args.language)))
         | "Stories" >> AssignStoryRecords(args.store)
         | "Write" >> WriteStoryFiles(args.output, args.store))


if __name__ == "__main__":
    main()
