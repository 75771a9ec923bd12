"""The store's tables, as a list of migrations applied in order on open: a store written by an
older newsbeam is upgraded in place, never dropped. A new table or column is a new migration;
a released migration never changes."""

SCHEMA_VERSION = 21

# The words of an article that `stories list --query` finds, as each store indexes them: its
# title and the first 100,000 characters of its text (far beyond any report; PostgreSQL's
# text-search vectors hold at most 1 MB). Both stores split words at the same characters and
# compare them in lower case, accents kept. A migration's text never changes, nor do these.
SEARCHED_CHARS = 100_000
POSTGRES_SEARCH_DOCUMENT = f"to_tsvector('simple', title || ' ' || left(text, {SEARCHED_CHARS}))"

# A migration is one SQL script, or one per store kind where they differ ("sqlite", "postgresql").
MIGRATIONS: dict[int, str | dict[str, str]] = {
    1: """
    CREATE TABLE feeds (
        url TEXT PRIMARY KEY,
        etag TEXT, last_modified TEXT, body_hash TEXT,
        -- validators of the current run, promoted once its output is written
        pending_etag TEXT, pending_last_modified TEXT, pending_body_hash TEXT,
        last_fetched TEXT,
        next_due TEXT,              -- not fetched before this (TTL, max-age, Retry-After, backoff)
        failures INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE stories (
        story_id TEXT PRIMARY KEY,
        event_id TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        updated TEXT NOT NULL,
        -- the run that last changed the story, until the sinks have its new record
        pending_run TEXT
    );
    CREATE INDEX stories_pending ON stories (pending_run) WHERE pending_run IS NOT NULL;
    CREATE TABLE articles (
        url TEXT PRIMARY KEY,
        story_id TEXT NOT NULL REFERENCES stories (story_id),
        feed_url TEXT NOT NULL,
        title TEXT NOT NULL,
        text TEXT NOT NULL,
        language TEXT,
        published TEXT,
        authors TEXT NOT NULL,      -- JSON list
        site_name TEXT,
        description TEXT,
        image TEXT,
        tags TEXT NOT NULL,         -- JSON list
        body_source TEXT NOT NULL,
        body_hash TEXT NOT NULL,
        entry_updated TEXT,
        first_seen TEXT NOT NULL,
        updated TEXT NOT NULL,
        vector BLOB NOT NULL,       -- int8 document vector
        sentences BLOB,             -- int8 sentence vectors, row-major, computed when first needed
        numbers TEXT NOT NULL,      -- space-separated normalized numbers
        seq BIGINT NOT NULL         -- grows with every write: workers' vector indexes follow it
    );
    CREATE INDEX articles_story ON articles (story_id);
    CREATE INDEX articles_body_hash ON articles (body_hash);
    CREATE UNIQUE INDEX articles_seq ON articles (seq);
    CREATE TABLE dead_letters (
        url TEXT NOT NULL,
        stage TEXT NOT NULL,
        status INTEGER,
        reason TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        first_at TEXT NOT NULL,
        at TEXT NOT NULL,
        next_due TEXT NOT NULL,
        payload TEXT,
        PRIMARY KEY (url, stage)
    );
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        started TEXT NOT NULL,
        finished TEXT,
        summary TEXT
    );
    """,
    # Each run asks for the dead letters that are due: by stage and time, not a full scan.
    2: """
    CREATE INDEX dead_letters_due ON dead_letters (stage, next_due);
    CREATE INDEX stories_updated ON stories (updated);
    """,
    # The new entries a feed's staged validators cover (a JSON list of URLs): an unbounded run
    # commits the validators only once all of them are filed.
    3: """
    ALTER TABLE feeds ADD COLUMN pending_entries TEXT;
    """,
    # A run's counts (feeds fetched, pages failed, ...), added up by the workers as their
    # batches are written: the summary does not depend on a runner's metrics. And dead letters
    # whose answer cannot change (a refused address or scheme): recorded once, never retried.
    4: """
    CREATE INDEX articles_updated ON articles (updated);
    CREATE INDEX stories_first_seen ON stories (first_seen);
    CREATE TABLE run_counts (
        run_id TEXT NOT NULL,
        name TEXT NOT NULL,
        value BIGINT NOT NULL,
        PRIMARY KEY (run_id, name)
    );
    ALTER TABLE dead_letters ADD COLUMN final INTEGER NOT NULL DEFAULT 0;
    """,
    # When each host may have its next request, for requests outside the host's own shard (a
    # redirect to another host): workers on any machine pace such a host together.
    5: """
    CREATE TABLE host_slots (
        host TEXT PRIMARY KEY,
        next_start DOUBLE PRECISION NOT NULL   -- seconds since the epoch
    );
    """,
    # What a person looks at: the run that last changed each story (a report shows the last
    # run's stories), and each feed's own title and how its last fetch went (feed health).
    6: """
    ALTER TABLE stories ADD COLUMN last_run TEXT;
    CREATE INDEX stories_last_run ON stories (last_run);
    CREATE INDEX stories_event ON stories (event_id);
    ALTER TABLE feeds ADD COLUMN title TEXT;
    ALTER TABLE feeds ADD COLUMN last_status INTEGER;
    ALTER TABLE feeds ADD COLUMN last_error TEXT;
    """,
    # Web archives: how far each WARC file has been read (a killed run resumes there; a file read
    # to its end is not read again); and the lastmod a sitemap index last listed for each child.
    7: """
    CREATE TABLE archive_files (
        url TEXT PRIMARY KEY,
        size BIGINT NOT NULL,
        next_offset BIGINT NOT NULL DEFAULT 0,
        pages INTEGER NOT NULL DEFAULT 0,
        damaged INTEGER NOT NULL DEFAULT 0,
        started TEXT NOT NULL,
        finished TEXT
    );
    ALTER TABLE feeds ADD COLUMN listed_lastmod TEXT;
    """,
    # Bylines as published: the agencies, desks and outlets credited beside the people; the
    # kicker above a headline; whether a publication time is only a date; and what read the
    # page (a publisher's own parser, or the generic path).
    8: """
    ALTER TABLE articles ADD COLUMN credits TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE articles ADD COLUMN kicker TEXT;
    ALTER TABLE articles ADD COLUMN published_date_only INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE articles ADD COLUMN extractor TEXT NOT NULL DEFAULT 'generic';
    """,
    # The address each page gives itself (a reader's link), and a full-text index of the
    # articles' words for `stories list --query`: SQLite's FTS5 (kept by triggers, keyed by the
    # article's seq, which an update renews), PostgreSQL's text search (a GIN index).
    9: {
        "sqlite": f"""
    ALTER TABLE articles ADD COLUMN canonical_url TEXT;
    CREATE VIRTUAL TABLE articles_words USING fts5 (title, text, content = '',
        tokenize = 'unicode61 remove_diacritics 0');
    INSERT INTO articles_words (rowid, title, text) SELECT seq, title, substr(text, 1, {SEARCHED_CHARS}) FROM articles;
    CREATE TRIGGER articles_words_insert AFTER INSERT ON articles BEGIN
        INSERT INTO articles_words (rowid, title, text)
        VALUES (new.seq, new.title, substr(new.text, 1, {SEARCHED_CHARS}));
    END;
    CREATE TRIGGER articles_words_delete AFTER DELETE ON articles BEGIN
        INSERT INTO articles_words (articles_words, rowid, title, text)
        VALUES ('delete', old.seq, old.title, substr(old.text, 1, {SEARCHED_CHARS}));
    END;
    CREATE TRIGGER articles_words_update AFTER UPDATE OF title, text, seq ON articles BEGIN
        INSERT INTO articles_words (articles_words, rowid, title, text)
        VALUES ('delete', old.seq, old.title, substr(old.text, 1, {SEARCHED_CHARS}));
        INSERT INTO articles_words (rowid, title, text)
        VALUES (new.seq, new.title, substr(new.text, 1, {SEARCHED_CHARS}));
    END;
    """,
        "postgresql": f"""
    ALTER TABLE articles ADD COLUMN canonical_url TEXT;
    CREATE INDEX articles_words ON articles USING GIN ({POSTGRES_SEARCH_DOCUMENT});
    """,
    },
    # Articles a pipeline of the user's own left out on purpose (a language filter, a rule):
    # seen, with why, so that they are not fetched again until their feed changes them.
    10: """
    CREATE TABLE dropped_articles (
        url TEXT PRIMARY KEY,
        feed_url TEXT NOT NULL,
        reason TEXT NOT NULL,
        entry_updated TEXT,
        at TEXT NOT NULL
    );
    """,
    # What was dropped, as it was judged (the article, or the feed's entry), so that changed
    # rules can judge it again (`newsbeam rules apply`) and restore it.
    11: """
    ALTER TABLE dropped_articles ADD COLUMN payload TEXT;
    """,
    # An article edited in place keeps each earlier version (state.revisions); the article
    # counts its revisions and says when it last changed.
    12: """
    CREATE TABLE article_revisions (
        url TEXT NOT NULL,
        revision INTEGER NOT NULL,
        story_id TEXT NOT NULL,
        replaced_at TEXT NOT NULL,
        title TEXT,
        kicker TEXT,
        authors TEXT,
        text TEXT,
        changed TEXT NOT NULL,
        diff TEXT NOT NULL,
        PRIMARY KEY (url, revision)
    );
    CREATE INDEX article_revisions_story ON article_revisions (story_id);
    ALTER TABLE articles ADD COLUMN revisions INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE articles ADD COLUMN revised TEXT;
    """,
    # A page is looked at again for edits its feed does not announce: asked with its validators,
    # often at first, then less (state.stories: next_check).
    13: """
    ALTER TABLE articles ADD COLUMN etag TEXT;
    ALTER TABLE articles ADD COLUMN last_modified TEXT;
    ALTER TABLE articles ADD COLUMN next_check TEXT;
    ALTER TABLE articles ADD COLUMN checks INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX articles_next_check ON articles (next_check);
    """,
    # Which newsbeam made each article's record: what an upgrade would change (reprocess).
    14: """
    ALTER TABLE articles ADD COLUMN made_by TEXT;
    """,
    # What a page says of itself beside its text: when it last changed, its section, free or not.
    15: """
    ALTER TABLE articles ADD COLUMN modified TEXT;
    ALTER TABLE articles ADD COLUMN section TEXT;
    ALTER TABLE articles ADD COLUMN free INTEGER;
    """,
    # The run that made each story, and the run that kept each revision: what a pass did, to the
    # second or not.
    16: """
    ALTER TABLE stories ADD COLUMN first_run TEXT;
    ALTER TABLE article_revisions ADD COLUMN run_id TEXT;
    """,
    # Which variant is a story's original is decided when it is filed (matching.originals) and
    # kept; stories filed before start from their earliest published variant.
    17: """
    ALTER TABLE stories ADD COLUMN original_url TEXT;
    UPDATE stories SET original_url = (
        SELECT a.url FROM articles a WHERE a.story_id = stories.story_id
        ORDER BY a.published IS NULL, substr(COALESCE(a.published, ''), 1, 10), a.published_date_only,
                 COALESCE(a.published, ''), a.url
        LIMIT 1);
    """,
    # A lead image's caption and credit beside its URL (the image column is the first migration's).
    18: """
    ALTER TABLE articles ADD COLUMN image_caption TEXT;
    ALTER TABLE articles ADD COLUMN image_credit TEXT;
    """,
    # What each site repeats on its pages (extraction.site_furniture): each paragraph (by key) of
    # a host, the pages it was on (a few page keys, JSON), when last seen; bounded per host.
    19: """
    CREATE TABLE site_lines (
        host TEXT NOT NULL,
        line TEXT NOT NULL,
        pages TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        PRIMARY KEY (host, line)
    );
    CREATE INDEX site_lines_seen ON site_lines (host, last_seen);
    """,
    # Articles `newsbeam reprocess` refiled with another headline or text, to be judged again
    # (matching.story_index.regroup): kept until judged, so a reprocess killed first judges them
    # when run again.
    20: """
    CREATE TABLE articles_to_judge (url TEXT PRIMARY KEY);
    """,
    # When a host's last request actually started (state.hosts.HostSlots.confirm): a request
    # started late after its slot must not bring the next one closer than the host's delay.
    21: """
    ALTER TABLE host_slots ADD COLUMN last_start DOUBLE PRECISION;
    """,
}
