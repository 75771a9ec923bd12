"""`newsbeam serve` as its users meet it: a real server process over a store a real run filled
(SQLite and PostgreSQL), its API read with a real HTTP client, its pages in headless Chromium."""

from __future__ import annotations

import base64
import json
import os
import pathlib
import re
import subprocess
import sys
from collections.abc import Iterator

import jsonschema
import pytest
import requests

from newsbeam.pipeline.cli import main
from newsbeam.schemas import load_json_schema
from tests.conftest import ROOT, RUN_ARGS, write_feeds_file
from tests.test_report_browser import DEMO_FEEDS, EVIL_FEED, browser  # noqa: F401 (the fixture)

EXIT_UNHEALTHY = 3


class Served:
    def __init__(self, process: subprocess.Popen, base: str, store: str):
        self.process, self.base, self.store = process, base, store

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.base + path, timeout=30, **kwargs)


def start_server(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """`newsbeam serve ARGS --port 0`, and the address it says it listens on."""
    process = subprocess.Popen([sys.executable, "-m", "newsbeam", "serve", *args, "--port", "0"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **(env or {})})
    line = process.stdout.readline()
    found = re.search(r"(http://[\d.]+:\d+/)", line)
    if not found:
        process.kill()
        raise AssertionError(f"serve did not start: {line!r} {process.stderr.read()[-2000:]}")
    return process, found.group(1).rstrip("/")


def fill_store(site, tmp_path: pathlib.Path, store_url: str | None) -> list[str]:
    """A run over the demo feeds, a feed whose pages fail and a feed with a hostile title."""
    site.routes["/evil.atom"] = lambda h: h.send_body(200, EVIL_FEED.format(base=site.base_url).encode(),
                                                      "application/atom+xml")
    feeds = write_feeds_file(tmp_path / "feeds.yaml", [site.base_url + f for f in
                                                       [*DEMO_FEEDS, "feeds/dead-links.rss", "evil.atom"]])
    store = ["--store", store_url] if store_url else []
    assert main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *store, *RUN_ARGS]) in (
        0, EXIT_UNHEALTHY)
    return store or ["--output", str(tmp_path / "out")]


@pytest.fixture(params=["sqlite", "postgres"])
def served(request, site, tmp_path) -> Iterator[Served]:
    store_url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    where = fill_store(site, tmp_path, store_url)
    process, base = start_server(*where)
    try:
        yield Served(process, base, where[1])
    finally:
        process.terminate()
        process.wait(timeout=30)


