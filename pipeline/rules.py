"""`newsbeam rules apply`: the feeds file's rules, changed, applied to what the store holds.

An article a rule now drops is taken out of its story: the story is written again without it,
or, left with no variant, written as removed (a line `{"story_id", "removed", "updated"}` in
the JSON Lines sink, its rows deleted from the database sinks). An item a rule dropped that the
rules now keep is no longer remembered as seen, and its page is due at the next run, which
files it as any new item (and the sinks get it then)."""

from __future__ import annotations

import dataclasses
from typing import Any

from newsbeam.matching.originals import original_of
from newsbeam.outputs.files import FileSinks
from newsbeam.outputs.tables import SinkTables
from newsbeam.schemas import Article, DeadLetter, FeedEntry, utc_now
from newsbeam.sources.feeds import entry_payload
from newsbeam.sources.rules import DROPPED_BY_A_RULE, Item, RuleSet
from newsbeam.state.runs import new_run_id
from newsbeam.state.store import open_store

RESTORED = "restored: the feeds file's rules keep it now"


def apply_rules(rules: RuleSet, store_url: str, output_dir: str, sinks: tuple[str, ...],
                database_sinks: list[str]) -> dict[str, Any]:
    """Apply `rules` to the store's articles and to what rules dropped before; write what
    changed to the sinks. Returns what it did, by kind."""
    store = open_store(store_url)
    run_id, now = new_run_id("-rules"), utc_now()
    try:
        _, dropped = rules.split(store.stories.article_items(), Item.of_article, lambda article: article.feed_url)
        restored = [item for item, _ in store.stories.dropped_by_rules(DROPPED_BY_A_RULE)
                    if rules.dropped_by(_item(item), item.feed_url) is None]

        def change() -> tuple[list[str], list[str]]:
            changed, removed = store.stories.take_out([article.url for article, _ in dropped], now, run_id)
            for story_id in changed:  # its original may be what was taken out
                store.stories.set_original(story_id, original_of(store.stories.original_keys(story_id)))
            store.stories.drop_articles(dropped)
            store.stories.forget_dropped([item.url for item in restored])
            store.dead_letters.record([DeadLetter(url=item.url, stage="page_fetch", reason=RESTORED, at=now,
                                                  payload=entry_payload(_entry(item)), next_due=now)
                                       for item in restored])
            return changed, removed

        changed, removed = store.db.run_in_transaction(lambda tx: change())
        records = [story.to_dict() for story in store.stories.records(changed)]
        removals = [{"story_id": story_id, "removed": "every variant dropped by the feeds file's rules",
                     "updated": now} for story_id in removed]
        files = FileSinks(output_dir, run_id, "jsonl" in sinks, "parquet" in sinks)
        try:
            files.write(records, [])
            if removals and "jsonl" in sinks:
                files.append("stories", removals)
        finally:
            files.close()
        for url in database_sinks:
            tables = SinkTables(url)
            try:
                tables.remove(removed)
                tables.upsert(records, [])
            finally:
                tables.close()
        store.stories.mark_written({record["story_id"]: record["updated"] for record in records})
    finally:
        store.close()
    return {"articles_dropped": len(dropped), "stories_changed": len(changed), "stories_removed": len(removed),
            "items_restored": len(restored)}


def _item(dropped: Article | FeedEntry) -> Item:
    return Item.of_article(dropped) if isinstance(dropped, Article) else Item.of_entry(dropped)


def _entry(dropped: Article | FeedEntry) -> FeedEntry:
    """The feed entry to fetch a restored item's page again."""
    if isinstance(dropped, FeedEntry):
        return dataclasses.replace(dropped, full_text=False)
    return FeedEntry(url=dropped.url, link=dropped.url, feed_url=dropped.feed_url, feed_name=dropped.site_name,
                     title=dropped.title, summary="", published=dropped.published, updated=dropped.entry_updated,
                     language=dropped.language, authors=dropped.authors)
