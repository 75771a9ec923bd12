"""`newsbeam serve`: what came in, live, for the people who read it and the programs downstream.

    /                   the stories, newest first, with the filters of `stories list`
    /stories/{id}       one story, its variants side by side
    /events/{id}        the stories of one event
    /feeds              feed health, with each feed's dead letters
    /api/...            the same as JSON records (schemas/*.schema.json), paginated by a cursor
    /openapi.json       the API's description
    /metrics            the last run's counts and each feed's health, in Prometheus's text format

The pages are the report's (reading.report): everything from other people's servers is
escaped, no script runs. The server only reads: a SQLite store is opened read-only, a
PostgreSQL session refuses writes. It listens on 127.0.0.1; on any other address only with a
token, which every request then gives (`Authorization: Bearer TOKEN`, or as the password of
HTTP Basic authentication, which a browser asks for by itself).

The web framework (FastAPI on uvicorn) and the metrics library load only when the server
starts: every other command stays quick to start. (No `from __future__ import annotations`
here: FastAPI reads the handlers' annotations, which name classes imported in create_app.)
"""

import argparse
import base64
import binascii
import hmac
import ipaddress
import json
import os
import socket
import urllib.parse
from collections.abc import Iterator
from typing import Any

from newsbeam.reading.browse import DEFAULT_LIMIT, MAX_QUERY_CHARS, MAX_QUERY_WORDS
from newsbeam.reading.report import POLICY as REPORT_POLICY
from newsbeam.reading.report import feed_table, history_html, html_page, link, story_html, text
from newsbeam.reading.where import CliError, since
from newsbeam.schemas import DeadLetter, Story, load_json_schema, parse_time
from newsbeam.state.database import redact
from newsbeam.state.store import Store

TOKEN_VARIABLE = "NEWSBEAM_SERVE_TOKEN"
DEFAULT_PORT = 8080
MAX_PAGE = 500  # records per page of the API and of the story listing
# The report's policy (no script, nothing from elsewhere), but the filter form may be sent here.
POLICY = REPORT_POLICY.replace("form-action 'none'", "form-action 'self'")
HTML_HEADERS = {"Content-Security-Policy": POLICY + "; frame-ancestors 'none'", "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer"}
NAVIGATION = ('<nav class="muted"><a href="/">stories</a> · <a href="/feeds">feeds and dead letters</a> · '
              '<a href="/api/stories">JSON</a> · <a href="/openapi.json">OpenAPI</a> · <a href="/metrics">metrics</a>'
              '</nav>')


# How long a connection may take to send a request's headers, and stay idle between requests:
# a client that opens a socket and says nothing holds a file descriptor until then.
HEADER_TIMEOUT_S = 10
IDLE_TIMEOUT_S = 5
# Open connections at most (fewer when the process may open fewer files): past it, the oldest
# connection still waiting for its request's headers is closed, so idle sockets can never use up
# the descriptors an authorised request needs (systemd's default limit is 1,024).
MAX_CONNECTIONS = 256
MAX_CURSOR_CHARS = 1000
BACKLOG = 64  # connections the kernel holds until the server takes them


def listen_address(host: str) -> str:
    """The address to listen on for --host: an IP address as given; a name resolved, and when it
    names this machine only (localhost), its loopback address. A name that resolves to any other
    address is refused: the server would listen beyond this machine while believing it did not."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except OSError as exc:
        raise CliError(f"serve --host {host}: cannot resolve it: {exc.strerror or exc}") from None
    if not all(ipaddress.ip_address(address.split("%")[0]).is_loopback for address in found):
        raise CliError(f"serve --host {host}: the name resolves to {', '.join(sorted(found))}: give the address "
                       "to listen on")
    return "127.0.0.1" if "127.0.0.1" in found else sorted(found)[0]


def is_loopback(address: str) -> bool:
    return ipaddress.ip_address(address).is_loopback


def url_host(address: str) -> str:
    """An address as a URL writes it: IPv6 in brackets."""
    return f"[{address}]" if ":" in address else address


def host_header_name(value: str) -> str:
    """The host a Host header names, without its port, lower-case ("[::1]:8080" -> "::1")."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    return value.rpartition(":")[0] if value.count(":") == 1 else value