def cli_json(*args: str, capsys) -> list[dict]:
    capsys.readouterr()
    assert main(list(args)) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_the_api_gives_the_stores_records_page_by_page(served, capsys):
    where = ["--store", served.store] if "://" in served.store else ["--output", served.store]
    listed = cli_json("stories", "list", *where, "--json", capsys=capsys)
    story_schema, letter_schema = load_json_schema("story"), load_json_schema("dead_letter")

    # every story, two a page, in the order `stories list` gives, each a record of the schema
    pages, cursor = [], None
    while True:
        answer = served.get("/api/stories", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
        body = answer.json()
        pages.append(body["stories"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert [s for page in pages for s in page] == listed and len(pages) == -(-len(listed) // 2)
    for story in listed:
        jsonschema.validate(story, story_schema)

    cable_car = next(s for s in listed if s["title"] == "Lindenau baut eine Seilbahn über den Fluss")
    assert served.get(f"/api/stories/{cable_car['story_id']}").json() == cable_car
    event = served.get(f"/api/events/{cable_car['event_id']}").json()
    assert event["event_id"] == cable_car["event_id"] and len(event["stories"]) == 2
    missing = served.get("/api/stories/s_nothing")
    assert missing.status_code == 404 and "no story s_nothing" in missing.json()["detail"]

    # the filters of `stories list`
    for params, args in (({"q": "seilbahn"}, ["--query", "seilbahn"]), ({"language": "de"}, ["--language", "de"]),
                         ({"site": "127.0.0.1"}, ["--site", "127.0.0.1"]), ({"since": "1h"}, ["--since", "1h"])):
        expected = cli_json("stories", "list", *where, "--json", *args, capsys=capsys)
        assert served.get("/api/stories", params=params).json()["stories"] == expected, params
    assert {s["title"] for s in served.get("/api/stories", params={"q": "Seilbahn"}).json()["stories"]} == {
        "Lindenau baut eine Seilbahn über den Fluss"}
    for bad in ({"cursor": "not-ours"}, {"since": "yesterday-ish"}, {"q": "w " * 40}):
        answer = served.get("/api/stories", params=bad)
        assert answer.status_code == 400 and answer.json()["detail"], bad
    assert served.get("/api/stories", params={"limit": 100_000}).status_code == 422

    # feed health counts each feed's failing pages; dead letters are the schema's records
    feeds = {f["url"]: f for f in served.get("/api/feeds").json()["feeds"]}
    dead_links = next(f for url, f in feeds.items() if url.endswith("feeds/dead-links.rss"))
    assert dead_links["failures"] == 0 and dead_links["page_failures"] == 2
    letters, cursor = [], None
    while True:
        body = served.get("/api/dead-letters", params={"limit": 1, **({"cursor": cursor} if cursor else {})}).json()
        letters += body["dead_letters"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(letters) == len({(letter["url"], letter["stage"]) for letter in letters}) >= 3
    for letter in letters:
        jsonschema.validate(letter, letter_schema)

    # described for the programs downstream
    described = served.get("/openapi.json").json()
    assert {"/api/stories", "/api/stories/{story_id}", "/api/events/{event_id}", "/api/feeds",
            "/api/dead-letters", "/metrics"} <= set(described["paths"])
    assert described["components"]["schemas"]["Story"]["properties"] == story_schema["properties"]


def test_metrics_are_prometheus_text_with_the_last_run_and_each_feed(served):
    from prometheus_client.parser import text_string_to_metric_families

    answer = served.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    families = {family.name: family for family in text_string_to_metric_families(answer.text)}
    assert all(name.startswith("newsbeam_") for name in families)
    counts = {s.labels["name"]: s.value for s in families["newsbeam_last_run_count"].samples}
    assert counts["feeds_fetched"] == 5 and counts["articles_extracted"] == 7
    page_failures = {s.labels["feed"]: s.value for s in families["newsbeam_feed_page_failures"].samples}
    assert [value for feed, value in page_failures.items() if feed.endswith("dead-links.rss")] == [2.0]
    assert families["newsbeam_stories"].samples[0].value >= 5
    assert families["newsbeam_last_run_healthy"].samples[0].value == 1.0


def test_the_server_never_writes_the_store(site, tmp_path, postgres_url):
    """Opened read-only: SQLite's file does not change while it serves, and a PostgreSQL
    session of the server refuses a write."""
    import psycopg

    from newsbeam.state.store import open_store

    fill_store(site, tmp_path, None)
    database = tmp_path / "out" / "state.db"
    before = database.read_bytes()
    process, base = start_server("--output", str(tmp_path / "out"))
    try:
        for path in ("/", "/feeds", "/api/stories", "/api/feeds", "/api/dead-letters", "/metrics"):
            assert requests.get(base + path, timeout=30).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert database.read_bytes() == before
    with open_store(str(database), read_only=True) as store:
        with pytest.raises(Exception, match="readonly|read-only"):
            store.set_meta("x", "y")
    with open_store(postgres_url) as store:  # migrated
        pass
    with open_store(postgres_url, read_only=True) as store:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            store.set_meta("x", "y")


def test_beyond_this_machine_only_with_a_token_which_every_request_gives(site, tmp_path, capsys):
    where = fill_store(site, tmp_path, None)
    capsys.readouterr()
    assert main(["serve", *where, "--host", "0.0.0.0"]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0  # one line
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n")
    process, base = start_server(*where, "--token-file", str(token_file))
    try:
        refused = requests.get(base + "/api/stories", timeout=30)
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
        assert requests.get(base + "/", timeout=30, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert requests.get(base + "/api/stories", timeout=30,
                            headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
        basic = base64.b64encode(b"reader:s3cret-token").decode()
        answer = requests.get(base + "/metrics", timeout=30, headers={"Authorization": f"Basic {basic}"})
        assert answer.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
    process, base = start_server(*where, "--host", "0.0.0.0", env={"NEWSBEAM_SERVE_TOKEN": "from-the-environment"})
    try:
        assert requests.get(base.replace("0.0.0.0", "127.0.0.1") + "/api/feeds", timeout=30,
                            headers={"Authorization": "Bearer from-the-environment"}).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.browser
def test_the_pages_in_a_browser_list_filter_and_show_stories_side_by_side(served, browser):  # noqa: F811
    from selenium.common.exceptions import NoAlertPresentException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    def follow(element) -> None:
        """Click, and wait for the next page: its address, and its document loaded. (Waiting for
        the old page's element to go stale races with ChromeDriver, which may answer "Node with
        given id does not belong to the document" for it in the middle of the navigation.)"""
        before = browser.current_url
        element.click()
        WebDriverWait(browser, 30, ignored_exceptions=[WebDriverException]).until(
            lambda b: b.current_url != before and b.execute_script("return document.readyState") == "complete")

    browser.get(served.base + "/?limit=2")
    assert len(browser.find_elements(By.CSS_SELECTOR, "details.story")) == 2
    follow(browser.find_element(By.CSS_SELECTOR, "a[rel=next]"))  # the next page, by the cursor
    assert "cursor=" in browser.current_url
    assert len(browser.find_elements(By.CSS_SELECTOR, "details.story")) == 2

    browser.get(served.base + "/")  # the filter form, without a script
    field = browser.find_element(By.CSS_SELECTOR, "input[name=q]")
    field.send_keys("Seilbahn")
    follow(browser.find_element(By.CSS_SELECTOR, "form button"))
    titles = [story.find_element(By.TAG_NAME, "summary").text
              for story in browser.find_elements(By.CSS_SELECTOR, "details.story")]
    assert len(titles) == 1 and titles[0].startswith("Lindenau baut eine Seilbahn")
    follow(browser.find_element(By.PARTIAL_LINK_TEXT, "story s_"))

    variants = browser.find_elements(By.CSS_SELECTOR, ".variant")
    assert len(variants) == 3 and all(v.is_displayed() for v in variants)
    assert len({round(v.rect["y"]) for v in variants}) == 1  # side by side
    originals = [a.get_attribute("href") for a in browser.find_elements(By.LINK_TEXT, "original")]
    # the page's own address for itself, on the site that served it
    assert any(href.endswith("/kurier/seilbahn-beschlossen.html") for href in originals), originals
    follow(browser.find_element(By.LINK_TEXT, "its event"))
    assert "One event, 2 stories" in browser.find_element(By.TAG_NAME, "h1").text

    browser.get(served.base + "/feeds")
    table = browser.find_element(By.TAG_NAME, "table")
    assert "<script>alert(1)</script>" in table.text  # a feed's own title, as text
    failing = [row.text for row in table.find_elements(By.CSS_SELECTOR, "tr.failing")]
    assert any("Unlucky Times" in row for row in failing)
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 (nothing ran: there is no alert)
    assert browser.execute_script("return document.scripts.length") == 0
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
