"""Stage AssignStories: Batches of articles -> Batches of story records. Each article is filed
in the store's story index (matching.story_index: a new story, or a variant of one), then the
records of every story it changed are made. One encoder call fingerprints the whole batch, and
one transaction files it."""

from __future__ import annotations

import collections
from collections.abc import Iterator

from newsbeam.matching.features import Fingerprinter
from newsbeam.matching.story_index import Filed, StoryIndex
from newsbeam.schemas import ArchiveProgress, Article, Batch, DeadLetter, FeedEntry, utc_now
from newsbeam.sources.feeds import entry_payload
from newsbeam.sources.rules import Item
from newsbeam.state.database import Connection, database_errors, refuses_value
from newsbeam.transforms.options import RunOptions
from newsbeam.transforms.stage import SharedEncoder, StageFn


class AssignStoriesFn(StageFn):
    stage = "AssignStories"

    def __init__(self, options: RunOptions, run_id: str):
        super().__init__(options.store, options.vector_cache_dir)
        self.encoder_name, self.encoder_threads = options.encoder, options.encoder_threads
        self.settings, self.rules, self.run_id = options.matching, options.rules, run_id
        self.windows = {feed.url: feed.window_days for feed in options.feeds if feed.window_days}

    def setup(self) -> None:
        super().setup()
        fingerprinter = Fingerprinter(SharedEncoder(self.encoder_name, self.encoder_threads))
        self.index = StoryIndex(self.store, fingerprinter, self.run_id, self.settings, windows=self.windows)

    def teardown(self) -> None:
        self.index.vectors.save()
        super().teardown()

    def run(self, batch: Batch) -> Iterator[Batch]:
        changed: list[str] = list(batch.rewrite)
        counts: collections.Counter = collections.Counter()
        articles, dropped = self._by_the_rules(list(batch.articles))
        if dropped:
            counts["articles_dropped_by_rules"] += len(dropped)
        # a page dropped by a rule is not retried: its failure (its feed's text stood in) goes
        gone = {article.url for article, _ in dropped}
        letters = [letter for letter in batch.dead_letters
                   if letter.url not in gone or letter.stage not in DeadLetter.PAGE_STAGES]
        try:
            assignments, letters = self._file(articles, letters, batch.archive_progress, dropped)
        except Exception as exc:
            if not _one_items_fault(exc):
                raise  # the store itself failed: the run cannot go on
            # One article the encoder or the store cannot take must not stop the chunk: each is
            # filed alone, and the one that fails is a dead letter, its page tried again later.
            articles, assignments, not_filed = self._assign_one_by_one(articles)
            counts["articles_not_filed"] += len(not_filed)
            letters = self.store.dead_letters.record(letters + not_filed)
            self._record_progress(batch.archive_progress)
            self.store.stories.drop_articles(dropped)
        if letters:
            counts["dead_letters"] += len(letters)
        for article, assignment in zip(articles, assignments, strict=True):
            if article.body_source != "feed":
                self.store.dead_letters.resolve(article.url, DeadLetter.PAGE_STAGES)
            if assignment.how == "unchanged":
                counts["articles_unchanged"] += 1
                continue
            counts["stories_new" if assignment.new_story else "stories_updated"] += 1
            changed += [assignment.story_id, *assignment.regrouped]
        records = tuple(self.store.stories.records(changed))
        yield batch.add(counts, articles=(), rewrite=(), stories=batch.stories + records, dead_letters=tuple(letters),
                        archive_progress=())

    def _file(self, articles: list[Article], letters: list[DeadLetter], progress: tuple[ArchiveProgress, ...] = (),
              dropped: list[tuple[Article, str]] | None = None) -> tuple[list[Filed], list[DeadLetter]]:
        """The articles filed, the chunk's dead letters kept and how far its archive is read
        recorded, in one transaction: a worker killed between them would otherwise leave a page
        whose feed text stood in filed and its failure forgotten (never fetched again), or an
        archive's offset past pages never filed. The letters come back as the store keeps them
        (attempts, when each is due)."""
        fingerprints = self.index.fingerprinter.many([(a.title, a.text) for a in articles],
                                                     [a.language for a in articles])
        decisions = self.index.decide_all(articles, fingerprints)

        def file(tx: Connection) -> tuple[list[Filed], list[DeadLetter]]:
            filed = self.index.file_all(decisions), self.store.dead_letters.record(letters)
            self._record_progress(progress)
            if dropped:
                self.store.stories.drop_articles(dropped)
                for article, _ in dropped:
                    self.store.dead_letters.resolve(article.url, DeadLetter.PAGE_STAGES)
            return filed

        return self.store.db.run_in_transaction(file)

    def _by_the_rules(self, articles: list[Article]) -> tuple[list[Article], list[tuple[Article, str]]]:
        """The articles the user's rules keep, judged on the whole article (what the feed
        could not tell: its text, its language), and the others with the rule that dropped each."""
        if not self.rules:
            return articles, []
        return self.rules.split(articles, Item.of_article, lambda article: article.feed_url)

    def _record_progress(self, progress: tuple[ArchiveProgress, ...]) -> None:
        for read in progress:
            self.store.archives.advance(read)

    def _assign(self, articles: list[Article]) -> list[Filed]:
        return self._file(articles, [])[0]

    def _assign_one_by_one(self, articles: list[Article]
                           ) -> tuple[list[Article], list[Filed], list[DeadLetter]]:
        filed, assignments, letters = [], [], []
        for number, article in enumerate(articles):
            try:
                (assignment,) = self._assign([article])
            except Exception as exc:
                if not _one_items_fault(exc) or (number == len(articles) - 1 and not filed and len(articles) > 1):
                    raise  # the store's fault, or every article fails alike: no one item's (a fault of newsbeam's)
                entry = FeedEntry(url=article.url, link=article.url, feed_url=article.feed_url, feed_name=None,
                                  title=article.title, summary="", published=article.published,
                                  updated=article.entry_updated, language=article.language)
                letters.append(DeadLetter(url=article.url, stage="extract", at=utc_now(), payload=entry_payload(entry),
                                          reason=f"could not be filed: {type(exc).__name__}: {exc}"[:500]))
                continue
            filed.append(article)
            assignments.append(assignment)
        return filed, assignments, letters


def _one_items_fault(exc: BaseException) -> bool:
    """Is the failure one article's (a value the store refuses, text the encoder cannot take),
    not the store's (gone, locked, full)?"""
    return refuses_value(exc) if isinstance(exc, database_errors()) else True
