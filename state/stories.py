"""The story index as the store keeps it: each article filed (with its fingerprint: document
vector, sentence vectors once computed, numbers, body hash) under a story, and each story
under an event. Story assignment (matching.story_index) reads and writes it; a worker's vector
index follows it by the articles' sequence numbers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from newsbeam.schemas import Article, FeedEntry, Filing, Story, Variant, publication_order, utc_now
from newsbeam.state import settings
from newsbeam.state.database import Connection, Database, Row, in_chunks, marks, transactional
from newsbeam.state.migrations import POSTGRES_SEARCH_DOCUMENT
from newsbeam.state.revisions import REVISED_FIELDS, Revisions
from newsbeam.version import __version__

T = TypeVar("T")

# A variant's own fields (schemas.records.Variant), as columns of the articles table; its
# relation to the story's original is worked out, not kept.
VARIANT_FIELDS = tuple(field.name for field in dataclasses.fields(Variant) if field.name != "relation")
# The article columns a story record is built from: a variant's, and what chooses the original.
ARTICLE_FIELDS = ", ".join(("story_id", *VARIANT_FIELDS, "body_hash", "first_seen"))
# The story's fields that are its original's (the rest are the story's own: its revisions are
# those of all its variants).
ORIGINAL_FIELDS = tuple(field.name for field in dataclasses.fields(Story)
                        if field.name in VARIANT_FIELDS and field.name not in ("revisions", "revised"))
_LIST_FIELDS = tuple(field.name for field in dataclasses.fields(Variant) if field.type.startswith("tuple"))
# The columns a candidate for matching is judged by.
CANDIDATE_COLUMNS = ("a.seq, a.url, a.story_id, s.event_id, a.title, a.text, a.language, a.body_hash, a.vector, "
                     "a.sentences, a.numbers, a.published, a.feed_url")
# What decides which variant is a story's original (matching.originals).
ORIGINAL_KEY_COLUMNS = "a.url, a.published, a.published_date_only, a.body_hash, a.first_seen"
CANDIDATE_FIELDS = f"SELECT {CANDIDATE_COLUMNS} FROM articles a JOIN stories s USING (story_id) "


@dataclasses.dataclass(frozen=True)
class StoryFilter:
    """Which stories to list; every condition given must hold."""

    since: str | None = None  # changed at or after this time
    run: str | None = None  # last changed by this run
    event: str | None = None
    language: str | None = None  # a variant in this language
    site: str | None = None  # a variant from this host (or with this site name)
    words: tuple[str, ...] = ()  # each word, whole, in some variant's title or text, in any case
    headline_changed: bool = False  # a variant's headline was changed by an edit in place
    # (updated, story_id) of the last story of the previous page: only stories after it in the
    # listing's order (a cursor, stable while new stories come in at the top)
    after: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        """No condition longer than any real one: a site of 50,000 characters makes a LIKE
        pattern SQLite calls too complex, and is no host (253 characters at most) or site name."""
        for name, limit in (("site", 253), ("language", 35), ("event", 200), ("run", 200)):
            value = getattr(self, name)
            if value is not None and len(value) > limit:
                raise ValueError(f"{name}: at most {limit} characters")


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class StoryTables:
    def __init__(self, db: Database):
        self.db = db
        self.revisions = Revisions(db)

    def find(self, where: StoryFilter, limit: int) -> list[str]:
        """The ids of the stories that match, most recently changed first. The order comes from
        the index on `updated`: the newest stories of a million are found without a scan; each
        condition is checked on the stories in that order until `limit` match."""
        conditions, params = ["s.updated >= ?"], [where.since or ""]
        if where.after:
            conditions.append("(s.updated < ? OR (s.updated = ? AND s.story_id < ?))")
            params += [where.after[0], where.after[0], where.after[1]]
        if where.run:
            conditions.append("s.last_run = ?")
            params.append(where.run)
        if where.event:
            conditions.append("s.event_id = ?")
            params.append(where.event)
        if where.headline_changed:
            conditions.append("EXISTS (SELECT 1 FROM article_revisions r WHERE r.story_id = s.story_id "
                              "AND r.changed LIKE '%\"title\"%')")
        variant = "EXISTS (SELECT 1 FROM articles a WHERE a.story_id = s.story_id AND {})"
        if where.language:
            conditions.append(variant.format("a.language = ?"))
            params.append(where.language.lower())
        if where.site:
            # the host itself, any of its subdomains (theguardian.com: www.theguardian.com too),
            # or a site name; a subdomain's pattern must not match the host later in a path
            host = where.site.lower().removeprefix("www.")
            sub = "(a.url LIKE ? ESCAPE '\\' AND a.url NOT LIKE ? ESCAPE '\\')"
            conditions.append(variant.format(
                f"(a.url LIKE ? ESCAPE '\\' OR a.url LIKE ? ESCAPE '\\' OR {sub} OR {sub} OR lower(a.site_name) = ? "
                # the host with a port (127.0.0.1 finds http://127.0.0.1:8080/...)
                "OR a.url LIKE ? ESCAPE '\\' OR a.url LIKE ? ESCAPE '\\')"))
            params += [f"http://{_like(host)}/%", f"https://{_like(host)}/%",
                       f"http://%.{_like(host)}/%", f"http://%/%.{_like(host)}/%",
                       f"https://%.{_like(host)}/%", f"https://%/%.{_like(host)}/%", where.site.lower(),
                       f"http://{_like(host)}:%", f"https://{_like(host)}:%"]
        # Each word through the store's full-text index (state.migrations: SEARCHED_CHARS): the
        # stories that have it come from the index, not from reading every text. PostgreSQL
        # gets them first, on their own (a MATERIALIZED query): left to choose, its planner
        # walks the newest stories and tests each text, 20 s for a rare word in a million.
        words, word_params = [], []
        for number, word in enumerate(where.words):
            if self.db.postgres:
                words.append(f"w{number} AS MATERIALIZED (SELECT a.story_id FROM articles a "
                             f"WHERE {POSTGRES_SEARCH_DOCUMENT} @@ plainto_tsquery('simple', ?))")
                conditions.append(f"s.story_id IN (SELECT story_id FROM w{number})")
                word_params.append(word)
            else:
                conditions.append("s.story_id IN (SELECT a.story_id FROM articles a WHERE a.seq IN "
                                  "(SELECT rowid FROM articles_words WHERE articles_words MATCH ?))")
                params.append('"' + word.replace('"', '""') + '"')
        rows = self.db.read().execute(
            (f"WITH {', '.join(words)} " if words else "") +
            f"SELECT s.story_id FROM stories s WHERE {' AND '.join(conditions)} "
            "ORDER BY s.updated DESC, s.story_id DESC LIMIT ?", (*word_params, *params, limit))
        return [row[0] for row in rows]

    def events(self, event_id: str) -> list[str]:
        """The stories of an event, most recently changed first."""
        return [r[0] for r in self.db.read().execute(
            "SELECT story_id FROM stories WHERE event_id = ? ORDER BY updated DESC, story_id", (event_id,))]

    # --- what is known ---------------------------------------------------------------------------
    def known_articles(self, urls: Iterable[str]) -> dict[str, str | None]:
        """Which of these URLs were ingested or tried already, with the feed's `updated` stamp
        then. A URL whose page failed counts as known, whether or not the feed's text stood in
        for it: its page is retried through its dead letter, on the dead letter's schedule,
        not at every run that still finds it in the feed."""
        import json

        found: dict[str, str | None] = {}
        for chunk in in_chunks(list(urls)):
            for row in self.db.read().execute(
                    f"SELECT url, payload FROM dead_letters WHERE stage IN ('page_fetch', 'extract') "
                    f"AND url IN ({marks(chunk)})", chunk):
                found[row["url"]] = json.loads(row["payload"]).get("updated") if row["payload"] else None
            for table in ("dropped_articles", "articles"):  # dropped on purpose counts as seen too
                for row in self.db.read().execute(
                        f"SELECT url, entry_updated FROM {table} WHERE url IN ({marks(chunk)})", chunk):
                    found[row["url"]] = row["entry_updated"]
        return found

    @transactional
    def drop_articles(self, tx: Connection, dropped: list[tuple[Article | FeedEntry, str]]) -> None:
        """Items left out on purpose (an article or a feed's entry, and why): remembered as
        seen, never fetched again until their feed changes them (a new `updated` stamp)."""
        now = utc_now()
        tx.executemany("INSERT INTO dropped_articles (url, feed_url, reason, entry_updated, at, payload) "
                       "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET reason = excluded.reason, "
                       "entry_updated = excluded.entry_updated, at = excluded.at, payload = excluded.payload",
                       [(item.url, item.feed_url, reason[:500],
                         item.entry_updated if isinstance(item, Article) else item.updated, now, dropped_payload(item))
                        for item, reason in dropped])

    def dropped_by_rules(self, reason: str) -> list[tuple[Article | FeedEntry, str]]:
        """What the feeds file's rules dropped (its `reason` starting so), as it was judged, and why."""
        rows = self.db.read().execute(
            "SELECT payload, reason FROM dropped_articles WHERE substr(reason, 1, ?) = ? AND payload IS NOT NULL",
            (len(reason), reason))
        return [(dropped_item(row["payload"]), row["reason"]) for row in rows]

    @transactional
    def forget_dropped(self, tx: Connection, urls: list[str]) -> None:
        """These dropped items are wanted again: no longer remembered as seen."""
        for chunk in in_chunks(urls):
            tx.execute(f"DELETE FROM dropped_articles WHERE url IN ({marks(chunk)})", chunk)

    @transactional
    def take_out(self, tx: Connection, urls: list[str], now: str, run_id: str) -> tuple[list[str], list[str]]:
        """Take these articles out of their stories (a changed rule drops them): returns the
        stories that keep other variants (changed) and those left with none (removed)."""
        stories: set[str] = set()
        for chunk in in_chunks(urls):
            stories.update(r[0] for r in tx.execute(
                f"SELECT DISTINCT story_id FROM articles WHERE url IN ({marks(chunk)})", chunk))
            tx.execute(f"DELETE FROM articles WHERE url IN ({marks(chunk)})", chunk)
        ids = sorted(stories)
        kept = {r[0] for chunk in in_chunks(ids) for r in tx.execute(
            f"SELECT DISTINCT story_id FROM articles WHERE story_id IN ({marks(chunk)})", chunk)}
        removed = [story for story in ids if story not in kept]
        for chunk in in_chunks(removed):
            tx.execute(f"DELETE FROM stories WHERE story_id IN ({marks(chunk)})", chunk)
        changed = sorted(kept)
        for story in changed:
            self.touch_story(story, now, run_id)
        return changed, removed

    def article_items(self, urls: list[str] | None = None) -> Iterator[Article]:
        """Every article in the store (or those of these URLs), as an Article record (what rules
        judge, what a regrouping judges again)."""
        columns = ", ".join(field.name for field in dataclasses.fields(Article))
        if urls is None:
            rows: Iterable[Row] = self.db.read().execute(f"SELECT {columns} FROM articles ORDER BY seq")
        else:
            rows = (row for chunk in in_chunks(urls) for row in self.db.read().execute(
                f"SELECT {columns} FROM articles WHERE url IN ({marks(chunk)})", chunk))
        for row in rows:
            values = {name: row[name] for name in row.keys()}
            for name in ("authors", "credits", "tags"):
                values[name] = tuple(json.loads(values[name] or "[]"))
            values["published_date_only"] = bool(values["published_date_only"])
            values["free"] = None if values["free"] is None else bool(values["free"])
            yield Article(**values)

    def filed_row(self, url: str) -> dict[str, Any] | None:
        """The article filed under this URL as candidates are read (its fingerprint, story and
        event), with when it was first seen and how many variants its story has."""
        row = self.db.read().execute(
            f"SELECT {CANDIDATE_COLUMNS}, a.first_seen, (SELECT COUNT(*) FROM articles o "
            "WHERE o.story_id = a.story_id) AS variants FROM articles a JOIN stories s USING (story_id) "
            "WHERE a.url = ?", (url,)).fetchone()
        return dict(row) if row is not None else None

    @transactional
    def to_judge(self, tx: Connection, urls: list[str]) -> None:
        """These articles are to be judged again (refiled with another headline or text)."""
        tx.executemany("INSERT INTO articles_to_judge (url) VALUES (?) ON CONFLICT (url) DO NOTHING",
                       [(url,) for url in urls])

    def awaiting_judgment(self) -> list[str]:
        return [r[0] for r in self.db.read().execute("SELECT url FROM articles_to_judge ORDER BY url")]

    @transactional
    def judged(self, tx: Connection, urls: list[str]) -> None:
        for chunk in in_chunks(urls):
            tx.execute(f"DELETE FROM articles_to_judge WHERE url IN ({marks(chunk)})", chunk)

    def emptied(self) -> list[str]:
        """Stories left with no variant by a regrouping, not yet written as removed."""
        return [r[0] for r in self.db.read().execute(
            "SELECT story_id FROM stories s WHERE pending_run IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.story_id = s.story_id) ORDER BY story_id")]

    @transactional
    def forget_stories(self, tx: Connection, story_ids: list[str]) -> None:
        """Forget these stories (written as removed), once they hold no article."""
        for chunk in in_chunks(story_ids):
            tx.execute(f"DELETE FROM stories WHERE story_id IN ({marks(chunk)}) "
                       "AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.story_id = stories.story_id)", chunk)

    def dropped(self, limit: int = 1000) -> list[dict[str, Any]]:
        """The items left out on purpose, the latest first: url, feed, why, when."""
        return [dict(row) for row in self.db.read().execute(
            "SELECT url, feed_url, reason, at FROM dropped_articles ORDER BY at DESC, url LIMIT ?", (limit,))]

    def records(self, story_ids: Iterable[str]) -> Iterator[Story]:
        """The story record of each of these ids that exists, in the order given: what the
        sinks write."""
        for story, articles in self._story_rows(story_ids):
            yield story_record(story, articles)

    def _story_rows(self, story_ids: Iterable[str]) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Each story (its row and its articles' rows) of these ids that exists, in the order given."""
        db = self.db.read()
        for chunk in in_chunks(list(dict.fromkeys(story_ids))):
            stories = {r["story_id"]: dict(r) for r in db.execute(
                f"SELECT * FROM stories WHERE story_id IN ({marks(chunk)})", chunk)}
            articles: dict[str, list[dict[str, Any]]] = {}
            for row in db.execute(f"SELECT {ARTICLE_FIELDS} FROM articles WHERE story_id IN ({marks(chunk)})", chunk):
                articles.setdefault(row["story_id"], []).append(dict(row))
            for story_id in chunk:
                if story_id in articles:
                    yield stories[story_id], articles[story_id]

    def made_by_run(self, run_id: str) -> set[str]:
        """The stories this run made (not those it changed)."""
        return {r[0] for r in self.db.read().execute("SELECT story_id FROM stories WHERE first_run = ?", (run_id,))}

    def story_ids(self, since: str | None = None) -> list[str]:
        """Every story in the store (changed at or after `since`), oldest change first."""
        return [r[0] for r in self.db.read().execute(
            "SELECT story_id FROM stories WHERE updated >= ? ORDER BY updated, story_id", (since or "",))]

    def filed_articles(self, urls: list[str]) -> dict[str, tuple[str, str, str]]:
        """url -> (story_id, title, body_hash) of the articles filed under these URLs."""
        found = {}
        for chunk in in_chunks(sorted(set(urls))):
            for row in self.db.read().execute(
                    f"SELECT url, story_id, title, body_hash FROM articles WHERE url IN ({marks(chunk)})", chunk):
                found[row["url"]] = (row["story_id"], row["title"], row["body_hash"])
        return found

    def events_of(self, story_ids: Iterable[str]) -> dict[str, str]:
        """story -> its event, as it is now."""
        found: dict[str, str] = {}
        for chunk in in_chunks(sorted(set(story_ids))):
            found.update(self.db.read().execute(
                f"SELECT story_id, event_id FROM stories WHERE story_id IN ({marks(chunk)})", chunk).fetchall())
        return found

    def original_and_copies(self, story_id: str, body_hash: str, before: str) -> tuple[dict[str, Any] | None,
                                                                                      list[dict[str, Any]]]:
        """What decides whether an article becomes this story's original (matching.originals):
        the original so far, and a few of the story's articles with this text filed before
        `before` (the earliest: one on another site is enough)."""
        db = self.db.read()
        original = db.execute(f"SELECT {ORIGINAL_KEY_COLUMNS} FROM stories s JOIN articles a ON a.url = s.original_url "
                              "WHERE s.story_id = ?", (story_id,)).fetchone()
        copies = db.execute(f"SELECT {ORIGINAL_KEY_COLUMNS} FROM articles a WHERE a.body_hash = ? AND a.story_id = ? "
                            "AND a.first_seen < ? ORDER BY a.first_seen LIMIT 10", (body_hash, story_id, before))
        return (dict(original) if original is not None else None), [dict(row) for row in copies]

    def original_keys(self, story_id: str) -> list[dict[str, Any]]:
        """What decides a story's original, for each of its articles."""
        return [dict(row) for row in self.db.read().execute(
            f"SELECT {ORIGINAL_KEY_COLUMNS} FROM articles a WHERE a.story_id = ?", (story_id,))]

    @transactional
    def set_original(self, tx: Connection, story_id: str, url: str) -> None:
        tx.execute("UPDATE stories SET original_url = ? WHERE story_id = ?", (url, story_id))

    def event_members(self, event_ids: Iterable[str], most: int) -> list[dict[str, Any]]:
        """The articles of the stories of these events, as candidates are judged, with their
        publication time: the `most` latest filed of each event."""
        ids = sorted(set(event_ids))
        if not ids:
            return []
        latest_first = "ROW_NUMBER() OVER (PARTITION BY s.event_id ORDER BY a.seq DESC) AS event_rank"
        return [dict(r) for r in self.db.read().execute(
            f"SELECT * FROM (SELECT {CANDIDATE_COLUMNS}, {latest_first} FROM articles a JOIN stories s "
            f"USING (story_id) WHERE s.event_id IN ({marks(ids)})) ranked WHERE event_rank <= ?", (*ids, most))]

    def pending(self) -> list[str]:
        """Stories whose latest record has not reached the sinks (a run died before writing)."""
        return [r[0] for r in self.db.read().execute("SELECT story_id FROM stories WHERE pending_run IS NOT NULL")]

    # --- candidates for matching -------------------------------------------------------------------
    def articles_after(self, seq: int) -> list[Row]:
        """(seq, vector) of the articles written after `seq`, in order: for a worker's vector index."""
        return self.db.read().execute("SELECT seq, vector FROM articles WHERE seq > ? ORDER BY seq", (seq,)).fetchall()

    def newest_seq(self) -> int:
        return self.db.read().execute("SELECT COALESCE(MAX(seq), 0) FROM articles").one()[0]

    def candidate_rows(self, body_hash: str, seqs: list[int], since: str) -> list[dict[str, Any]]:
        """Articles of stories changed since `since` with one of these seqs, and a few with this
        body hash: identical bodies are one story, so a few stand for all (the cost of a lookup
        does not grow with the number of copies)."""
        db = self.db.read()
        rows = {r["url"]: dict(r) for r in db.execute(
            CANDIDATE_FIELDS + "WHERE a.body_hash = ? AND s.updated >= ? LIMIT 3", (body_hash, since))}
        if seqs:
            rows.update((r["url"], dict(r)) for r in db.execute(
                CANDIDATE_FIELDS + f"WHERE a.seq IN ({marks(seqs)}) AND s.updated >= ?", (*seqs, since)))
        return list(rows.values())

    def candidate_rows_after(self, seq: int, since: str) -> list[dict[str, Any]]:
        """Articles written after `seq` (by other workers since a snapshot), of stories changed
        since `since`."""
        return [dict(r) for r in self.db.read().execute(
            CANDIDATE_FIELDS + "WHERE a.seq > ? AND s.updated >= ?", (seq, since))]

    # --- filing ------------------------------------------------------------------------------------
    def filing(self, work: Callable[[], T]) -> T:
        """Run `work` (deciding and filing a chunk of articles) in one write transaction, its
        writes pipelined: they go out while the next article is judged. It may run again when
        the store asks the transaction to be retried."""
        def run(tx: Connection) -> T:
            with tx.pipeline():
                return work()

        return self.db.run_in_transaction(run)

    @transactional
    def file(self, tx: Connection, filing: Filing, now: str, run_id: str) -> tuple[str, ...]:
        """Apply one article's filing (matching's decision); returns the stories whose event
        changed because events were merged (to be written again)."""
        self.save_sentences(list(filing.computed_sentences))
        if filing.how == "unchanged":  # read again, the same: looked at again later, and less often
            self.checked(filing.article.url, now)
            return ()
        if filing.moved_from:
            return self._move(filing, now, run_id)
        if filing.how == "new":
            self.create_story(filing.story_id, filing.story_event, filing.article.url, now, run_id)
        else:
            self.touch_story(filing.story_id, now, run_id)
            if filing.original:
                self.set_original(filing.story_id, filing.article.url)
        row = {**article_row(filing, now), "next_check": next_check(filing.article, now, 0), "checks": 0}
        if filing.how == "updated":  # edited in place: the version it replaces is kept
            before = tx.execute(f"SELECT url, story_id, {', '.join(REVISED_FIELDS)} FROM articles WHERE url = ?",
                                (row["url"],)).fetchone()
            self.write_article(row, update=True)
            if before is not None and filing.edit:
                self.revisions.keep(dict(before), row, now, run_id)
        else:
            self.write_article(row)
        others = [event for event in (filing.story_event, *filing.merged_events) if event != filing.event_id]
        return self.merge_events(filing.event_id, others, now, run_id) if others else ()

    @transactional
    def _move(self, tx: Connection, filing: Filing, now: str, run_id: str) -> tuple[str, ...]:
        """Move an article's row, as it is, from the story it leaves into its filing's story (a
        new one is as old as the article), and each story's original as matching decided it. A
        story left empty stays, pending, until the sinks have it as removed."""
        url = filing.article.url
        if filing.how == "new":
            first_seen = tx.execute("SELECT first_seen FROM articles WHERE url = ?", (url,)).one()[0]
            self.create_story(filing.story_id, filing.story_event, url, first_seen, run_id)
        tx.execute("UPDATE articles SET story_id = ? WHERE url = ?", (filing.story_id, url))
        for story_id in (filing.moved_from, filing.story_id):
            self.touch_story(story_id, now, run_id)
        for story_id, original in filing.originals:
            self.set_original(story_id, original)
        others = [event for event in (filing.story_event, *filing.merged_events) if event != filing.event_id]
        return self.merge_events(filing.event_id, others, now, run_id) if others else ()

    @transactional
    def checked(self, tx: Connection, url: str, now: str) -> None:
        """The page was looked at again and had not changed (or could not be read): its next
        look is twice as far off, and none after the last."""
        row = tx.execute("SELECT checks FROM articles WHERE url = ?", (url,)).fetchone()
        if row is None:
            return
        checks = row["checks"] + 1
        due = None if checks >= settings.RECHECK_MAX_CHECKS else _later(now, settings.RECHECK_FIRST_S * 2 ** checks)
        tx.execute("UPDATE articles SET checks = ?, next_check = ? WHERE url = ?", (checks, due, url))

    def due_rechecks(self, now: str, since: str, limit: int) -> list[FeedEntry]:
        """The pages due to be looked at again, the longest overdue first, of stories changed
        since `since` (the story window): as feed entries asked with their validators."""
        rows = self.db.read().execute(
            "SELECT a.url, a.feed_url, a.title, a.published, a.entry_updated, a.language, a.etag, a.last_modified "
            "FROM articles a JOIN stories s USING (story_id) WHERE a.next_check IS NOT NULL AND a.next_check <= ? "
            "AND s.updated >= ? ORDER BY a.next_check LIMIT ?", (now, since, limit))
        return [FeedEntry(url=r["url"], link=r["url"], feed_url=r["feed_url"], feed_name=None, title=r["title"],
                          summary="", published=r["published"], updated=r["entry_updated"], language=r["language"],
                          recheck=(r["etag"], r["last_modified"])) for r in rows]

    @transactional
    def save_sentences(self, tx: Connection, computed: list[tuple[str, bytes]]) -> None:
        """Keep the sentence vectors computed for these articles (url, packed vectors)."""
        if computed:
            tx.executemany("UPDATE articles SET sentences = ? WHERE url = ?",
                           [(sentences, url) for url, sentences in computed])

    @transactional
    def create_story(self, tx: Connection, story_id: str, event_id: str, original_url: str, now: str,
                     run_id: str) -> None:
        tx.execute("INSERT INTO stories (story_id, event_id, original_url, first_seen, updated, pending_run, last_run, "
                   "first_run) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (story_id, event_id, original_url, now, now, run_id, run_id, run_id))

    @transactional
    def touch_story(self, tx: Connection, story_id: str, now: str, run_id: str) -> None:
        """Mark the story changed by run_id."""
        tx.execute("UPDATE stories SET updated = ?, pending_run = ?, last_run = ? WHERE story_id = ?",
                   (now, run_id, run_id, story_id))

    @transactional
    def merge_events(self, tx: Connection, survivor: str, others: list[str], now: str, run_id: str) -> tuple[str, ...]:
        """Move the stories of the `others` events into `survivor`; returns the stories moved."""
        moved = tuple(r[0] for r in tx.execute(
            f"SELECT story_id FROM stories WHERE event_id IN ({marks(others)})", others))
        tx.execute("UPDATE stories SET event_id = ?, updated = ?, pending_run = ?, last_run = ? "
                   f"WHERE event_id IN ({marks(others)})", (survivor, now, run_id, run_id, *others))
        return moved

    @transactional
    def write_article(self, tx: Connection, values: dict[str, Any], update: bool = False) -> None:
        """Insert an article row (or update the row of its URL), with the next sequence number."""
        # the writer lock is held: MAX + 1 is unique and grows (computed in the statement itself:
        # one round trip fewer inside the lock)
        next_seq = "(SELECT COALESCE(MAX(seq), 0) + 1 FROM articles)"
        if update:
            values = {k: v for k, v in values.items() if k not in ("first_seen", "story_id", "seq")}
            url = values.pop("url")
            assignments = ", ".join(f"{k} = ?" for k in values)
            tx.execute(f"UPDATE articles SET {assignments}, seq = {next_seq} WHERE url = ?", (*values.values(), url))
        else:
            values = {k: v for k, v in values.items() if k != "seq"}
            tx.execute(f"INSERT INTO articles ({', '.join(values)}, seq) VALUES ({marks(list(values))}, {next_seq})",
                       tuple(values.values()))

    @transactional
    def mark_written(self, tx: Connection, written: dict[str, str]) -> None:
        """These stories' records, as of their `updated` time, are in every sink. A story that
        changed again since stays pending."""
        tx.executemany("UPDATE stories SET pending_run = NULL WHERE story_id = ? AND updated = ?",
                       list(written.items()))

    @transactional
    def prune(self, tx: Connection, window_days: float) -> dict[str, Any]:
        """Forget stories unchanged for longer than the window (the sinks keep them)."""
        cutoff = (dt.datetime.now(dt.UTC) - dt.timedelta(days=window_days)).isoformat(timespec="seconds")
        old = "SELECT story_id FROM stories WHERE updated < ? AND pending_run IS NULL"
        articles = tx.execute(f"DELETE FROM articles WHERE story_id IN ({old})", (cutoff,)).rowcount
        stories = tx.execute("DELETE FROM stories WHERE updated < ? AND pending_run IS NULL", (cutoff,)).rowcount
        tx.execute("DELETE FROM dropped_articles WHERE at < ?", (cutoff,))
        return {"stories": stories, "articles": articles, "cutoff": cutoff}


def next_check(article: Article, now: str, checks: int) -> str | None:
    """When a page filed (or changed) `now` is looked at again: pages read from the web only
    (not a feed's text, not an archive's capture, which cannot change)."""
    if article.body_source != "page" or not article.url.startswith(("http://", "https://")) or \
            not article.feed_url.startswith(("http://", "https://", "file:")):
        return None
    return _later(now, settings.RECHECK_FIRST_S * 2 ** checks)


def _later(now: str, seconds: float) -> str:
    return (dt.datetime.fromisoformat(now) + dt.timedelta(seconds=seconds)).isoformat(timespec="seconds")


def dropped_payload(item: Article | FeedEntry) -> str:
    """A dropped item as the store keeps it: its record, and which kind it is."""
    return json.dumps({"kind": "article" if isinstance(item, Article) else "entry", "record": item.to_dict()})


def dropped_item(payload: str) -> Article | FeedEntry:
    kept = json.loads(payload)
    record: dict[str, Any] = {name: tuple(value) if isinstance(value, list) else value
                              for name, value in kept["record"].items()}
    return Article(**record) if kept["kind"] == "article" else FeedEntry(**record)


def article_row(filing: Filing, now: str) -> dict[str, Any]:
    """An article as the store keeps it: each of its fields a column (lists as JSON, flags as 0
    and 1), with its story, its fingerprint and when it was filed."""
    row = {field.name: _column_value(getattr(filing.article, field.name)) for field in dataclasses.fields(Article)}
    return {**row, "story_id": filing.story_id, "body_hash": filing.body_hash, "first_seen": now, "updated": now,
            "vector": filing.vector, "sentences": filing.sentences, "numbers": filing.numbers, "made_by": __version__}


def _column_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return json.dumps(list(value))
    return int(value) if isinstance(value, bool) else value


def relation(article: dict[str, Any], main: dict[str, Any]) -> str:
    """How a variant relates to the story's main variant."""
    if article is main:
        return "original"
    if article["language"] and main["language"] and article["language"] != main["language"]:
        return "translation"
    if article["body_hash"] == main["body_hash"]:
        return "exact"
    return "near_duplicate"


def story_record(story: dict[str, Any], articles: list[dict[str, Any]]) -> Story:
    """A story from the store's rows of the story and its articles: its original (which
    matching.originals chose when its variants were filed) first, then the others, earliest
    published first. The story's title, text and language are the original's; each variant
    carries its own title, text, language, authors and published time."""
    articles = sorted(articles, key=lambda a: (a["url"] != story["original_url"], publication_order(a)))
    main = articles[0]
    variants = tuple(_variant(a, relation(a, main)) for a in articles)
    original = variants[0]
    return Story(
        story_id=story["story_id"], event_id=story["event_id"],
        languages=tuple(sorted({a["language"] for a in articles if a["language"]})),
        first_seen=story["first_seen"], updated=story["updated"], variants=variants,
        revisions=sum(v.revisions for v in variants), revised=max((v.revised for v in variants if v.revised),
                                                                  default=None),
        **{name: getattr(original, name) for name in ORIGINAL_FIELDS})


def _variant(row: dict[str, Any], relation: str) -> Variant:
    """A variant from its article row: lists kept as JSON, flags as 0 and 1."""
    values = {name: row[name] for name in VARIANT_FIELDS}
    values.update((name, tuple(json.loads(values[name]))) for name in _LIST_FIELDS)
    values["published_date_only"] = bool(values["published_date_only"])
    values["free"] = None if values["free"] is None else bool(values["free"])
    return Variant(**values, relation=relation)
