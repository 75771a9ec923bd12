"""newsbeam as a library: one import package, the one-call Python API, and the transforms a
Beam user composes in a pipeline of their own."""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import zipfile

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

import newsbeam
from newsbeam.schemas import Article, FeedEntry, FetchedPage
from newsbeam.transforms.plain import ExtractPageArticles, FetchArticlePages, ReadFeedEntries
from tests.conftest import BEAM_ARGS, DEMO_SITE, ROOT, read_jsonl, serving

KURIER = DEMO_SITE / "kurier" / "seilbahn-beschlossen.html"


# --- One import package ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory) -> pathlib.Path:
    """A wheel built from this checkout, unpacked into a folder of its own (its dependencies
    come from the test's environment)."""
    where = tmp_path_factory.mktemp("wheel")
    work = ROOT / "build"  # setuptools' own work folder, in the checkout: left as it was found
    had_work = work.exists()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(where / "dist"), str(ROOT)], check=True, cwd=where, capture_output=True)
    if not had_work:
        shutil.rmtree(work, ignore_errors=True)
    (wheel,) = (where / "dist").glob("newsbeam-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(where / "site"),
                    str(wheel)], check=True, capture_output=True)
    return where


@pytest.mark.slow
def test_a_wheel_holds_only_the_newsbeam_package(installed_wheel):
    (wheel,) = (installed_wheel / "dist").glob("newsbeam-*.whl")
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"newsbeam"}
    installed = {path.name for path in (installed_wheel / "site").iterdir()} - {"bin"}
    assert {name for name in installed if not name.endswith(".dist-info")} == {"newsbeam"}
    assert (installed_wheel / "site" / "newsbeam" / "schemas" / "story.schema.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize("install", ["wheel", "editable"])
def test_a_users_own_pipeline_and_schemas_do_not_change_what_newsbeam_imports(installed_wheel, tmp_path, install):
    """A user's folder with its own `pipeline/`, `schemas.py` and `transforms.py` beside their
    script: newsbeam still imports its own, and `python -m newsbeam` is newsbeam's CLI."""
    (tmp_path / "pipeline").mkdir()
    (tmp_path / "pipeline" / "__init__.py").write_text("raise SystemExit('the user pipeline ran')\n")
    (tmp_path / "pipeline" / "__main__.py").write_text("raise SystemExit('the user pipeline ran')\n")
    (tmp_path / "schemas.py").write_text("raise ImportError('the user schemas')\n")
    (tmp_path / "transforms.py").write_text("raise ImportError('the user transforms')\n")
    env = {**os.environ, "PYTHONPATH": str(installed_wheel / "site") if install == "wheel" else ""}
    script = ("from newsbeam.transforms.feeds import ReadFeeds\nimport newsbeam.pipeline.cli, newsbeam.schemas\n"
              "print(newsbeam.schemas.__file__)")
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    expected = installed_wheel / "site" if install == "wheel" else ROOT
    assert pathlib.Path(result.stdout.strip()).is_relative_to(expected)
    cli = subprocess.run([sys.executable, "-m", "newsbeam", "--help"], cwd=tmp_path, env=env, capture_output=True,
                         text=True)
    assert cli.returncode == 0 and cli.stdout.startswith("usage: newsbeam"), cli.stderr[-2000:]


def test_importing_a_library_of_newsbeam_loads_neither_beam_nor_the_api():
    script = ("import sys, newsbeam, newsbeam.fetching.client\n"
              "print(sorted(m for m in ('apache_beam', 'trafilatura', 'newsbeam.api') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]"


# --- The Python API ---------------------------------------------------------------------------------
def test_extract_gives_the_article_of_a_page_as_the_extract_command_does(tmp_path):
    html = KURIER.read_bytes()
    article = newsbeam.extract(html, "https://kurier.example/seilbahn-beschlossen.html")
    assert isinstance(article, Article)
    assert article.title == "Lindenau baut eine Seilbahn über den Fluss"
    assert article.authors == ("Greta Lindqvist",) and article.language == "de"
    assert newsbeam.extract(html.decode("utf-8"), article.url) == article  # text or bytes

    pages = tmp_path / "pages.jsonl"
    pages.write_text(json.dumps({"id": "1", "url": article.url, "html": html.decode("utf-8")}) + "\n")
    subprocess.run([sys.executable, "-m", "newsbeam", "extract", str(pages), "-o", str(tmp_path / "out.jsonl")],
                   check=True, capture_output=True)
    (line,) = read_lines(tmp_path / "out.jsonl")
    assert (line["title"], line["text"], line["published"]) == (article.title, article.text, article.published)


def test_extract_takes_what_a_feed_said_and_returns_none_without_an_article():
    feed = {"published": "2026-11-20T08:30:00+01:00", "language": "de"}
    article = newsbeam.extract(KURIER.read_bytes(), "https://kurier.example/a.html", feed_entry=feed)
    assert article.published == "2026-11-20T08:00:00+00:00"  # the page's own time comes first
    undated = re.sub(rb'<meta property="article:published_time"[^>]*>|<time [^>]*>', b"", KURIER.read_bytes())
    assert newsbeam.extract(undated, "https://kurier.example/a.html", feed_entry=feed).published == (
        "2026-11-20T07:30:00+00:00")
    assert newsbeam.extract(b"<html><body><p>Please log in.</p></body></html>", "https://x.example/") is None


def demo_articles() -> list[Article]:
    pages = sorted(DEMO_SITE.glob("*/*.html"))
    return [a for a in (newsbeam.extract(p.read_bytes(), f"https://demo.example/{p.name}") for p in pages) if a]


def test_dedup_files_translations_under_one_story_and_remembers_them_in_a_store(tmp_path):
    articles = demo_articles()
    store = f"sqlite:///{tmp_path / 'state.db'}"
    assignments = newsbeam.dedup(articles, store=store)
    assert [a.id for a in assignments] == [a.url for a in articles]
    by_url = {a.id: a for a in assignments}
    cable = {by_url[f"https://demo.example/{name}.html"].story_id
             for name in ("seilbahn-beschlossen", "lindenau-approves-cable-car", "cable-car-across-the-river")}
    assert len(cable) == 1 and len({a.story_id for a in assignments}) == 5
    east_bank = by_url["https://demo.example/east-bank-divided-over-cable-car.html"]
    cable_event = by_url["https://demo.example/seilbahn-beschlossen.html"].event_id
    assert east_bank.story_id not in cable and east_bank.event_id == cable_event  # another report, one event

    again = newsbeam.dedup([{"id": "copy", "title": articles[0].title, "text": articles[0].text}], store=store)
    assert again[0].story_id == by_url[articles[0].url].story_id  # matched against the store's stories
    with newsbeam.open_store(store) as opened:
        story = opened.story(again[0].story_id)
        assert story is not None and "id:copy" in {v.url for v in story.variants}
        assert [s.story_id for s in opened.find_stories(words="seilbahn", language="de")] == [story.story_id]
        assert opened.find_stories(site="nowhere.example") == []
        assert {s.story_id for s in opened.event(story.event_id)} >= {story.story_id}
        assert opened.failures() == []


def test_dedup_needs_an_id_for_each_dict():
    with pytest.raises(ValueError, match="needs an 'id'"):
        newsbeam.dedup([{"title": "t", "text": "x"}], encoder="hashing")


def read_lines(path: pathlib.Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_the_readmes_python_examples_run_as_written(tmp_path):
    """Each ```python block of the README, in a folder laid out as the repository's root after
    the quick start (the demo's pages, an out/ folder)."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert len(blocks) >= 3
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    (tmp_path / "out").mkdir()
    for block in blocks:
        result = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True)
        assert result.returncode == 0, f"{block}\n{result.stderr[-2000:]}"
        for expected in re.findall(r"^# (.+)$", block, re.M):
            printed = expected.split(":")[0]  # what the comment says the block prints
            assert printed in result.stdout, (printed, result.stdout)


# --- Transforms a Beam user composes -------------------------------------------------------------------
def test_extract_page_articles_takes_plain_dicts_in_a_users_pipeline():
    html = KURIER.read_text()
    with TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
        titles = (pipeline
                  | beam.Create([{"url": "https://kurier.example/a.html", "html": html},
                                 {"url": "https://kurier.example/empty.html", "html": "<html></html>"}])
                  | ExtractPageArticles()
                  | beam.Map(lambda article: (article.url, article.title)))
        assert_that(titles, equal_to([("https://kurier.example/a.html", "Lindenau baut eine Seilbahn über den Fluss")]))


def test_read_feed_entries_and_fetch_article_pages_each_work_alone(tmp_path):
    store = str(tmp_path / "state.db")  # not there yet: the transforms create it
    with serving(DEMO_SITE) as server:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
            entries = (pipeline | beam.Create([f"{base}/feeds/kurier.rss"])
                       | ReadFeedEntries(store, allow_private_network=True, per_host_delay_s=0.0))
            assert_that(entries | beam.Map(lambda e: (type(e), e.title)), equal_to([
                (FeedEntry, "Lindenau baut eine Seilbahn über den Fluss"),
                (FeedEntry, "Stadtbibliothek öffnet künftig auch sonntags")]))
        with TestPipeline(argv=list(BEAM_ARGS)) as pipeline:
            pages = (pipeline | beam.Create([f"{base}/kurier/seilbahn-beschlossen.html", f"{base}/missing.html"])
                     | FetchArticlePages(store, allow_private_network=True, per_host_delay_s=0.0))
            assert_that(pages | beam.Map(lambda p: (type(p), p.url, len(p.html) > 1000)),
                        equal_to([(FetchedPage, f"{base}/kurier/seilbahn-beschlossen.html", True)]))
    with newsbeam.open_store(store) as opened:
        (letter,) = opened.failures()  # the page that failed is kept for a retry
        assert (letter.url, letter.stage, letter.status) == (f"{base}/missing.html", "page_fetch", 404)


@pytest.mark.slow
def test_the_example_pipeline_of_a_user_runs_on_the_local_runner(tmp_path, capsys):
    """As the README runs it: German stories only; it says what it wrote; run again, it fetches
    no feed and no page again, not even those its own rule left out (the English ones)."""
    spec = importlib.util.spec_from_file_location("own_pipeline", ROOT / "examples" / "own_pipeline" / "pipeline.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    with serving(DEMO_SITE) as server:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        args = ["--feed", f"{base}/feeds/kurier.rss", "--feed", f"{base}/feeds/herald.rss",
                "--feed", f"{base}/feeds/wire.atom", "--store", str(tmp_path / "state.db"), "--output", str(tmp_path),
                "--language", "de", "--allow-private-network", *BEAM_ARGS]
        example.main(args)
        assert "2 stories written" in capsys.readouterr().out
        first = len(server.requests)
        example.main(args)
        again = [path for path, _ in server.requests[first:]]
    assert not [path for path in again if path.endswith(".html")]  # no page, kept or left out, again
    assert len(again) == 3  # each feed asked once, conditionally
    stories = read_jsonl(tmp_path / "stories")
    assert len(stories) == len({s["story_id"] for s in stories}) == 2  # each story once; the German ones only
    cable = next(s for s in stories if "Seilbahn" in s["title"])
    assert cable["languages"] == ["de"] and len(cable["variants"]) == 1


def test_dedup_without_a_store_opens_no_database(tmp_path):
    """Without a store, articles are matched in memory: no SQLite file is opened (Python's
    audit events name every sqlite3.connect), none is left behind."""
    probe = ("import sys\n"
             "opened = []\n"
             "sys.addaudithook(lambda event, args: opened.append(args) if event == 'sqlite3.connect' else None)\n"
             "import newsbeam\n"
             "text = 'Lindenau approves a cable car across the river. The council voted 31 to 12 on Monday.'\n"
             "found = newsbeam.dedup([{'id': 'a', 'title': 'Cable car', 'text': text},\n"
             "                        {'id': 'b', 'title': 'Cable car', 'text': text}], encoder='hashing')\n"
             "assert found[0].story_id == found[1].story_id, found\n"
             "print(len(opened))\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "TMPDIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "0" and list(tmp_path.iterdir()) == []


def test_extract_loads_the_encoder_only_for_a_page_that_needs_it():
    """The encoder judges lines under a headline that may restate it in other words; a page
    whose body starts with a sentence never needs it, and a call does not load it."""
    from newsbeam import api

    body = "".join(f"<p>The council met on Monday and voted on item {n} of the agenda, as planned.</p>"
                   for n in range(8))
    html = f"<html><head><title>Council votes</title></head><body><h1>Council votes</h1>{body}</body></html>"
    api._encoder.cache_clear()  # what other tests of this process loaded
    article = newsbeam.extract(html, "https://news.example/council", encoder="hashing")
    assert article is not None and article.title == "Council votes"
    assert api._encoder.cache_info().currsize == 0