class AllowedHosts:
    """ASGI middleware: only requests whose Host header names the server itself (the address it
    listens on; on loopback also localhost and the other loopback spellings; and the names the
    user allows). A page of another name that resolves here (DNS rebinding) gets 421."""

    def __init__(self, app: Any, address: str, names: list[str]):
        self.app = app
        listening = ipaddress.ip_address(address)
        self.names = {name.strip().lower() for name in names}
        if listening.is_loopback:
            self.names.add("localhost")
        elif listening.is_unspecified:  # every address of this machine: its own names too
            self.names |= {"localhost", socket.gethostname().lower(), socket.getfqdn().lower()}
        self.listening = listening

    def allows(self, host: str) -> bool:
        """An address is no rebinding (a browser's origin is then the address itself), but only
        one the server listens on; a name only when it is this machine's or the user's."""
        try:
            given = ipaddress.ip_address(host)
        except ValueError:
            return host in self.names
        if self.listening.is_unspecified:
            return True
        return given == self.listening or (self.listening.is_loopback and given.is_loopback)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            host = next((value.decode("latin-1") for name, value in scope["headers"] if name == b"host"), "")
            if not self.allows(host_header_name(host)):
                body = b"this server does not answer for that host name\n"
                await send({"type": "http.response.start", "status": 421,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def guarded_protocol() -> type:
    """uvicorn's HTTP/1.1 protocol with a deadline for each request's headers and a cap on
    open connections (uvicorn keeps a connection that never sends a byte for ever)."""
    import resource

    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    soft_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    cap = MAX_CONNECTIONS
    if soft_limit != resource.RLIM_INFINITY:
        # asyncio accepts a backlog of sockets before the first of them reaches the protocol,
        # and a connection closed to make room frees its descriptor a moment later: room for
        # that beside the files the process has open now and the few the server opens later
        open_now = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 64
        cap = max(8, min(MAX_CONNECTIONS, soft_limit - open_now - 4 * BACKLOG - 32))

    class GuardedH11Protocol(H11Protocol):
        def connection_made(self, transport: Any) -> None:
            if len(self.connections) >= cap:
                waiting = [c for c in self.connections if getattr(c, "header_deadline", None) is not None]
                if not waiting:
                    transport.close()  # every connection is busy with a request: no room
                    return
                min(waiting, key=lambda c: c.opened)._too_slow()  # no longer waiting: not chosen again
            super().connection_made(transport)
            self.opened = self.loop.time()
            self.header_deadline = self.loop.call_later(HEADER_TIMEOUT_S, self._too_slow)
            self.waiting_for = self.cycle

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.header_deadline is not None and self.cycle is not self.waiting_for:
                self.header_deadline.cancel()  # a request's headers came in time
                self.header_deadline = None

        def on_response_complete(self) -> None:
            super().on_response_complete()
            # waiting for the next request (not already busy with one the client pipelined): its
            # headers are due in time too
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                self.header_deadline = self.loop.call_later(HEADER_TIMEOUT_S, self._too_slow)
                self.waiting_for = self.cycle

        def connection_lost(self, exc: Exception | None) -> None:
            if getattr(self, "header_deadline", None) is not None:
                self.header_deadline.cancel()
                self.header_deadline = None
            super().connection_lost(exc)

        def _too_slow(self) -> None:
            if self.header_deadline is not None:
                self.header_deadline.cancel()
                self.header_deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return GuardedH11Protocol


# --- cursors -----------------------------------------------------------------------------------------
def encode_cursor(*key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, size: int) -> tuple[str, ...]:
    """The key a cursor holds; ValueError for anything but one of ours."""
    if len(cursor) > MAX_CURSOR_CHARS:
        raise ValueError("not a cursor this server gave")
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, RecursionError) as exc:
        raise ValueError("not a cursor this server gave") from exc
    if not (isinstance(key, list) and len(key) == size and all(isinstance(part, str) for part in key)):
        raise ValueError("not a cursor this server gave")
    return tuple(key)


# --- what the pages and the API read -----------------------------------------------------------------
class Listing:
    """One page of stories as `stories list` filters them, and the cursor of the next."""

    def __init__(self, store: Store, *, since_text: str | None, language: str | None, site: str | None,
                 query: str | None, event: str | None, limit: int, cursor: str | None):
        words = (query or "").split()
        if len(query or "") > MAX_QUERY_CHARS or len(words) > MAX_QUERY_WORDS:
            raise ValueError(f"q: at most {MAX_QUERY_WORDS} words and {MAX_QUERY_CHARS} characters")
        try:
            changed_since = since(since_text or None)  # a form sends its empty fields too
        except CliError as exc:
            raise ValueError(str(exc)) from None
        after = decode_cursor(cursor, 2) if cursor else None
        found = store.find_stories(since=changed_since, language=language or None, site=site or None, words=words,
                                   event=event or None, limit=limit + 1, after=after)
        self.stories: list[Story] = found[:limit]
        last = self.stories[-1] if self.stories else None
        self.next_cursor = encode_cursor(last.updated, last.story_id) if last and len(found) > limit else None


def letters_page(store: Store, limit: int, cursor: str | None) -> tuple[list[DeadLetter], str | None]:
    after = decode_cursor(cursor, 3) if cursor else None
    found = store.dead_letters.page(limit + 1, after)
    letters = found[:limit]
    last = letters[-1] if letters else None
    return letters, (encode_cursor(last.at, last.url, last.stage) if last and len(found) > limit else None)


# --- pages ---------------------------------------------------------------------------------------------
def _page(title: str, body: str) -> str:
    return html_page(title, body, POLICY)


def _story_href(story: Story) -> str:
    return "/stories/" + urllib.parse.quote(story.story_id, safe="")


def stories_page(listing: Listing, filters: dict[str, str]) -> str:
    fields = "".join(
        f'<label>{label} <input name="{name}" value="{text(filters.get(name) or "")}" size="{size}"></label> '
        for name, label, size in (("q", "words", 24), ("language", "language", 4), ("site", "site", 18),
                                  ("since", "since", 8), ("event", "event", 18)))
    form = f'<form method="get" action="/">{fields}<button type="submit">filter</button></form>'
    items = "".join(story_html(story, open_variants=False, href=_story_href(story)) for story in listing.stories)
    more = ""
    if listing.next_cursor:
        query = urllib.parse.urlencode({**{k: v for k, v in filters.items() if v}, "cursor": listing.next_cursor})
        more = f'<p><a href="/?{text(query)}" rel="next">older stories</a></p>'
    return _page("newsbeam: stories", f"""{NAVIGATION}<h1>Stories, newest first</h1>{form}
{items or "<p class='muted'>No story matches.</p>"}{more}""")


def story_page(story: Story, revisions: list[dict[str, Any]]) -> str:
    event = f'<a href="/events/{text(urllib.parse.quote(story.event_id, safe=""))}">its event</a>'
    return _page(f"newsbeam: {story.title}", f"""{NAVIGATION}<h1>{text(story.title)}</h1>
<p class="muted">story {text(story.story_id)} · {len(story.variants)} variants · {event} · \
{link(story.variants[0].link, "original")}</p>{story_html(story, open_variants=True)}{history_html(revisions)}""")


def event_page(event_id: str, stories: list[Story]) -> str:
    items = "".join(story_html(story, open_variants=True, href=_story_href(story)) for story in stories)
    return _page("newsbeam: event", f"""{NAVIGATION}<h1>One event, {len(stories)} \
stor{"y" if len(stories) == 1 else "ies"}</h1><p class="muted">event {text(event_id)}</p>{items}""")


def feeds_page(feeds: list[dict[str, Any]], letters: list[DeadLetter]) -> str:
    return _page("newsbeam: feeds", f"""{NAVIGATION}<h1>Feed health</h1>
<p class="muted">{len(feeds)} feeds; {len(letters)} dead letters waiting.</p>{feed_table(feeds, letters)}""")


def missing_page(what: str) -> str:
    return _page("newsbeam: not found", f"{NAVIGATION}<h1>Not found</h1><p>{text(what)}</p>")


# --- metrics ---------------------------------------------------------------------------------------------
class StoreCollector:
    """The Prometheus metrics, read from the store at each scrape."""

    def __init__(self, store: Store):
        self.store = store

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        run = self.store.runs.latest_summary()
        if run is not None:
            summary = run["summary"]
            finished = GaugeMetricFamily("newsbeam_last_run_finished_timestamp_seconds",
                                         "When the last run finished (Unix time).")
            finished.add_metric([], parse_time(run["finished"]).timestamp())
            yield finished
            healthy = GaugeMetricFamily("newsbeam_last_run_healthy", "1 when the last run's health was ok, else 0.")
            healthy.add_metric([], 1.0 if summary.get("health") == "ok" else 0.0)
            yield healthy
            seconds = GaugeMetricFamily("newsbeam_last_run_duration_seconds", "How long the last run took.")
            seconds.add_metric([], float(summary.get("seconds") or 0))
            yield seconds
            counts = GaugeMetricFamily("newsbeam_last_run_count", "The last run's counts, by name (as its summary).",
                                       labels=["name"])
            for name, value in sorted(summary.items()):
                if isinstance(value, int) and not isinstance(value, bool):
                    counts.add_metric([name], float(value))
            yield counts
        feeds = self.store.feed_health()
        families = {
            "failures": GaugeMetricFamily("newsbeam_feed_failures", "The feed's fetches failed in a row.",
                                          labels=["feed"]),
            "page_failures": GaugeMetricFamily("newsbeam_feed_page_failures",
                                               "The feed's pages waiting as dead letters.", labels=["feed"]),
            "last_fetched": GaugeMetricFamily("newsbeam_feed_last_fetched_timestamp_seconds",
                                              "When the feed was last fetched (Unix time).", labels=["feed"]),
        }
        for feed in feeds:
            families["failures"].add_metric([feed["url"]], float(feed["failures"]))
            families["page_failures"].add_metric([feed["url"]], float(feed["page_failures"]))
            if feed["last_fetched"]:
                families["last_fetched"].add_metric([feed["url"]], parse_time(feed["last_fetched"]).timestamp())
        yield from families.values()
        totals = self.store.totals()
        for name, help_text in (("stories", "Stories in the store."), ("articles", "Articles in the store."),
                                ("dead_letters", "Dead letters waiting.")):
            family = GaugeMetricFamily(f"newsbeam_{name}", help_text)
            family.add_metric([], float(totals[name]))
            yield family


# --- the application ---------------------------------------------------------------------------------------
def _schema_component(name: str) -> dict[str, Any]:
    schema = dict(load_json_schema(name))
    schema.pop("$schema", None)
    schema.pop("$id", None)
    return schema


def create_app(store: Store, token: str | None = None) -> Any:
    """The web view and API over an open store (its reads only). With a token, every request
    must give it."""
    from fastapi import Depends, FastAPI, HTTPException, Query, Request
    from fastapi.openapi.utils import get_openapi
    from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.exposition import CONTENT_TYPE_LATEST

    def authorized(request: Request) -> None:
        if token is None:
            return
        kind, _, given = request.headers.get("authorization", "").partition(" ")
        if kind.lower() == "basic":
            try:
                given = base64.b64decode(given, validate=True).decode("utf-8").partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                given = ""
        elif kind.lower() != "bearer":
            given = ""
        if not hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
            raise HTTPException(401, "a token is needed (Authorization: Bearer TOKEN)",
                                headers={"WWW-Authenticate": 'Basic realm="newsbeam", charset="UTF-8"'})

    # No openapi_url: FastAPI's own route for it would answer without the token; ours below
    # is a route like the others.
    app = FastAPI(title="newsbeam", version="1", dependencies=[Depends(authorized)], docs_url=None,
                  redoc_url=None, openapi_url=None,
                  summary="The stories, events, feeds and dead letters of a newsbeam store, read-only.")
    registry = CollectorRegistry(auto_describe=True)
    registry.register(StoreCollector(store))

    def html(body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(body, status_code=status, headers=HTML_HEADERS)

    def listing(since_text: str | None, language: str | None, site: str | None, q: str | None,
                event: str | None, limit: int, cursor: str | None) -> Listing:
        try:
            return Listing(store, since_text=since_text, language=language, site=site, query=q, event=event,
                           limit=limit, cursor=cursor)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None

    filters = {"since": Query(None, description="changed since: a time ago (24h, 7d) or an ISO 8601 date"),
               "language": Query(None, description="a variant in this language (two letters)"),
               "site": Query(None, description="a variant from this host or its subdomains, or this site name"),
               "q": Query(None, description="words, each whole in some variant's title or text"),
               "event": Query(None, description="stories of this event"),
               "limit": Query(DEFAULT_LIMIT, ge=1, le=MAX_PAGE),
               "cursor": Query(None, description="next_cursor of the previous page")}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def stories_view(since: str | None = filters["since"], language: str | None = filters["language"],
                     site: str | None = filters["site"], q: str | None = filters["q"],
                     event: str | None = filters["event"], limit: int = filters["limit"],
                     cursor: str | None = filters["cursor"]) -> HTMLResponse:
        try:
            found = listing(since, language, site, q, event, limit, cursor)
        except HTTPException as exc:
            return html(_page("newsbeam: not understood", f"{NAVIGATION}<h1>Not understood</h1>"
                                                          f"<p>{text(exc.detail)}</p>"), exc.status_code)
        given = {"since": since, "language": language, "site": site, "q": q, "event": event,
                 "limit": str(limit) if limit != DEFAULT_LIMIT else None}
        return html(stories_page(found, {k: v for k, v in given.items() if v}))

    @app.get("/stories/{story_id}", response_class=HTMLResponse, include_in_schema=False)
    def story_view(story_id: str) -> HTMLResponse:
        story = store.story(story_id)
        if story is None:
            return html(missing_page(f"no story {story_id}"), 404)
        return html(story_page(story, store.stories.revisions.of_story(story_id) if story.revisions else []))

    @app.get("/events/{event_id}", response_class=HTMLResponse, include_in_schema=False)
    def event_view(event_id: str) -> HTMLResponse:
        stories = store.event(event_id)
        return html(event_page(event_id, stories)) if stories else html(missing_page(f"no event {event_id}"), 404)

    @app.get("/feeds", response_class=HTMLResponse, include_in_schema=False)
    def feeds_view() -> HTMLResponse:
        return html(feeds_page(store.feed_health(), store.failures()))

    story_list = {"type": "object", "required": ["stories", "next_cursor"], "properties": {
        "stories": {"type": "array", "items": {"$ref": "#/components/schemas/Story"}},
        "next_cursor": {"type": ["string", "null"], "description": "give as cursor for the next page; null: none"}}}

    @app.get("/api/stories", summary="Stories, most recently changed first, with filters",
             responses={200: {"content": {"application/json": {"schema": story_list}}}})
    def api_stories(since: str | None = filters["since"], language: str | None = filters["language"],
                    site: str | None = filters["site"], q: str | None = filters["q"],
                    event: str | None = filters["event"], limit: int = filters["limit"],
                    cursor: str | None = filters["cursor"]) -> JSONResponse:
        found = listing(since, language, site, q, event, limit, cursor)
        return JSONResponse({"stories": [s.to_dict() for s in found.stories], "next_cursor": found.next_cursor})

    @app.get("/api/stories/{story_id}", summary="One story with all its variants",
             responses={200: {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Story"}}}},
                        404: {"description": "no such story"}})
    def api_story(story_id: str) -> JSONResponse:
        story = store.story(story_id)
        if story is None:
            raise HTTPException(404, f"no story {story_id}")
        return JSONResponse(story.to_dict())

    @app.get("/api/stories/{story_id}/revisions", summary="The earlier versions of a story's variants",
             responses={404: {"description": "no such story"}})
    def api_revisions(story_id: str) -> JSONResponse:
        """Each version of the story's articles that an edit in place replaced, oldest first:
        its url, revision number, when it was replaced, its headline, kicker, authors and text,
        the fields that changed, and the diff of its text to the next version ("- " a paragraph
        taken out, "+ " one added, "~ " one changed, words marked [-out-] and {+in+})."""
        if store.story(story_id) is None:
            raise HTTPException(404, f"no story {story_id}")
        return JSONResponse({"story_id": story_id, "revisions": store.stories.revisions.of_story(story_id)})

    @app.get("/api/events/{event_id}", summary="The stories of one event",
             responses={200: {"content": {"application/json": {"schema": {
                 "type": "object", "required": ["event_id", "stories"], "properties": {
                     "event_id": {"type": "string"},
                     "stories": {"type": "array", "items": {"$ref": "#/components/schemas/Story"}}}}}}},
                 404: {"description": "no such event"}})
    def api_event(event_id: str) -> JSONResponse:
        stories = store.event(event_id)
        if not stories:
            raise HTTPException(404, f"no event {event_id}")
        return JSONResponse({"event_id": event_id, "stories": [s.to_dict() for s in stories]})

    @app.get("/api/feeds", summary="Every feed's health: last fetch, failures in a row, pages failing")
    def api_feeds() -> JSONResponse:
        return JSONResponse({"feeds": store.feed_health()})

    @app.get("/api/dead-letters", summary="What failed and when it is tried again, newest first",
             responses={200: {"content": {"application/json": {"schema": {
                 "type": "object", "required": ["dead_letters", "next_cursor"], "properties": {
                     "dead_letters": {"type": "array", "items": {"$ref": "#/components/schemas/DeadLetter"}},
                     "next_cursor": {"type": ["string", "null"]}}}}}}})
    def api_dead_letters(limit: int = filters["limit"], cursor: str | None = filters["cursor"]) -> JSONResponse:
        try:
            letters, next_cursor = letters_page(store, limit, cursor)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        return JSONResponse({"dead_letters": [letter.to_dict() for letter in letters], "next_cursor": next_cursor})

    @app.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics (newsbeam_*)")
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(registry).decode("utf-8"), media_type=CONTENT_TYPE_LATEST)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            described = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            components = described.setdefault("components", {}).setdefault("schemas", {})
            components["Story"] = _schema_component("story")
            components["DeadLetter"] = _schema_component("dead_letter")
            app.openapi_schema = described
        return app.openapi_schema

    app.openapi = openapi

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_document() -> JSONResponse:
        return JSONResponse(app.openapi())

    return app


def read_token(token_file: str | None) -> str | None:
    """The token from --token-file (its first line), else from $NEWSBEAM_SERVE_TOKEN; None
    when neither gives one. Not an argument: a command line is visible to every user."""
    if token_file:
        try:
            with open(token_file, encoding="utf-8") as handle:
                token = handle.readline().strip()
        except OSError as exc:
            raise CliError(f"--token-file {token_file}: {exc.strerror}") from None
        if not token:
            raise CliError(f"--token-file {token_file}: the file holds no token")
        return token
    return os.environ.get(TOKEN_VARIABLE, "").strip() or None


def serve(args: argparse.Namespace, store: Store) -> int:
    """Run the server until it is stopped (SIGINT/SIGTERM)."""
    import uvicorn

    try:
        token = read_token(args.token_file)
        address = listen_address(args.host)
        if not is_loopback(address) and token is None:
            raise CliError(f"serve --host {args.host}: listening beyond this machine needs a token "
                           f"(--token-file, or ${TOKEN_VARIABLE})")
        try:  # bound here, so that an address in use is a one-line mistake, not a server's log
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            listening = socket.socket(family, socket.SOCK_STREAM)
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listening.bind((address, args.port))
            listening.listen(BACKLOG)  # connections made from now on wait for the server
        except OSError as exc:
            raise CliError(f"serve: cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
        app = AllowedHosts(create_app(store, token), address, args.allowed_host)
        config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False,
                                proxy_headers=False, http=guarded_protocol(), timeout_keep_alive=IDLE_TIMEOUT_S,
                                backlog=BACKLOG)
        server = uvicorn.Server(config)
        print(f"newsbeam serve: http://{url_host(address)}:{listening.getsockname()[1]}/ over {redact(store.url)}, "
              "read-only" + ("" if token is None else ", token required"), flush=True)
        server.run(sockets=[listening])
    finally:
        store.close()
    return 0
