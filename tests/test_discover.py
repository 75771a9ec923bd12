"""Feeds found from a site's address (`newsbeam feeds discover`, `site:` in the feeds file), and
a feed that moved, through the run's own guarded fetcher on the test's local sites."""

from __future__ import annotations

import json

from newsbeam.fetching.addresses import AddressPolicy
from newsbeam.fetching.client import HttpClient
from newsbeam.pipeline.cli import main
from newsbeam.pipeline.config import load_feeds
from newsbeam.sources.discover import discover
from tests.conftest import RUN_ARGS, latest_stories

NEWS_SITEMAP = ("<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9' "
                "xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'><url><loc>{base}kurier/"
                "seilbahn-beschlossen.html</loc><news:news><news:title>Seilbahn</news:title></news:news></url>"
                "</urlset>")


def test_discover_finds_the_feeds_a_page_declares_and_the_sitemaps_robots_txt_names(site):
    base = site.base_url
    (site.folder / "portal.html").write_text(
        "<html><head><title>Portal</title>"
        "<link rel='alternate' type='application/rss+xml' href='/feeds/kurier.rss'>"
        "<link rel='alternate' type='application/atom+xml' href='/feeds/wire.atom'>"
        "<link rel='alternate' type='application/rss+xml' href='/feeds/gone.rss'>"  # declared, but no feed
        "</head><body>Portal</body></html>")
    (site.folder / "robots.txt").write_text(f"User-agent: *\nAllow: /\nSitemap: {base}news-sitemap.xml\n")
    (site.folder / "news-sitemap.xml").write_text(NEWS_SITEMAP.format(base=base))
    http = HttpClient(AddressPolicy(opened=[base]))
    try:
        found = discover(base + "portal.html", http)
    finally:
        http.close()
    assert [(item.url.removeprefix(base), item.kind, item.how) for item in found] == [
        ("feeds/kurier.rss", "feed", "declared"), ("feeds/wire.atom", "feed", "declared"),
        ("news-sitemap.xml", "news sitemap", "robots.txt")]


def test_a_site_that_declares_nothing_is_tried_at_the_usual_paths(site):
    (site.folder / "blog").mkdir()
    (site.folder / "blog" / "index.html").write_text("<html><head><title>Blog</title></head><body>Hi</body></html>")
    (site.folder / "blog" / "feed.xml").write_bytes((site.folder / "feeds" / "herald.rss").read_bytes())
    http = HttpClient(AddressPolicy(opened=[site.base_url]))
    try:
        found = discover(site.base_url + "blog/", http)
    finally:
        http.close()
    assert [(item.url.rsplit("/", 2)[-2:], item.how, item.title) for item in found] == [
        (["blog", "feed.xml"], "common path", "Lindenau Herald")]


def test_feeds_discover_prints_a_feeds_file_of_the_demo_sites_feeds(site, capsys, tmp_path):
    assert main(["feeds", "discover", site.base_url, "--allow-private-network", "--per-host-delay", "0"]) == 0
    printed = capsys.readouterr().out
    (tmp_path / "found.yaml").write_text(printed)
    urls = [feed.url.removeprefix(site.base_url) for feed in load_feeds(tmp_path / "found.yaml").feeds]
    assert urls == ["feeds/kurier.rss", "feeds/herald.rss", "feeds/wire.atom"]
    assert main(["feeds", "discover", site.base_url + "nothing-here/", "--allow-private-network"]) == 3


def test_a_site_in_the_feeds_file_is_read_through_its_feeds_and_a_moved_feed_is_followed(site, tmp_path):
    site.routes["/old-herald.rss"] = lambda h: h.send_body(
        301, b"", headers={"Location": site.base_url + "feeds/herald.rss"})
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - site: {site.base_url}\n    tags: [lindenau]\n"
                     f"  - url: {site.base_url}old-herald.rss\n")
    out = tmp_path / "out"
    assert main(["run", "--feeds", str(feeds), "--output", str(out), *RUN_ARGS]) == 0
    stories = latest_stories(out)
    assert {story["language"] for story in stories.values()} == {"de", "en"} and len(stories) >= 5
    summary = json.loads(next(out.glob("summary-*.json")).read_text())
    assert summary["feeds"] == 4 and summary["feeds_moved"] == 1
