"""The state store, the same tests on SQLite and on a real PostgreSQL; story export; and what
happens when runs overlap or die."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from newsbeam.pipeline.cli import main
from newsbeam.schemas import DeadLetter, utc_now
from newsbeam.state.migrations import MIGRATIONS, SCHEMA_VERSION
from newsbeam.state.store import open_store
from tests.conftest import ROOT, RUN_ARGS, latest_stories, write_feeds_file

DEMO_FEEDS = ["feeds/kurier.rss", "feeds/herald.rss", "feeds/wire.atom"]


def letter(url: str, stage: str = "page_fetch", **fields) -> DeadLetter:
    return DeadLetter(url=url, stage=stage, reason="HTTP 500", status=500, at=utc_now(), **fields)


def test_dead_letters_count_attempts_and_resolve(store_url):
    store = open_store(store_url)
    (first,) = store.dead_letters.record([letter("http://a/1", payload='{"x": 1}')])
    (second,) = store.dead_letters.record([letter("http://a/1")])
    assert (first.attempts, second.attempts) == (1, 2)
    assert second.next_due > first.next_due  # backed off further
    assert store.dead_letters.all()[0].payload == '{"x": 1}'  # kept when a retry has none
    assert store.dead_letters.due("page_fetch") == []
    assert [d.url for d in store.dead_letters.due("page_fetch", now="2999-01-01T00:00:00+00:00")] == ["http://a/1"]
    store.dead_letters.resolve("http://a/1", ["page_fetch"])
    assert store.dead_letters.all() == []


def test_feed_state_and_staged_validators(store_url):
    store = open_store(store_url)
    store.feeds.fetched("http://f/rss", None)
    store.feeds.stage_validators("http://f/rss", '"e1"', "Mon, 01 Jan 2026 00:00:00 GMT", "hash1")
    assert store.feeds.validators("http://f/rss") == {"etag": None, "last_modified": None, "body_hash": None}
    store.feeds.commit_validators()
    assert store.feeds.validators("http://f/rss")["etag"] == '"e1"'
    due = store.feeds.failed("http://f/rss", None)
    assert store.feeds.state("http://f/rss")["failures"] == 1 and due > utc_now()
    store.feeds.defer("http://f/rss", "2000-01-01T00:00:00+00:00")  # never moves the due time back
    assert store.feeds.state("http://f/rss")["next_due"] == due


def test_an_unbounded_run_commits_validators_of_feeds_whose_entries_are_filed(store_url):
    store = open_store(store_url)
    one, two, three = "http://f/one", "http://f/two", "http://f/three"
    for feed in (one, two, three):
        store.feeds.stage_validators(feed, None, None, f"hash of {feed}")
    store.feeds.stage_entries(one, ["http://a/1", "http://a/2"])
    store.feeds.stage_entries(two, [])  # parsed: nothing new
    # three: fetched, not parsed yet

    def committed() -> set[str]:
        return {f for f in (one, two, three) if store.feeds.validators(f)["body_hash"] is not None}

    store.feeds.commit_validators(filed_only=True)
    assert committed() == {two}
    store.dead_letters.record([letter("http://a/1", "page_fetch")])
    store.feeds.commit_validators(filed_only=True)
    assert committed() == {two}  # http://a/2 is still in flight
    store.dead_letters.record([letter("http://a/2", "extract")])
    store.feeds.commit_validators(filed_only=True)
    assert committed() == {one, two}
    store.feeds.commit_validators()  # the end of a run: everything is through
    assert committed() == {one, two, three}


def test_pending_stories_survive_until_written(store_url):
    store = open_store(store_url)
    for story, run in (("s_1", "run-a"), ("s_2", "run-b")):
        store.db.read().execute("INSERT INTO stories (story_id, event_id, first_seen, updated, pending_run) "
                                "VALUES (?, ?, ?, ?, ?)", (story, "e_1", utc_now(), utc_now(), run))
    assert sorted(store.stories.pending()) == ["s_1", "s_2"]
    updated = dict(store.db.read().execute("SELECT story_id, updated FROM stories").fetchall())
    store.stories.mark_written({"s_1": updated["s_1"]})  # a later run wrote s_1, which run a left pending
    store.stories.mark_written({"s_2": "2000-01-01T00:00:00+00:00"})  # an older record of s_2: still pending
    assert store.stories.pending() == ["s_2"]


def test_a_hosts_requests_start_its_delay_apart_however_late_one_started(store_url):
    """Slots are taken a delay apart; a request then starts only once the request before it
    actually started that long ago: one that started late after its slot (a thread woken late)
    holds the next one back, on every backend."""
    store = open_store(store_url)
    hosts = store.hosts
    assert hosts.take("news.example", 30) == 0 and hosts.confirm("news.example", 30) == 0  # free: starts now
    assert 29 < hosts.take("news.example", 30) <= 30  # the next slot
    # its slot came, say, but the request before started (late) less than the delay ago
    assert 29 < hosts.confirm("news.example", 30) <= 30
    # another host keeps its own pace
    assert hosts.take("other.example", 30) == 0 and hosts.confirm("other.example", 30) == 0
    # once the delay since the last start has passed (its start set a minute back), it starts
    store.db.read().execute("UPDATE host_slots SET last_start = last_start - 60 WHERE host = ?", ("news.example",))
    assert hosts.confirm("news.example", 30) == 0


def test_an_older_store_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[1])
    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.execute("INSERT INTO dead_letters VALUES ('http://x', 'page_fetch', 500, 'r', 1, 'a', 'a', 'n', NULL)")
    db.commit()
    db.close()
    store = open_store(str(path))
    assert store.meta("schema_version") == str(SCHEMA_VERSION)
    assert [d.url for d in store.dead_letters.all()] == ["http://x"]  # data kept
    indexes = {r[0] for r in store.db.read().execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "dead_letters_due" in indexes
    store.db.read().execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(Exception, match="newer than this newsbeam"):
        open_store(str(path))


def run_demo(site, tmp_path, store_url: str, output: str = "out", feeds=DEMO_FEEDS, *extra: str) -> int:
    feeds_file = write_feeds_file(tmp_path / f"{output}.yaml", [site.base_url + f for f in feeds])
    return main(["run", "--feeds", str(feeds_file), "--output", str(tmp_path / output), "--store", store_url,
                 *RUN_ARGS, *extra])


def test_pipeline_on_the_store_export_show_and_prune(site, tmp_path, store_url, capsys):
    assert run_demo(site, tmp_path, store_url, "out", DEMO_FEEDS, "--sink", "jsonl,parquet") == 0
    written = latest_stories(tmp_path / "out")
    assert len(written) == 5
    table = pq.read_table(list((tmp_path / "out" / "stories").glob("*.parquet")))
    assert sorted(table.column("story_id").to_pylist()) == sorted(written)

    assert run_demo(site, tmp_path, store_url) == 0  # nothing new the second time
    assert len(latest_stories(tmp_path / "out")) == 5

    export = tmp_path / "all.parquet"
    assert main(["stories", "export", "--store", store_url, "--format", "parquet", "-o", str(export)]) == 0
    exported = pq.read_table(export)
    assert exported.schema.field("published").type.tz == "UTC"  # times as timestamps (Parquet keeps ms)
    exported = exported.to_pylist()
    assert sorted(r["story_id"] for r in exported) == sorted(written)
    by_id = {r["story_id"]: r for r in exported}
    for story_id, record in written.items():
        variants = [{k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in variant.items()}
                    for variant in by_id[story_id]["variants"]]
        assert variants == record["variants"]
    assert main(["stories", "export", "--store", store_url, "--since", "2999-01-01", "-o", "-"]) == 0
    capsys.readouterr()
    cable_car = next(s for s in written.values() if len(s["variants"]) == 3)
    assert main(["stories", "show", cable_car["story_id"], "--store", store_url]) == 0
    assert json.loads(capsys.readouterr().out)["variants"] == cable_car["variants"]
    assert main(["stories", "show", "s_0000000000000000", "--store", store_url]) == 2

    assert main(["prune", "--store", store_url, "--window-days", "1"]) == 0
    assert len(open_store(store_url).stories.story_ids()) == 5  # all younger than a day
    store = open_store(store_url)
    store.db.read().execute("UPDATE stories SET updated = '2000-01-01T00:00:00+00:00'")
    assert store.prune(7) == {"stories": 5, "articles": 7, "dead_letters": 0}


def test_database_sinks_hold_one_current_row_per_story(site, tmp_path, postgres_url):
    sinks = "jsonl,sqlite,postgres"
    for _ in range(2):  # the same hour twice
        feeds = DEMO_FEEDS + ["feeds/dead-links.rss"]
        assert run_demo(site, tmp_path, postgres_url, "out", feeds, "--sink", sinks) == 0
    store_rows = _stories_in_store(postgres_url)
    for url in (postgres_url, str(tmp_path / "out" / "stories.db")):
        db = open_store(url, migrate=False).db.read()
        stories = dict(db.execute("SELECT story_id, title FROM newsbeam_stories").fetchall())
        assert set(stories) == set(store_rows)
        variants = db.execute("SELECT story_id, relation FROM newsbeam_variants").fetchall()
        assert len(variants) == sum(len(urls) for urls in store_rows.values())
        assert {r for _, r in variants} == {"original", "translation"}
        texts = db.execute("SELECT language, text, authors FROM newsbeam_variants").fetchall()
        assert all(text and json.loads(authors) is not None for _, text, authors in texts)  # each its own
        assert {language for language, _, _ in texts} == {"de", "en"}
        events = db.execute("SELECT COUNT(DISTINCT event_id), COUNT(*) FROM newsbeam_events").fetchone()
        assert tuple(events) == (len(stories) - 1, len(stories))  # the two cable-car stories share one
        letters = db.execute("SELECT stage, attempts FROM newsbeam_dead_letters ORDER BY stage").fetchall()
        assert [tuple(r) for r in letters] == [("extract", 1), ("page_fetch", 1)]
    assert main(["run", "--feeds", str(tmp_path / "out.yaml"), "--output", str(tmp_path / "x"),
                 "--sink", "postgres"]) == 2  # the postgres sink needs the PostgreSQL store


def _run_process(site, tmp_path, store_url: str, output: str, feeds: list[str], *extra: str) -> subprocess.Popen:
    feeds_file = write_feeds_file(tmp_path / f"{output}.yaml", [site.base_url + f for f in feeds])
    return subprocess.Popen(
        [sys.executable, "-m", "newsbeam", "run", "--feeds", str(feeds_file), "--output", str(tmp_path / output),
         "--store", store_url, *RUN_ARGS, *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stories_in_store(store_url: str) -> dict[str, list[str]]:
    rows = open_store(store_url).db.read().execute("SELECT story_id, url FROM articles").fetchall()
    stories: dict[str, list[str]] = {}
    for story_id, url in rows:
        stories.setdefault(story_id, []).append(url.rsplit("/", 1)[1])
    return stories


@pytest.mark.slow
def test_two_overlapping_runs_on_one_store(site, tmp_path, postgres_url):
    """Two `newsbeam run` processes at once on one PostgreSQL store, with overlapping feeds:
    one story per report, no variant lost, no article twice."""
    first = _run_process(site, tmp_path, postgres_url, "one", ["feeds/kurier.rss", "feeds/herald.rss"])
    second = _run_process(site, tmp_path, postgres_url, "two", ["feeds/herald.rss", "feeds/wire.atom"])
    for process in (first, second):
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    stories = _stories_in_store(postgres_url)
    assert sum(len(urls) for urls in stories.values()) == 7
    assert len(stories) == 5
    assert sorted(max(stories.values(), key=len)) == [
        "cable-car-across-the-river.html", "lindenau-approves-cable-car.html", "seilbahn-beschlossen.html"]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_run_killed_at_any_point_loses_and_doubles_nothing(site, tmp_path, request, backend):
    store_url = (f"sqlite:///{tmp_path / 'state.db'}" if backend == "sqlite"
                 else request.getfixturevalue("postgres_url"))
    feeds = DEMO_FEEDS + ["feeds/gazette.rss"]
    rng = random.Random(20261127)
    for attempt in range(3):
        process = _run_process(site, tmp_path, store_url, f"killed{attempt}", feeds)
        time.sleep(rng.uniform(2.0, 8.0))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    final = _run_process(site, tmp_path, store_url, "final", feeds)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err

    stories = _stories_in_store(store_url)
    articles = [url for urls in stories.values() for url in urls]
    assert sorted(articles) == sorted(set(articles)) and len(articles) == 8  # each article once
    assert len(stories) == 5  # the gazette copy joined the cable-car story
    assert open_store(store_url).stories.pending() == []
    # Every story reached a sink: the latest record of each, across all runs' files.
    written: dict[str, dict] = {}
    for output in [f"killed{i}" for i in range(3)] + ["final"]:
        folder = tmp_path / output / "stories"
        if folder.exists():
            written.update(latest_stories(tmp_path / output))
    assert set(written) == set(stories)
    for story_id, urls in stories.items():
        assert sorted(v["url"].rsplit("/", 1)[1] for v in written[story_id]["variants"]) == sorted(urls)
    # A further run over the same feeds finds nothing to do: the validators were committed.
    again = _run_process(site, tmp_path, store_url, "again", feeds)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert "0 new, 0 updated" in out


@pytest.mark.slow
def test_database_connections_cut_during_a_run_are_opened_again(site, tmp_path, postgres_url):
    """The server ends every connection of the store's database five times a second while a run
    goes on (as a restart or a failover would): the run reconnects, repeats the cut write
    transactions, and ends with everything filed and written, once."""
    import psycopg

    feeds = DEMO_FEEDS + ["feeds/gazette.rss"]
    database = postgres_url.rsplit("/", 1)[1]
    process = _run_process(site, tmp_path, postgres_url, "out", feeds, "--sink", "jsonl,postgres")
    cut, err = 0, None
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        while err is None:
            cut += sum(ended for (ended,) in admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()", (database,)))
            with contextlib.suppress(subprocess.TimeoutExpired):
                _, err = process.communicate(timeout=0.2)
    assert process.returncode == 0, err
    assert cut >= 3  # the run's connections were really cut, again and again

    stories = _stories_in_store(postgres_url)
    assert sum(len(urls) for urls in stories.values()) == 8 and len(stories) == 5
    assert open_store(postgres_url).stories.pending() == []
    written = latest_stories(tmp_path / "out")
    assert set(written) == set(stories)
    for story_id, urls in stories.items():
        assert sorted(v["url"].rsplit("/", 1)[1] for v in written[story_id]["variants"]) == sorted(urls)
    sink = open_store(postgres_url, migrate=False).db.read()
    assert sink.execute("SELECT COUNT(*) FROM newsbeam_variants").fetchone()[0] == 8


@pytest.mark.slow
def test_an_unreachable_database_is_a_one_line_error(tmp_path):
    feeds = write_feeds_file(tmp_path / "feeds.yaml", ["http://127.0.0.1:9/feed.rss"])
    result = subprocess.run(
        [sys.executable, "-m", "newsbeam", "run", "--feeds", str(feeds), "--output", str(tmp_path / "out"),
         "--store", "postgresql://nobody@127.0.0.1:9/nothing"], cwd=ROOT, capture_output=True, text=True,
        timeout=120)
    # an outage, not a mistake (exit 2): a scheduler can tell them apart, and the line names
    # the server, with no control characters from libpq's message
    assert result.returncode == 4
    lines = [line for line in result.stderr.splitlines() if line.strip() and "apitools" not in line]
    assert len(lines) == 1 and "cannot reach the PostgreSQL store at 127.0.0.1:9" in lines[0], result.stderr
    assert "\t" not in lines[0]


@pytest.mark.slow
def test_a_full_disk_fails_the_run_with_a_clear_error_and_the_next_run_recovers(site, tmp_path):
    """The output folder on a 1 MB filesystem that the run fills (a real tmpfs, when the test
    may mount one; the store stays on a roomy disk)."""
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(small)],
                             capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        (small / "filler").write_bytes(b"\0" * (1024 * 1024 - 8 * 1024))  # leave almost nothing
        feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + f for f in DEMO_FEEDS])
        store = f"sqlite:///{tmp_path / 'state.db'}"
        command = [sys.executable, "-m", "newsbeam", "run", "--feeds", str(feeds), "--output", str(small / "out"),
                   "--store", store, *RUN_ARGS]
        failed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert failed.returncode == 1, failed.stderr
        assert "newsbeam: the run failed" in failed.stderr and "Traceback" not in failed.stderr
        (small / "filler").unlink()
        recovered = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert recovered.returncode == 0, recovered.stderr
        assert len(latest_stories(small / "out")) == 5
    finally:
        subprocess.run(["umount", str(small)], capture_output=True)


def test_sink_tables_of_an_older_release_gain_the_variant_columns(tmp_path):
    """A database sink written before variants carried their own text gets the new columns on
    the next run, and keeps its rows."""
    import sqlite3

    from newsbeam.outputs.tables import SinkTables

    path = tmp_path / "stories.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE newsbeam_variants (story_id TEXT NOT NULL, url TEXT NOT NULL, title TEXT NOT NULL, "
                   "language TEXT, published TEXT, site_name TEXT, feed_url TEXT, relation TEXT NOT NULL, "
                   "PRIMARY KEY (story_id, url))")
        db.execute("INSERT INTO newsbeam_variants VALUES ('s_1', 'http://a/1', 'T', 'en', NULL, NULL, 'f', 'original')")
    SinkTables(str(path)).close()
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(newsbeam_variants)")}
        assert {"text", "authors", "body_source"} <= columns
        assert db.execute("SELECT COUNT(*) FROM newsbeam_variants").fetchone()[0] == 1


def test_a_connection_cut_inside_a_pipelined_transaction_runs_it_again(postgres_url):
    """Writes in a pipeline fail only when their results are read or the pipeline ends: a cut
    there is still a lost connection, and the whole transaction runs again on a new one."""
    import psycopg

    store = open_store(postgres_url)
    attempts = []

    def work(tx):
        attempts.append(tx.raw.info.backend_pid)
        with tx.pipeline():
            tx.execute("INSERT INTO meta (key, value) VALUES ('probe', ?) "
                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(len(attempts)),))
            if len(attempts) == 1:  # the server ends the connection before the results are read
                with psycopg.connect(postgres_url, autocommit=True) as admin:
                    admin.execute("SELECT pg_terminate_backend(%s)", (attempts[0],))
            return tx.execute("SELECT value FROM meta WHERE key = 'probe'").fetchone()[0]

    assert store.db.run_in_transaction(work) == "2"
    assert len(attempts) == 2 and attempts[0] != attempts[1]
    assert store.meta("probe") == "2"
