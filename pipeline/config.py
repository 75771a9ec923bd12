"""Reading the user's feeds file: YAML or OPML.

Any mistake raises ConfigError with a one-line message naming the file and the line or entry;
the CLI turns it into exit code 2.

YAML form::

    serve: site            # optional: serve this folder on 127.0.0.1 while the run lasts
    serve_port: 8737       # optional: the port for it
    rules:                 # optional, for every feed: keep and block rules (sources.rules)
      - block: {title: "(?i)horoscope|sponsored"}
    feeds:
      - url: https://example.org/rss
        name: Example
        language: en
        tags: [politics]
        fetch_pages: auto    # or always: fetch pages even when the feed carries whole articles
        rules:               # optional, for this feed
          - keep: {language: [de, en]}
        every: 30m           # optional: at most one poll of this feed every 30 minutes
        window: 2d           # optional: this feed's own story window (the run's is --window-days)
        # optional, sent to the feed's own host only (its feed and its pages):
        user_agent: "..."
        headers: {Accept-Language: de}
        cookies: {consent: "yes"}
        auth: {basic: {user: reader, password_file: /run/secrets/example}}  # or password_env;
                             # or bearer: {token_file: ...} / {token_env: ...}
      - url: feeds/local.xml   # a path: relative to `serve` if given, else a local file

A bare list of feeds (without the `feeds:` key) is accepted too.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import pathlib
import re
import sys
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import yaml

from newsbeam.fetching.client import FetchError
from newsbeam.outputs.webhooks import Webhook
from newsbeam.schemas import ArchiveSource, FeedSource, utc_iso
from newsbeam.sources.discover import Found
from newsbeam.sources.rules import Rule, RuleError, RuleSet, parse_age, parse_rules
from newsbeam.transforms.options import SERVE_PORT

FEED_KEYS = {"url", "site", "name", "language", "tags", "fetch_pages", "rules", "user_agent", "headers", "cookies",
             "auth", "every", "window"}
FETCH_PAGES = ("auto", "always")
# A feeds file's entry that names a site, not a feed: its feeds are found at the run's start.
SITE = "site:"


class ConfigError(Exception):
    """A mistake in the user's configuration: reported in one line, exit code 2."""


@dataclasses.dataclass(frozen=True)
class FeedsConfig:
    feeds: tuple[FeedSource, ...]
    # Folder to serve over HTTP on 127.0.0.1 for the run (offline demos); feeds given as
    # relative paths are then served from it.
    serve_dir: pathlib.Path | None = None
    serve_port: int = SERVE_PORT
    archives: tuple[ArchiveSource, ...] = ()
    # Keep and block rules: for every feed, and each feed's own (by the feeds' order)
    rules: tuple[Rule, ...] = ()
    # Receivers of each new or changed story (outputs.webhooks)
    webhooks: tuple[Webhook, ...] = ()
    feed_rules: tuple[tuple[Rule, ...], ...] = ()

    def rule_set(self, feeds: tuple[FeedSource, ...], feed_rules: tuple[tuple[Rule, ...], ...]) -> RuleSet:
        """The rules, each feed's under its URL (`feeds`: the feeds with their URLs as the run
        fetches them, and `feed_rules` theirs, in their order)."""
        per_feed = feed_rules or ((),) * len(feeds)  # an OPML file has none
        by_feed = tuple((feed.url, rules) for feed, rules in zip(feeds, per_feed, strict=True) if rules)
        return RuleSet(self.rules, by_feed)


def load_feeds(path: str | pathlib.Path) -> FeedsConfig:
    path = pathlib.Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: feeds file not found")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read feeds file: {exc.strerror}") from None
    if path.suffix.lower() in (".opml", ".xml") or raw.lstrip().startswith(b"<"):
        return FeedsConfig(feeds=_load_opml(path, raw))
    return _load_yaml(path, raw)


