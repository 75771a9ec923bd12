"""`newsbeam dedup` and `newsbeam errors` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from newsbeam.extraction.text import normalize_text
from newsbeam.pipeline.cli import main
from tests.conftest import DEMO_SITE, POLL_S, RUN_ARGS, SiteServer, write_feeds_file
from tests.test_matching import PAGES


def page_text(path) -> tuple[str, str]:
    import trafilatura

    document = trafilatura.bare_extraction(path.read_bytes(), with_metadata=True)
    return document.title, normalize_text(document.text)


@pytest.fixture(scope="module")
def corpus_lines():
    lines = []
    for name in ("de_original", "en_translation_a", "en_translation_b", "same_event_other_reporter",
                 "unrelated_de", "unrelated_en"):
        title, text = page_text(PAGES[name])
        lines.append(json.dumps({"id": name, "title": title, "text": text}, ensure_ascii=False))
    return lines


def test_dedup_groups_variants_into_stories(tmp_path, corpus_lines):
    source = tmp_path / "articles.jsonl"
    source.write_text("\n".join(corpus_lines) + "\n", encoding="utf-8")
    target = tmp_path / "ids.jsonl"
    assert main(["dedup", str(source), "-o", str(target)]) == 0
    rows = {r["id"]: r for r in map(json.loads, target.read_text().splitlines())}
    assert set(rows) == {json.loads(line)["id"] for line in corpus_lines}
    story = {name: row["story_id"] for name, row in rows.items()}
    assert story["de_original"] == story["en_translation_a"] == story["en_translation_b"]
    assert len(set(story.values())) == 4
    assert rows["same_event_other_reporter"]["event_id"] == rows["de_original"]["event_id"]
    assert rows["unrelated_de"]["event_id"] != rows["de_original"]["event_id"]


def test_dedup_reads_stdin_and_writes_stdout(corpus_lines):
    result = subprocess.run([sys.executable, "-m", "newsbeam", "dedup", "-"], input="\n".join(corpus_lines[:2]),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    first, second = map(json.loads, result.stdout.splitlines())
    assert first["story_id"] == second["story_id"]


def test_dedup_with_a_store_keeps_ids_across_calls(tmp_path, corpus_lines):
    store = f"sqlite:///{tmp_path / 'dedup.db'}"
    (tmp_path / "one.jsonl").write_text(corpus_lines[0] + "\n", encoding="utf-8")
    (tmp_path / "two.jsonl").write_text(corpus_lines[1] + "\n", encoding="utf-8")
    for name in ("one", "two"):
        assert main(["dedup", str(tmp_path / f"{name}.jsonl"), "-o", str(tmp_path / f"{name}.out"),
                     "--store", store]) == 0
    one, two = (json.loads((tmp_path / f"{n}.out").read_text()) for n in ("one", "two"))
    assert one["story_id"] == two["story_id"]


@pytest.mark.parametrize("content, message", [
    ('{"id": 1, "text": "a"}\nnot json\n', "line 2: invalid JSON"),
    ('{"title": "no id"}\n', "line 1: expected an object with an 'id'"),
    ('{"id": 1}\n{"id": 1}\n', "line 2: duplicate id 1"),
])
def test_dedup_input_mistakes_exit_2(tmp_path, capsys, content, message):
    source = tmp_path / "bad.jsonl"
    source.write_text(content)
    assert main(["dedup", str(source)]) == 2
    assert message in capsys.readouterr().err


def test_errors_lists_dead_letters(tmp_path, capsys):
    server = SiteServer(DEMO_SITE)
    import threading

    threading.Thread(target=server.serve_forever, args=(POLL_S,), daemon=True).start()
    try:
        feeds = write_feeds_file(tmp_path / "feeds.yaml", [server.base_url + "feeds/missing.rss"])
        assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *RUN_ARGS]) == 3  # failing
    finally:
        server.shutdown()
        server.server_close()
    capsys.readouterr()
    assert main(["errors", "--output", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "feed_fetch" in out and "HTTP 404" in out and "1 dead letter(s)" in out
    assert main(["errors", "--output", str(tmp_path / "elsewhere")]) == 2


def test_progress_lines_come_from_the_store_while_a_run_goes_on(tmp_path, capsys, monkeypatch):
    from newsbeam.pipeline.progress import Progress
    from newsbeam.schemas import utc_now
    from newsbeam.state.store import open_store

    store = open_store(str(tmp_path / "state.db"))
    since = "2000-01-01T00:00:00+00:00"
    err = ""
    with Progress(str(tmp_path / "state.db"), since, feeds=3, terminal=False, interval_s=0.2):
        store.feeds.fetched("http://f/1", None)
        store.stories.create_story("s_1", "e_1", "http://a/1", utc_now(), "run")
        deadline = time.monotonic() + 60
        while "stories 1 new" not in err and time.monotonic() < deadline:  # the next line shows them
            err += capsys.readouterr().err
            time.sleep(0.05)
    line = [line for line in err.splitlines() if "stories 1 new" in line][0]
    assert "feeds 1/3 fetched" in line and "failures 0" in line


# --- extract ------------------------------------------------------------------------------------------
def test_extract_writes_what_a_variant_would_carry_and_names_pages_without_an_article(tmp_path):
    from tests.conftest import FIXTURES

    pages = [{"id": "next", "url": "https://news.example/next",
              "html": (FIXTURES / "pages" / "nextjs-article.html").read_text()},
             {"id": 7, "url": "https://news.example/kurier", "title": "Seilbahn beschlossen",
              "published": "2026-11-20T09:00:00+01:00", "authors": ["Greta Lindqvist"],
              "html": (DEMO_SITE / "kurier" / "seilbahn-beschlossen.html").read_text()},
             {"id": "empty", "url": "https://news.example/empty", "html": "<html><body><p>Hi</p></body></html>"}]
    source = tmp_path / "pages.jsonl"
    source.write_text("".join(json.dumps(p) + "\n" for p in pages), encoding="utf-8")
    assert main(["extract", str(source), "-o", str(tmp_path / "out.jsonl"), "--encoder", "hashing"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["next", "7", "empty"]
    assert rows[0]["body_source"] == "page_script" and rows[0]["site_name"] == "Coastal Courier"
    # what a story variant carries from its page, all of it
    assert list(rows[1]) == ["id", "url", "title", "text", "language", "authors", "published", "site_name",
                             "body_source", "credits", "kicker", "published_date_only", "extractor", "canonical_url",
                             "modified", "section", "free", "image", "image_caption", "image_credit", "tags"]
    assert rows[1]["language"] == "de" and rows[1]["published"] == "2026-11-20T08:00:00+00:00"
    assert rows[2] == {"id": "empty", "url": "https://news.example/empty",
                       "error": "no article body found on the page: empty"}


@pytest.mark.parametrize("options, extractor", [((), "fundus:Tagesschau"), (("--no-publisher-parsers",), "generic")])
def test_extract_reads_a_covered_publishers_page_by_its_parser_unless_told_not_to(tmp_path, options, extractor):
    from tests.conftest import FIXTURES

    page = {"id": "ts", "url": "https://www.tagesschau.de/inland/lindenau-seilbahn-100.html",
            "fetched": "2026-11-20T13:30:00+01:00",
            "html": (FIXTURES / "pages" / "broadcaster-article.html").read_text()}
    (tmp_path / "in.jsonl").write_text(json.dumps(page) + "\n", encoding="utf-8")
    assert main(["extract", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl"), "--encoder", "hashing",
                 *options]) == 0
    (row,) = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert row["extractor"] == extractor and row["authors"] == ["Jana Beispiel"]
    assert row["published"] == "2026-11-20T12:05:00+00:00" and row["modified"] == "2026-11-20T14:40:00+00:00"


@pytest.mark.parametrize("line, message", [
    ('{"id": 1, "url": "https://x.example/"}', "'html' is missing"),
    ('{"id": 1, "url": "https://x.example/", "html": "<p>x</p>", "authors": "A"}', "'authors' must be a list"),
    ('{"id": 1, "url": "https://x.example/", "html": "<p>x</p>", "published": "soon"}', "'published' is not"),
    ('{"id": 1, "url": "https://x.example/", "html": "<p>x</p>", "fetched": "yesterday"}', "'fetched' is not"),
    ("not json", "invalid JSON"),
])
def test_extract_names_a_malformed_line_and_writes_nothing(tmp_path, capsys, line, message):
    good = json.dumps({"id": 0, "url": "https://x.example/0", "html": "<p>fine</p>"})
    (tmp_path / "in.jsonl").write_text(good + "\n" + line + "\n", encoding="utf-8")
    assert main(["extract", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl"), "--encoder", "hashing"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "line 2" in err[0] and message in err[0]
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("flags, message", [
    (["--windw-days", "3"], "unknown option --windw-days (did you mean --window-days?)"),
    (["--prnue"], "unknown option --prnue (did you mean --prune?)"),
    (["--max-faild-share", "0.5"], "unknown option --max-faild-share (did you mean --max-failed-share?)"),
    (["--window-days", "abc"], "argument --window-days"),
    # captures where nothing here can write (a scheme no filesystem of Beam's reads)
    (["--captures", "nosuch://bucket/captures"], "--captures nosuch://bucket/captures: no filesystem for nosuch://"),
])
def test_a_mistyped_run_option_stops_the_run_in_one_line(tmp_path, capsys, flags, message):
    """Beam only logs what it cannot parse, and runs on: a mistyped --prune in a crontab would
    never be noticed. Every mistake is one line and exit 2, before anything is fetched."""
    feeds = write_feeds_file(tmp_path / "feeds.yaml", ["http://127.0.0.1:9/feed.rss"])
    try:
        code = main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *flags])
    except SystemExit as exc:  # a value argparse refuses ends the program there
        code = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and message in err[0], err
    assert not (tmp_path / "out").exists()


def test_a_store_in_a_folder_that_does_not_exist_is_a_mistake_not_a_new_store(tmp_path, capsys):
    feeds = write_feeds_file(tmp_path / "feeds.yaml", ["http://127.0.0.1:9/feed.rss"])
    store = f"sqlite:///{tmp_path / 'var' / 'lib' / 'newsbem' / 'state.db'}"
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), "--store", store]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not exist (create it first)" in err[0]
    assert not (tmp_path / "var").exists()


def test_each_run_option_default_is_the_librarys_own():
    """The command line's defaults and help come from the libraries' settings objects: a
    default is written once, where the library declares it."""
    import dataclasses

    from newsbeam.extraction.settings import ExtractSettings
    from newsbeam.fetching.settings import FetchSettings
    from newsbeam.matching.settings import MatchSettings
    from newsbeam.pipeline.cli import _parser
    from newsbeam.schemas.settings import command_line_fields, from_command_line

    args = _parser().parse_args(["run", "--output", "out"])
    offered = 0
    for kind in (FetchSettings, ExtractSettings, MatchSettings):
        assert from_command_line(kind, args) == kind()
        for field in command_line_fields(kind):
            offered += 1
            assert getattr(args, field.name) == field.default, field.name
    assert offered >= 8
    changed = _parser().parse_args(["run", "--output", "out", "--per-host-delay", "2.5", "--window-days", "3",
                                    "--no-publisher-parsers"])
    assert from_command_line(FetchSettings, changed) == dataclasses.replace(FetchSettings(), per_host_delay_s=2.5)
    assert from_command_line(MatchSettings, changed).window_days == 3.0
    assert from_command_line(ExtractSettings, changed).publisher_parsers is False
