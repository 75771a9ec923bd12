"""Reading the feeds file: YAML and OPML, and the one-line errors for mistakes."""

from __future__ import annotations

import pytest

from newsbeam.pipeline.config import ConfigError, load_feeds

OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Subscriptions exported from a feed reader</title></head>
  <body>
    <outline text="Local news" title="Local news">
      <outline type="rss" text="Lindenau Herald" xmlUrl="https://herald.example/rss" language="en-GB"/>
      <outline type="rss" text="Lindenauer Kurier" xmlUrl="https://kurier.example/feed"/>
    </outline>
    <outline type="rss" text="Northern Wire" xmlUrl="https://wire.example/atom"/>
  </body>
</opml>
"""


def test_yaml_feeds_with_all_fields(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: https://a.example/rss\n    name: A\n    language: DE\n    tags: [x, y]\n"
                    "  - https://b.example/atom\n")
    config = load_feeds(path)
    assert [f.url for f in config.feeds] == ["https://a.example/rss", "https://b.example/atom"]
    assert config.feeds[0].language == "de" and config.feeds[0].tags == ("x", "y") and config.feeds[0].name == "A"
    assert config.serve_dir is None


def test_bare_list_and_local_file_feed(tmp_path):
    (tmp_path / "local.xml").write_text("<rss/>")
    path = tmp_path / "feeds.yaml"
    path.write_text("- url: local.xml\n")
    (feed,) = load_feeds(path).feeds
    assert feed.url == (tmp_path / "local.xml").as_uri()


def test_opml_subscription_list(tmp_path):
    path = tmp_path / "subscriptions.opml"
    path.write_text(OPML)
    feeds = load_feeds(path).feeds
    assert [(f.name, f.url, f.language, f.tags) for f in feeds] == [
        ("Lindenau Herald", "https://herald.example/rss", "en", ("Local news",)),
        ("Lindenauer Kurier", "https://kurier.example/feed", None, ("Local news",)),
        ("Northern Wire", "https://wire.example/atom", None, ()),
    ]


@pytest.mark.parametrize("name, content, message", [
    ("feeds.yaml", "feeds:\n  - url: ftp://a.example/x\n", "feed entry 1: unsupported URL scheme 'ftp'"),
    ("feeds.yaml", "feeds:\n  - url: https://a.example/x\n    colour: red\n", "feed entry 1: unknown key(s): colour"),
    ("feeds.yaml", "feeds:\n  - url: https://a\n  - url: https://a\n", "feed entry 2: duplicate url"),
    ("feeds.yaml", "feeds:\n  - url: https://a\n    language: german\n", "two-letter code"),
    ("feeds.yaml", "feeds:\n  - url: https://a\n    fetch_pages: sometimes\n", "must be one of: auto, always"),
    ("feeds.yaml", "feeds:\n  - url: missing.xml\n", "local feed file"),
    ("feeds.yaml", "feeds:\n  - url: 42\n", "feed entry 1: 'url' must be text (a URL or a path), not int 42"),
    ("feeds.yaml", "feeds:\n  - url:\n", "feed entry 1: 'url' is missing or empty"),
    ("feeds.yaml", "serve: nowhere\nfeeds:\n  - url: x.xml\n", "serve: folder"),
    ("feeds.opml", "<opml><body><outline text='x'/></body></opml>", "lists no feeds"),
    ("feeds.opml", "<opml><body><outline></body></opml>", "line 1: invalid OPML"),
])
def test_mistakes_name_the_file_and_the_entry(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ConfigError) as error:
        load_feeds(path)
    assert message in str(error.value) and str(path) in str(error.value)
    assert "\n" not in str(error.value)
