"""A Beam pipeline of your own, built from newsbeam's transforms: read feeds, fetch and extract
their articles, keep those in the languages you want with a rule of your own, and write the
stories they make (with every variant) as a run would.

    python examples/own_pipeline/pipeline.py --feed https://example.org/feed.xml \\
        --store sqlite:///out/state.db --output out/ --language de --language en [Beam options]

It ends by saying what it wrote and what failed (feeds refused, pages that did not answer).
Run it again: feeds that did not change are not fetched again, an article already filed joins
its story instead of making a new one, and an article the rule left out is not fetched again
(the store remembers all three).
"""

from __future__ import annotations

import argparse

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from newsbeam.schemas import Article, utc_now
from newsbeam.state.store import open_store
from newsbeam.transforms.plain import (
    AssignStoryRecords,
    ExtractPageArticles,
    FetchArticlePages,
    KeepArticles,
    ReadFeedEntries,
    WriteStoryFiles,
)


class InLanguages:
    """The user's own rule: only articles in these languages, long enough to be a report."""

    def __init__(self, languages: set[str], min_words: int = 40):
        self.languages, self.min_words = languages, min_words

    def __call__(self, article: Article) -> bool:
        in_language = not self.languages or article.language in self.languages
        return in_language and len(article.text.split()) >= self.min_words


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feed", action="append", required=True, help="a feed URL (repeat for more)")
    parser.add_argument("--store", required=True, help="newsbeam's store: sqlite:///state.db or postgresql://...")
    parser.add_argument("--output", required=True, help="where the stories go")
    parser.add_argument("--language", action="append", default=[], help="keep articles in this language")
    parser.add_argument("--allow-private-network", action="store_true",
                        help="allow feeds and pages on this machine or a private network (the demo served locally)")
    args, beam_args = parser.parse_known_args(argv)
    settings = {"allow_private_network": args.allow_private_network}
    started = utc_now()
    with beam.Pipeline(options=PipelineOptions(beam_args)) as pipeline:
        (pipeline
         | "Feeds" >> beam.Create(args.feed)
         | "Entries" >> ReadFeedEntries(args.store, **settings)
         | "Pages" >> FetchArticlePages(args.store, **settings)
         | "Articles" >> ExtractPageArticles(args.store)
         | "MyLanguages" >> KeepArticles(args.store, InLanguages(set(args.language)),
                                         f"not in {', '.join(args.language)} or shorter than a report")
         | "Stories" >> AssignStoryRecords(args.store)
         | "Write" >> WriteStoryFiles(args.output, args.store))
    store = open_store(args.store)
    changed = store.find_stories(since=started, limit=1_000_000)
    print(f"{len(changed)} stories written to {args.output}")
    for letter in store.failures():
        if letter.at >= started:
            print(f"failed: {letter.stage} {letter.url}: {letter.reason}")


if __name__ == "__main__":
    main()