class _FeedsLoader(yaml.SafeLoader):
    """YAML without aliases: a feeds file has no use for them, and nested aliases expand to
    gigabytes from a few hundred bytes."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise ConfigError(f"line {mark.line + 1}: YAML aliases (*name) are not allowed in a feeds file")
        return super().compose_node(parent, index)


def _load_yaml(path: pathlib.Path, raw: bytes) -> FeedsConfig:
    try:
        doc = yaml.load(raw, Loader=_FeedsLoader)  # noqa: S506 (a SafeLoader)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: the YAML is nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}:{where}: invalid YAML: {problem}") from None
    serve_dir, serve_port, archives, rules, webhooks = None, SERVE_PORT, (), (), ()
    if isinstance(doc, dict):
        unknown = set(doc) - {"feeds", "serve", "serve_port", "archives", "rules", "webhooks"}
        if unknown:
            raise ConfigError(f"{path}: unknown top-level key(s): {', '.join(sorted(unknown))}")
        if "serve" in doc:
            serve_dir = (path.parent / str(doc["serve"])).resolve()
            if not serve_dir.is_dir():
                raise ConfigError(f"{path}: serve: folder {serve_dir} does not exist")
        serve_port = doc.get("serve_port", SERVE_PORT)
        if isinstance(serve_port, bool) or not isinstance(serve_port, int) or not 1024 <= serve_port < 65536:
            raise ConfigError(f"{path}: serve_port must be a port number from 1024 to 65535")
        archives = _archives(path, doc.get("archives"))
        rules = _rules(doc.get("rules"), f"{path}: rules")
        webhooks = _webhooks(doc.get("webhooks"), f"{path}: webhooks")
        doc = doc.get("feeds", [] if archives else None)
    if not isinstance(doc, list) or (not doc and not archives):
        raise ConfigError(f"{path}: expected a non-empty list of feeds (each with a 'url'), or archives")
    feeds, feed_rules = [], []
    for number, item in enumerate(doc, start=1):
        if isinstance(item, str):
            item = {"url": item}
        if not isinstance(item, dict):
            raise ConfigError(f"{path}: feed entry {number}: expected a mapping with a 'url'")
        unknown = set(item) - FEED_KEYS
        if unknown:
            raise ConfigError(f"{path}: feed entry {number}: unknown key(s): {', '.join(sorted(unknown))}")
        url = item.get("url")
        site = item.get("site")
        if site is not None:  # its feeds are found when the run starts (resolve_sites)
            if url is not None or not isinstance(site, str) or not site.strip():
                raise ConfigError(f"{path}: feed entry {number}: give either 'url' (a feed) or 'site' (a site's "
                                  "address, whose feeds are found)")
            url = SITE + site.strip()
        if url is not None and not isinstance(url, str):
            raise ConfigError(f"{path}: feed entry {number}: 'url' must be text (a URL or a path), not "
                              f"{type(url).__name__} {url!r}"[:300])
        if not url or not url.strip():
            raise ConfigError(f"{path}: feed entry {number}: 'url' is missing or empty")
        tags = item.get("tags") or ()
        if isinstance(tags, str):  # "tags: local, politics" would be one tag of both words
            raise ConfigError(f"{path}: feed entry {number}: 'tags' must be a list: tags: [{tags}]")
        if not isinstance(tags, (list, tuple)) or not all(isinstance(t, str) for t in tags):
            raise ConfigError(f"{path}: feed entry {number}: 'tags' must be a list of strings")
        language = item.get("language")
        if language is not None and (not isinstance(language, str) or len(language) != 2):
            raise ConfigError(f"{path}: feed entry {number}: 'language' must be a two-letter code")
        fetch_pages = item.get("fetch_pages", "auto")
        if fetch_pages not in FETCH_PAGES:
            raise ConfigError(f"{path}: feed entry {number}: 'fetch_pages' must be one of: {', '.join(FETCH_PAGES)}")
        name = item.get("name")
        if name is not None and not isinstance(name, (str, int, float)):
            raise ConfigError(f"{path}: feed entry {number}: 'name' must be text")
        address = url.strip()
        feeds.append(FeedSource(
            url=SITE + _resolve_url(path, number, address[len(SITE):], serve_dir, site=True) if address.startswith(SITE)
            else _resolve_url(path, number, address, serve_dir),
            name=str(name) if name is not None else None,
            language=language.lower() if language else None,
            tags=tuple(tags),
            fetch_pages=fetch_pages,
            own_headers=_own_headers(item, f"{path}: feed entry {number}"),
            every_s=_age_s(item.get("every"), f"{path}: feed entry {number}", "every", "30m, 2h or 1d"),
            # a feed's own story window: how long its items' stories stay open
            window_days=_window_days(item.get("window"), f"{path}: feed entry {number}"),
        ))
        feed_rules.append(_rules(item.get("rules"), f"{path}: feed entry {number}"))
    return FeedsConfig(feeds=_unique(path, feeds), serve_dir=serve_dir, serve_port=serve_port, archives=archives,
                       rules=rules, feed_rules=tuple(feed_rules), webhooks=webhooks)


# A header's name (RFC 9110 token) and a value without line breaks.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")


def _own_headers(item: dict[str, Any], where: str) -> tuple[tuple[str, str], ...]:
    """A feed's own headers: `headers`, `user_agent`, `cookies` and `auth` (its secret read from
    a file or the environment, never from the feeds file). A mistake names the key, never a
    value: a value may be a secret."""
    raw = item.get("headers") or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: 'headers' must be a mapping of header names to values")
    headers = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise ConfigError(f"{where}: headers: {str(name)[:100]!r} is not a header name")
        headers[name] = _header_value(value, f"{where}: headers: {name}")
    if item.get("user_agent") is not None:
        headers["User-Agent"] = _header_value(item["user_agent"], f"{where}: user_agent")
    cookies = item.get("cookies") or {}
    if not isinstance(cookies, dict):
        raise ConfigError(f"{where}: 'cookies' must be a mapping of cookie names to values")
    if cookies:
        for name, value in cookies.items():
            if not isinstance(name, str) or not _HEADER_NAME.match(name) or ";" in str(value) or "," in str(value):
                raise ConfigError(f"{where}: cookies: {str(name)[:100]!r} is not a cookie newsbeam can send")
        headers["Cookie"] = "; ".join(f"{name}={_header_value(value, f'{where}: cookies: {name}')}"
                                      for name, value in cookies.items())
    if item.get("auth") is not None:
        headers["Authorization"] = _authorization(item["auth"], f"{where}: auth")
    return tuple(headers.items())


def _header_value(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or any(c in str(value) for c in "\r\n\0"):
        raise ConfigError(f"{where}: must be one line of text")
    return str(value)


def _authorization(raw: Any, where: str) -> str:
    """An Authorization header: HTTP Basic (user, and the password from a file or a variable)
    or a bearer token (from a file or a variable)."""
    if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in ("basic", "bearer"):
        raise ConfigError(f"{where}: expected basic: {{user, password_file or password_env}} or "
                          "bearer: {token_file or token_env}")
    kind, spec = next(iter(raw.items()))
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: {kind}: expected a mapping")
    secret_name = "password" if kind == "basic" else "token"
    if secret_name in spec:
        raise ConfigError(f"{where}: {kind}: the {secret_name} is not written in the feeds file: give "
                          f"{secret_name}_file (a file holding it) or {secret_name}_env (a variable holding it)")
    secret = _secret(spec, secret_name, f"{where}: {kind}")
    if kind == "bearer":
        return "Bearer " + _header_value(secret, f"{where}: bearer: the token")
    user = spec.get("user")
    if not isinstance(user, str) or not user or ":" in user:
        raise ConfigError(f"{where}: basic: 'user' must be a name without ':'")
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")


def _secret(spec: dict[str, Any], name: str, where: str) -> str:
    file, variable = spec.get(f"{name}_file"), spec.get(f"{name}_env")
    if (file is None) == (variable is None):
        raise ConfigError(f"{where}: give one of {name}_file and {name}_env")
    if file is not None:
        try:
            secret = pathlib.Path(str(file)).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{where}: {name}_file {file}: cannot read it ({getattr(exc, 'strerror', None) or exc})"
                              ) from None
    else:
        secret = os.environ.get(str(variable), "").strip()
        if not secret:
            raise ConfigError(f"{where}: {name}_env: the variable {variable} is not set")
    if not secret or any(c in secret for c in "\r\n\0"):
        raise ConfigError(f"{where}: the {name} must be one line")
    return secret


def _webhooks(raw: Any, where: str) -> tuple[Webhook, ...]:
    """The receivers: each a URL and its shared secret (from a file or the environment)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: must be a list, each with a 'url' and a secret_file or secret_env")
    hooks = []
    for number, item in enumerate(raw, start=1):
        here = f"{where}: webhook {number}"
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            raise ConfigError(f"{here}: expected a mapping with a 'url'")
        if "secret" in item:
            raise ConfigError(f"{here}: the secret is not written in the feeds file: give secret_file or secret_env")
        unknown = set(item) - {"url", "secret_file", "secret_env", "allow_private_network"}
        if unknown:
            raise ConfigError(f"{here}: unknown key(s): {', '.join(sorted(map(str, unknown)))}")
        url = item["url"].strip()
        if urllib.parse.urlsplit(url).scheme.lower() not in ("http", "https"):
            raise ConfigError(f"{here}: 'url' must be an http or https address")
        allow = item.get("allow_private_network", False)
        if not isinstance(allow, bool):
            raise ConfigError(f"{here}: 'allow_private_network' must be true or false")
        hooks.append(Webhook(url, _secret(item, "secret", here), allow))
    return tuple(hooks)


