"""Per-feed settings from the feeds file: a user agent, headers, cookies and HTTP authentication
for feeds behind a login or a consent wall (their secret from a file or the environment), sent
to the feed's own host only and written nowhere; and a feed's own poll interval."""

from __future__ import annotations

import base64
import json
import pathlib

import pytest

from newsbeam.pipeline.cli import main
from newsbeam.pipeline.config import ConfigError, load_feeds
from tests.conftest import RUN_ARGS, latest_stories, serving

PASSWORD = "s3cret-horse-battery-1729"
TOKEN = "tok-9f8e7d6c5b4a"


def rss(base: str, *paths: str) -> bytes:
    items = "".join(f"<item><title>Item {n}</title><link>{base}{path}</link></item>" for n, path in enumerate(paths))
    return f"<rss version='2.0'><channel><title>T</title>{items}</channel></rss>".encode()


def test_feeds_behind_a_login_and_a_consent_wall_are_read_and_the_secrets_written_nowhere(site, tmp_path,
                                                                                          monkeypatch):
    base = site.base_url
    basic = "Basic " + base64.b64encode(f"reader:{PASSWORD}".encode()).decode()

    def guarded(expected_header: str, expected_value: str, body: bytes, content_type: str):
        def route(handler) -> None:
            if handler.headers.get(expected_header) != expected_value:
                handler.send_body(401, b"login first", headers={"WWW-Authenticate": 'Basic realm="feeds"'})
            else:
                handler.send_body(200, body, content_type)
        return route

    page = (site.folder / "kurier" / "seilbahn-beschlossen.html").read_bytes()
    site.routes["/members/feed.rss"] = guarded("Authorization", basic, rss(base, "members/story.html"),
                                               "application/rss+xml")
    site.routes["/members/story.html"] = guarded("Authorization", basic, page, "text/html; charset=utf-8")
    other = (site.folder / "wire" / "harbour-ferry-timetable.html").read_bytes()
    site.routes["/consent/feed.rss"] = guarded("Cookie", "consent=yes; region=eu", rss(base, "consent/story.html"),
                                               "application/rss+xml")
    site.routes["/consent/story.html"] = guarded("Cookie", "consent=yes; region=eu", other,
                                                 "text/html; charset=utf-8")
    (tmp_path / "password").write_text(PASSWORD + "\n")
    monkeypatch.setenv("NEWSBEAM_TEST_TOKEN", TOKEN)  # the bearer token of a third feed
    site.routes["/token/feed.rss"] = guarded("Authorization", f"Bearer {TOKEN}",
                                             rss(base, "kurier/stadtbibliothek-sonntag.html"), "application/rss+xml")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(
        "feeds:\n"
        f"  - url: {base}members/feed.rss\n"
        f"    auth: {{basic: {{user: reader, password_file: {tmp_path / 'password'}}}}}\n"
        "    user_agent: 'members-reader/1.0'\n"
        f"  - url: {base}consent/feed.rss\n"
        "    cookies: {consent: 'yes', region: eu}\n"
        f"  - url: {base}token/feed.rss\n"
        "    auth: {bearer: {token_env: NEWSBEAM_TEST_TOKEN}}\n")
    out = tmp_path / "out"
    assert main(["run", "--feeds", str(feeds), "--output", str(out), *RUN_ARGS]) == 0
    stories = latest_stories(out)
    assert sorted(story["language"] for story in stories.values()) == ["de", "de", "en"]
    agents = {headers.get("User-Agent") for path, headers in site.requests if path.startswith("/members/")}
    assert agents == {"members-reader/1.0"}

    # the secrets are in no file newsbeam wrote (stories, summaries, dead letters, the store)
    written = [path for path in out.rglob("*") if path.is_file()]
    assert any(path.name == "state.db" for path in written)
    for path in written:
        data = path.read_bytes()
        for secret in (PASSWORD, TOKEN, base64.b64encode(f"reader:{PASSWORD}".encode()).decode()):
            assert secret.encode() not in data, path


def test_a_feeds_credentials_stay_on_its_host(tmp_path):
    """A redirect (or a sitemap, or a page) on another host gets none of the feed's headers."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with serving(tmp_path / "a", "127.0.0.2") as home, serving(tmp_path / "b", "127.0.0.3") as elsewhere:
        elsewhere.routes["/feed.rss"] = lambda h: h.send_body(200, rss(elsewhere.base_url), "application/rss+xml")
        home.routes["/feed.rss"] = lambda h: h.send_body(302, b"",
                                                         headers={"Location": elsewhere.base_url + "feed.rss"})
        (tmp_path / "password").write_text(PASSWORD)
        feeds = tmp_path / "feeds.yaml"
        feeds.write_text(f"feeds:\n  - url: {home.base_url}feed.rss\n"
                         f"    auth: {{basic: {{user: reader, password_file: {tmp_path / 'password'}}}}}\n"
                         "    cookies: {session: abc}\n")
        main(["run", "--feeds", str(feeds), "--output", str(tmp_path / "out"), *RUN_ARGS])
    (at_home,) = [headers for path, headers in home.requests if path == "/feed.rss"]
    assert "Authorization" in at_home and "Cookie" in at_home
    (away,) = [headers for path, headers in elsewhere.requests if path == "/feed.rss"]
    assert "Authorization" not in away and "Cookie" not in away


@pytest.mark.parametrize("entry, message", [
    ("auth: {basic: {user: reader, password: hunter2}}", "is not written in the feeds file"),
    ("auth: {basic: {user: reader, password_env: NEWSBEAM_NO_SUCH_VARIABLE}}", "NEWSBEAM_NO_SUCH_VARIABLE is not set"),
    ("auth: {basic: {user: reader, password_file: /nonexistent/secret}}", "cannot read it"),
    ("auth: {digest: {user: reader}}", "expected basic:"),
    ("headers: {'Bad Header': x}", "is not a header name"),
    ("headers: {X-Token: \"a\\nb\"}", "must be one line of text"),
    ("every: often", "'every' must be a length of time"),
    ("window: soon", "'window' must be a length of time"),
])
def test_a_mistake_in_a_feeds_settings_is_one_line_that_shows_no_secret(tmp_path, entry, message):
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - url: https://news.example/feed.rss\n    {entry}\n")
    with pytest.raises(ConfigError, match=message) as caught:
        load_feeds(feeds)
    assert "hunter2" not in str(caught.value) and "\n" not in str(caught.value)


def test_a_feeds_own_poll_interval_defers_its_next_poll(site, tmp_path):
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - url: {site.base_url}feeds/herald.rss\n    every: 2h\n")
    (source,) = load_feeds(feeds).feeds
    assert source.every_s == 7200 and PASSWORD not in repr(source)
    out = tmp_path / "out"
    main(["run", "--feeds", str(feeds), "--output", str(out), *RUN_ARGS])
    main(["run", "--feeds", str(feeds), "--output", str(out), *RUN_ARGS])
    second = json.loads(sorted(pathlib.Path(out).glob("summary-*.json"))[-1].read_text())
    assert second["feeds_not_due"] == 1