def _window_days(raw: Any, where: str) -> float | None:
    seconds = _age_s(raw, where, "window", "36h or 3d")
    return None if seconds is None else seconds / 86400


def _age_s(raw: Any, where: str, key: str, examples: str) -> float | None:
    """A feed entry's `every` or `window`: a length of time such as 30m, 36h or 3d, in seconds."""
    if raw is None:
        return None
    seconds = parse_age(raw)
    if not seconds:
        raise ConfigError(f"{where}: '{key}' must be a length of time such as {examples}")
    return seconds


def _rules(raw: Any, where: str) -> tuple[Rule, ...]:
    try:
        return parse_rules(raw, where)
    except RuleError as exc:
        raise ConfigError(str(exc)) from None


ARCHIVE_KEYS = {"warc", "hosts", "languages", "since"}


def _archives(path: pathlib.Path, items: Any) -> tuple[ArchiveSource, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise ConfigError(f"{path}: archives must be a list (each with a 'warc')")
    found = []
    for number, item in enumerate(items, start=1):
        where = f"{path}: archive {number}"
        if not isinstance(item, dict) or not isinstance(item.get("warc"), str) or not item["warc"].strip():
            raise ConfigError(f"{where}: expected a mapping with a 'warc' path, glob or URL")
        unknown = set(item) - ARCHIVE_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown key(s): {', '.join(sorted(unknown))}")
        lists = {}
        for key in ("hosts", "languages"):
            value = item.get(key) or []
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise ConfigError(f"{where}: '{key}' must be a list of strings")
            lists[key] = tuple(v.strip().lower() for v in value)
        if any(len(language) != 2 for language in lists["languages"]):
            raise ConfigError(f"{where}: 'languages' must be two-letter codes")
        since = item.get("since")
        if since is not None:
            since = utc_iso(since if isinstance(since, str) else str(since))
            if since is None:
                raise ConfigError(f"{where}: 'since' must be an ISO 8601 date")
        pattern = item["warc"].strip()
        scheme = urllib.parse.urlsplit(pattern).scheme
        if not scheme or len(scheme) == 1:  # a path: relative to the feeds file, as other paths are
            pattern = str((path.parent / pattern).resolve()) if not pathlib.Path(pattern).is_absolute() else pattern
        found.append(ArchiveSource(pattern, lists["hosts"], lists["languages"], since))
    return tuple(found)


def _load_opml(path: pathlib.Path, raw: bytes) -> tuple[FeedSource, ...]:
    try:
        root = ET.fromstring(raw)
    except RecursionError:
        raise ConfigError(f"{path}: the OPML is nested too deeply") from None
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else "?"
        raise ConfigError(f"{path}: line {line}: invalid OPML: {exc.msg if hasattr(exc, 'msg') else exc}") from None
    if root.tag.lower() != "opml":
        raise ConfigError(f"{path}: not an OPML document (root element is <{root.tag}>)")
    feeds = []

    def walk(node: ET.Element, tags: tuple[str, ...]) -> None:
        for outline in node.findall("outline"):
            url = outline.get("xmlUrl")
            label = outline.get("title") or outline.get("text")
            if url:
                language = outline.get("language")
                feeds.append(FeedSource(
                    url=_resolve_url(path, len(feeds) + 1, url.strip(), None),
                    name=label,
                    language=language[:2].lower() if language else None,
                    tags=tags,
                ))
            else:  # a folder of feeds: its title becomes a tag of the feeds inside it
                walk(outline, tags + ((label,) if label else ()))

    body = root.find("body")
    if body is None:
        raise ConfigError(f"{path}: OPML document has no <body>")
    try:
        walk(body, ())
    except RecursionError:
        raise ConfigError(f"{path}: the OPML is nested too deeply") from None
    if not feeds:
        raise ConfigError(f"{path}: OPML document lists no feeds (no outline with xmlUrl)")
    return _unique(path, feeds)


def _resolve_url(path: pathlib.Path, number: int, url: str, serve_dir: pathlib.Path | None,
                 site: bool = False) -> str:
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        return url
    if site and serve_dir is None:
        raise ConfigError(f"{path}: feed entry {number}: 'site' must be an http or https address")
    if scheme == "file":
        return url
    if scheme and len(scheme) > 1:  # "C:" style drive letters are paths, not schemes
        raise ConfigError(f"{path}: feed entry {number}: unsupported URL scheme '{scheme}' in {url}")
    if serve_dir is not None:
        return "served:" + url.lstrip("/")
    local = (path.parent / url).resolve()
    if not local.is_file():
        raise ConfigError(f"{path}: feed entry {number}: local feed file {local} does not exist")
    return local.as_uri()


def _unique(path: pathlib.Path, feeds: list[FeedSource]) -> tuple[FeedSource, ...]:
    seen: set[str] = set()
    for number, feed in enumerate(feeds, start=1):
        if feed.url in seen:
            raise ConfigError(f"{path}: feed entry {number}: duplicate url {feed.url}")
        seen.add(feed.url)
    return tuple(feeds)


def bind_served_urls(feeds: tuple[FeedSource, ...], base_url: str) -> tuple[FeedSource, ...]:
    """Point feeds (and sites) given relative to the `serve` folder at the server started for
    the run."""
    def bound(url: str) -> str:
        if url.startswith(SITE):
            return SITE + bound(url[len(SITE):])
        return urllib.parse.urljoin(base_url, url[len("served:"):]) if url.startswith("served:") else url

    return tuple(dataclasses.replace(f, url=bound(f.url)) for f in feeds)


def resolve_sites(feeds: tuple[FeedSource, ...], feed_rules: tuple[tuple[Rule, ...], ...],
                  find: Callable[[str], list[Found]]) -> tuple[tuple[FeedSource, ...], tuple[tuple[Rule, ...], ...]]:
    """Each `site:` entry replaced by the feeds `find(site)` finds there (sources.discover), with
    the entry's settings and rules; a site whose feeds cannot be found is left out of this run,
    with a line saying so (it is looked at again at the next)."""
    resolved, rules_of = [], []
    for feed, rules in zip(feeds, feed_rules or ((),) * len(feeds), strict=True):
        if not feed.url.startswith(SITE):
            resolved.append(feed)
            rules_of.append(rules)
            continue
        site = feed.url[len(SITE):]
        try:
            items = find(site)
            found = [item for item in items if item.kind == "feed"] or items  # feeds first, else sitemaps
        except FetchError as exc:
            found = []
            print(f"newsbeam: site {site}: cannot read it ({exc.reason}); its feeds are looked for again at the "
                  "next run", file=sys.stderr)
        for item in found:
            if item.url not in {f.url for f in resolved}:
                resolved.append(dataclasses.replace(feed, url=item.url, name=feed.name or item.title))
                rules_of.append(rules)
        if found:
            print(f"newsbeam: site {site}: reading {', '.join(item.url for item in found)}", file=sys.stderr)
    return tuple(resolved), tuple(rules_of)
