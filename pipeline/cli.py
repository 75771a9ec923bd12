"""The `newsbeam` command.

    newsbeam run --feeds FEEDS --output DIR [--store URL] [--allow-private-network] [Beam options]
    newsbeam stories list|show|export ...     what came in (reading.browse)
    newsbeam events show EVENT_ID
    newsbeam report -o report.html            one page to read (reading.report)
    newsbeam errors                           the dead letters waiting for a retry
    newsbeam dropped                          the items the feeds file's rules dropped
    newsbeam extract PAGES.jsonl -o ARTICLES.jsonl (pipeline.corpus)
    newsbeam dedup INPUT.jsonl -o OUTPUT.jsonl
    newsbeam prune [--window-days N]

Every command but `run` and `dedup` takes `--output DIR` (a run's output folder) or `--store
URL`. A configuration mistake ends the program with a one-line message and exit code 2; a
pass in which the feeds or their pages failed (every one, or more than --max-failed-share)
with exit code 3.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
from typing import Any, NoReturn

from newsbeam.extraction.settings import ExtractSettings
from newsbeam.fetching.settings import FetchSettings
from newsbeam.matching.encoders import check_encoder_name
from newsbeam.matching.settings import MatchSettings
from newsbeam.outputs import SINKS
from newsbeam.outputs.captures import on_object_storage, prune_captures
from newsbeam.outputs.paths import UnsafePath, check_output_folder
from newsbeam.outputs.tables import database_sink_urls
from newsbeam.pipeline import corpus
from newsbeam.pipeline.config import SITE, ConfigError, bind_served_urls, load_feeds, resolve_sites
from newsbeam.pipeline.inputs import InputError
from newsbeam.pipeline.served_folder import serve_folder
from newsbeam.reading import browse
from newsbeam.reading import serve as web
from newsbeam.reading.terminal import printable
from newsbeam.reading.where import CliError, add_where, open_where
from newsbeam.schemas import FeedSource
from newsbeam.schemas.settings import command_line_fields, from_command_line
from newsbeam.state.database import check_store_path, sqlite_path
from newsbeam.state.store import StoreError, StoreUnreachable, default_store_url, open_store
from newsbeam.transforms.options import POLL_INTERVAL_S, RunOptions
from newsbeam.version import __version__

# A pass whose feeds failed exits with this, so that cron, Airflow and Kubernetes alert.
EXIT_UNHEALTHY = 3
EXIT_STORE_UNREACHABLE = 4  # the store's server did not answer
EXIT_INTERRUPTED = 130  # stopped by SIGINT or SIGTERM, as shells report a command Ctrl-C stopped
# Captures (WARC files of every fetch) are kept this long, unless told otherwise.
CAPTURES_DAYS = 30.0


class _Parser(argparse.ArgumentParser):
    """argparse, with a mistake told in one line (not a usage block): crontabs and CI logs
    keep the line that says what is wrong. Subcommands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"newsbeam: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="newsbeam", description="News ingestion on Apache Beam.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress (and Beam's own logs)")
    parser.add_argument("--version", action="version", version=f"newsbeam {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run", help="run one ingestion pass over the feeds",
        description="Run one bounded ingestion pass. Options not listed here are passed to Beam "
                    "(--runner, --direct_num_workers, ...).")
    # required, but checked in run_options: argparse would say only "--feeds is required" where
    # the user typed --fedds (which it hands on to Beam)
    run.add_argument("--feeds", help="feeds file: YAML list of feeds, or OPML (required)")
    run.add_argument("--output", required=True, help="folder for stories, dead letters and the run summary")
    _store_argument(run, "default: sqlite:///OUTPUT/state.db")
    run.add_argument("--cache-dir", help="where workers keep caches of the store (the vector index); default: beside "
                                         "a SQLite store's file, OUTPUT/cache for PostgreSQL")
    run.add_argument("--allow-private-network", action="store_true",
                     help="let the fetcher reach loopback and private addresses (local feeds, tests)")
    _add_settings(run, FetchSettings)
    run.add_argument("--shards", type=_positive(int),
                     help="shares of the work, each taken by one worker (default: one per worker of the runner)")
    _add_settings(run, MatchSettings)
    run.add_argument("--sink", default="jsonl", type=_sinks,
                     help="comma-separated: jsonl (default) and parquet (files under OUTPUT/stories/), "
                          "sqlite (tables in OUTPUT/stories.db), postgres (tables in the PostgreSQL store)")
    run.add_argument("--max-failed-share", type=_share, metavar="SHARE",
                     help="exit with code 3 when more than this share (0 to 1) of the feeds due, or of the "
                          "pages fetched, failed; without it, only when every one failed")
    run.add_argument("--prune", action="store_true", help="after the run, forget stories older than the window")
    run.add_argument("--captures", metavar="FOLDER",
                     help="where every fetched feed and page is kept as WARC (default OUTPUT/captures; 'off' for "
                          "nowhere); newsbeam reads them back as an archive")
    _captures_days(run)
    run.add_argument("--every", type=_duration, metavar="INTERVAL",
                     help="repeat the pass every INTERVAL (e.g. 1h, 30m) until SIGINT/SIGTERM")
    run.add_argument("--streaming", action="store_true",
                     help="run unbounded: poll the feeds every --poll-interval and write stories as they come")
    run.add_argument("--poll-interval", type=_duration, default=POLL_INTERVAL_S, metavar="INTERVAL",
                     help="with --streaming: how often to poll the feeds (default 1h)")
    run.add_argument("--stop-after", type=_duration, metavar="DURATION",
                     help="with --streaming: end the run cleanly after DURATION")
    _add_settings(run, ExtractSettings)
    # what a mistyped flag is compared with (the rest goes to Beam, which must know it)
    run.set_defaults(run_flags=tuple(flag for action in run._actions for flag in action.option_strings))

    extract = commands.add_parser(
        "extract", help="what newsbeam makes of pages: a JSON Lines file of {id, url, html} in, articles out",
        description="Read one page per line (id, url, html; optionally the feed entry's title, summary, "
                    "published, authors, language; and fetched, when the page was fetched, which picks "
                    "its publisher parser's version) and write per line what a story variant would carry "
                    f"from it ({', '.join(corpus.EXTRACTED)}), or id, url and error when the page yields no "
                    "article. '-' is stdin/stdout.")
    extract.add_argument("input", help="JSON Lines file of pages, or -")
    extract.add_argument("-o", "--output", default="-", help="JSON Lines file to write, or - (default)")
    _add_settings(extract, MatchSettings, only={"encoder"})  # it judges headlines restated in the body
    _add_settings(extract, ExtractSettings)

    dedup = commands.add_parser(
        "dedup", help="assign story and event ids to a JSON Lines file of articles",
        description="Read one article per line (id, title, text, optional language, url, published) "
                    "and write id, story_id, event_id per line. '-' is stdin/stdout.")
    dedup.add_argument("input", help="JSON Lines file of articles, or -")
    dedup.add_argument("-o", "--output", default="-", help="JSON Lines file to write, or - (default)")
    _store_argument(dedup, "default: a temporary store, discarded afterwards")
    _add_settings(dedup, MatchSettings)

    stories = commands.add_parser("stories", help="the stories in the store: list, show, export")
    story_commands = stories.add_subparsers(dest="stories_command", required=True)
    listing = story_commands.add_parser("list", help="the newest stories, with filters",
                                        description="The newest stories first; every filter given must hold.")
    add_where(listing)
    listing.add_argument("--since", help="changed since: a time ago (24h, 7d) or an ISO 8601 date")
    listing.add_argument("--language", help="with a variant in this language (de, en, ...)")
    listing.add_argument("--event", help="of this event (an event_id)")
    listing.add_argument("--site", help="with a variant from this host or its subdomains (example.org), or site name")
    listing.add_argument("--query", type=_query,
                         help="words that must all appear, in any variant's title or text, in any case")
    listing.add_argument("--limit", type=_positive(int, browse.MAX_LIMIT), default=browse.DEFAULT_LIMIT,
                         help=f"at most this many (default {browse.DEFAULT_LIMIT})")
    listing.add_argument("--json", action="store_true", help="whole story records, one JSON object a line")
    listing.add_argument("--headline-changed", action="store_true",
                         help="only stories a publisher edited in place under another headline")
    show = story_commands.add_parser("show", help="print one story with its variants")
    add_where(show)
    show.add_argument("story_id")
    show.add_argument("--revisions", action="store_true",
                      help="the earlier versions of its variants their publishers edited, each with what changed")
    export = story_commands.add_parser("export", help="write the current stories, one record per story")
    add_where(export)
    export.add_argument("--format", choices=("jsonl", "parquet"), default="jsonl")
    export.add_argument("--since", help="changed since: a time ago (24h, 7d) or an ISO 8601 date")
    export.add_argument("-o", "--file", required=True, help="file to write ('-' for stdout, jsonl only)")

    events = commands.add_parser("events", help="the stories of one event")
    event_commands = events.add_subparsers(dest="events_command", required=True)
    event = event_commands.add_parser("show", help="the stories of an event, with their languages and sites")
    add_where(event)
    event.add_argument("event_id")
    event.add_argument("--json", action="store_true", help="whole story records, one JSON object a line")

    report = commands.add_parser(
        "report", help="one HTML page of what came in: stories side by side, events, feed health",
        description="Write a self-contained HTML page (nothing loaded from elsewhere, no script): the "
                    "stories of the last run, or of --since, with their variants side by side; events; "
                    "each feed's health and dead letters; counts per hour and per language.")
    add_where(report)
    report.add_argument("--since", help="the stories changed since: a time ago (24h) or an ISO 8601 date "
                                        "(default: the stories of the last run)")
    report.add_argument("--limit", type=_positive(int, browse.MAX_LIMIT), default=5000,
                        help="at most this many stories (default 5000)")
    report.add_argument("-o", "--file", default="report.html", help="the HTML file to write (default report.html)")

    dropped = commands.add_parser("dropped", help="list the items your rules dropped, with the rule of each")
    add_where(dropped)
    dropped.add_argument("--json", action="store_true", help="one JSON object per line")
    dropped.add_argument("--limit", type=_positive(int, browse.MAX_LIMIT), default=1000,
                         help="at most this many, the latest first (default 1000)")

    errors = commands.add_parser("errors", help="list the dead letters waiting for a retry")
    add_where(errors)
    errors.add_argument("--json", action="store_true", help="one JSON object per line")

    serve = commands.add_parser(
        "serve", help="a read-only web view and JSON API over the store, live",
        description="Serve the stories (newest first, with the filters of 'stories list'), each story with its "
                    "variants side by side, events, feed health and dead letters as web pages; the same as JSON "
                    "under /api/ (OpenAPI at /openapi.json); Prometheus metrics at /metrics. It never writes the "
                    "store. It listens on 127.0.0.1; on another address only with a token (--token-file, or "
                    f"${web.TOKEN_VARIABLE}), which every request must then give.")
    add_where(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=web.DEFAULT_PORT,
                       help=f"port (default {web.DEFAULT_PORT}; 0: any free one, named when it starts)")
    serve.add_argument("--token-file", help=f"a file holding the token requests must give (or ${web.TOKEN_VARIABLE})")
    serve.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                       help="a name the server is reached by (a proxy's, a DNS name), besides the address it "
                            "listens on; requests naming any other Host are refused (DNS rebinding). Repeatable")

    rules = commands.add_parser("rules", help="apply the feeds file's changed rules to what is stored")
    rule_commands = rules.add_subparsers(dest="rules_command", required=True)
    apply = rule_commands.add_parser(
        "apply", help="drop what the rules now drop from the stories and sinks; fetch again what they now keep",
        description="Each stored article a rule now drops leaves its story (written again without it, or as "
                    "removed); each item a rule dropped that the rules now keep is fetched at the next run.")
    apply.add_argument("--feeds", required=True, help="the feeds file with the rules")
    apply.add_argument("--output", required=True, help="the run's output folder (its sinks)")
    _store_argument(apply, "default: sqlite:///OUTPUT/state.db")
    apply.add_argument("--sink", default="jsonl", type=_sinks, help="the sinks the runs write (as for 'run')")

    again = commands.add_parser(
        "reprocess", help="read the stored articles again from the run's captures with today's extraction",
        description="Each stored article whose page was captured is extracted again (today's code and settings); "
                    "an article whose record changes is filed again in its story, then judged again: one that is "
                    "no longer its story's variant moves to the story it now belongs to (or one of its own), and "
                    "the stories are written to the sinks. Run again after an interruption: what was done reads "
                    "as unchanged.")
    again.add_argument("--output", required=True, help="the run's output folder (its sinks, its captures)")
    _store_argument(again, "default: sqlite:///OUTPUT/state.db")
    again.add_argument("--captures", metavar="FOLDER", help="the captures to read (default OUTPUT/captures)")
    again.add_argument("--sink", default="jsonl", type=_sinks, help="the sinks the runs write (as for 'run')")
    again.add_argument("--dry-run", action="store_true", help="only say what would change, by field")
    _add_settings(again, MatchSettings, only={"encoder"})
    _add_settings(again, ExtractSettings)

    feeds = commands.add_parser("feeds", help="find a site's feeds from its address")
    feed_commands = feeds.add_subparsers(dest="feeds_command", required=True)
    discover = feed_commands.add_parser(
        "discover", help="find the feeds and sitemaps of sites, and print them as a feeds file (or OPML)",
        description="For each site: the feeds its page declares (<link rel=alternate>), else those at the usual "
                    "paths (/feed, /rss.xml, ...), and the sitemaps its robots.txt names; each checked to be a "
                    "feed or sitemap newsbeam reads. Through the same guarded, polite fetcher as a run.")
    discover.add_argument("sites", nargs="+", metavar="URL", help="a site's address (its home page)")
    discover.add_argument("--opml", action="store_true", help="print OPML instead of a feeds file")
    discover.add_argument("--allow-private-network", action="store_true",
                          help="let the fetcher reach loopback and private addresses (local sites, tests)")
    _add_settings(discover, FetchSettings, only={"user_agent", "per_host_delay_s"})

    prune = commands.add_parser("prune", help="forget stories older than the window (the sinks keep them)")
    add_where(prune)
    _add_settings(prune, MatchSettings, only={"window_days"})
    _captures_days(prune)
    return parser


def _captures_days(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--captures-days", type=_positive(float), default=CAPTURES_DAYS, metavar="DAYS",
                        help=f"pruning removes capture files older than this (default {CAPTURES_DAYS:g})")


def _add_settings(parser: argparse.ArgumentParser, settings_class: type, only: set[str] | None = None) -> None:
    """The options of a library's settings that the command line offers (schemas.settings):
    flag, help and default are the settings field's own."""
    for field in command_line_fields(settings_class):
        if only is not None and field.name not in only:
            continue
        flag, default, help_text = field.metadata["flag"], field.default, field.metadata["help"]
        if isinstance(default, bool):  # a setting on by default: its flag turns it off
            parser.add_argument(flag, dest=field.name, action="store_false", help=help_text)
            continue
        convert = _encoder if field.name == "encoder" else _positive(type(default)) if isinstance(
            default, (int, float)) else str
        shown = f"{default:g}" if isinstance(default, (int, float)) else default
        parser.add_argument(flag, dest=field.name, type=convert, default=default, help=f"{help_text} (default {shown})",
                            metavar=flag.lstrip("-").upper().replace("-", "_"))


def _sinks(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in SINKS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown sink(s) {', '.join(unknown) or text!r}; choose from {', '.join(SINKS)}")
    return names


def _positive(kind: type, at_most: float | None = None) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text}") from None
        if value < 0 or (kind is int and value == 0):
            raise argparse.ArgumentTypeError(f"must be positive: {text}")
        if at_most is not None and value > at_most:
            raise argparse.ArgumentTypeError(f"at most {at_most:,}: {text}")
        return value

    return parse


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"not a port (0 to 65535): {text}")
    return int(text)


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a share is from 0 to 1: {text}")
    return value


def _encoder(name: str) -> str:
    try:
        return check_encoder_name(name)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _query(text: str) -> str:
    words = text.split()
    if len(text) > browse.MAX_QUERY_CHARS or len(words) > browse.MAX_QUERY_WORDS:
        raise argparse.ArgumentTypeError(f"at most {browse.MAX_QUERY_WORDS} words and {browse.MAX_QUERY_CHARS} "
                                         f"characters ({len(words)} words, {len(text)} characters given)")
    return text


def _duration(text: str) -> float:
    """'90', '90s', '30m', '1h', '1d' -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    try:
        seconds = float(text[:-1]) * units[text[-1]] if text and text[-1] in units else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 30m, 1h)") from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return seconds


def _store_argument(parser: argparse.ArgumentParser, default_text: str) -> None:
    parser.add_argument("--store", help=f"state store URL, e.g. sqlite:///state.db ({default_text})")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0].startswith("--") and argv[0] not in ("--verbose", "--version", "--help"):
        # `newsbeam --feeds=F --output=D ...` is `run`: how launchers that put the options
        # straight after the module (Airflow's Beam operator, Dataflow templates) call it.
        argv.insert(0, "run")
    args, extra = parser.parse_known_args(argv)
    # Quiet unless asked: Beam and its optional cloud modules log warnings that concern
    # features newsbeam does not use.
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    logging.getLogger("newsbeam").setLevel(logging.INFO if args.verbose else logging.WARNING)
    if not args.verbose:
        # A failing step makes Beam log its traceback; newsbeam reports the failure in one line.
        logging.getLogger("apache_beam").setLevel(logging.CRITICAL)
    # Beam's options (object storage's endpoint and keys, a runner's) go to `run`, and to
    # `reprocess` reading captures on object storage
    if extra and args.command not in ("run", "reprocess"):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    commands = {
        "run": lambda: _run(args, extra),
        "dedup": lambda: corpus.dedup(args),
        "extract": lambda: corpus.extract(args),
        "stories": lambda: {"list": browse.stories_list, "show": browse.stories_show,
                            "export": browse.stories_export}[args.stories_command](args),
        "events": lambda: browse.events_show(args),
        "report": lambda: browse.report(args),
        "errors": lambda: browse.errors(args),
        "dropped": lambda: browse.dropped(args),
        "serve": lambda: _serve(args),
        "prune": lambda: _prune(args),
        "feeds": lambda: _discover(args),
        "rules": lambda: _apply_rules(args),
        "reprocess": lambda: _reprocess(args, extra),
    }
    try:
        return commands[args.command]()
    except (ConfigError, CliError, StoreError, UnsafePath, InputError) as exc:
        print(f"newsbeam: error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except StoreUnreachable as exc:  # an outage, not a mistake: a scheduler may try again soon
        print(f"newsbeam: error: {printable(str(exc))}", file=sys.stderr)
        return EXIT_STORE_UNREACHABLE
    except BrokenPipeError:
        # The reader went away (`newsbeam errors | head`): stop quietly, as tools killed by
        # SIGPIPE do, and keep Python from complaining about the closed pipe at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print("newsbeam: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a failure of the run itself (disk full, database gone, ...)
        if args.verbose:
            raise
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else ""
        if "malformed" in reason:  # SQLite's word for damaged pages, whatever the command
            reason += " (the store is damaged: restore it from a backup, or move it away to start anew)"
        what, after = (("the run", "; the next run repeats what this one did not finish") if args.command == "run"
                       else (f"'{args.command}'", ""))
        print(f"newsbeam: {what} failed: {type(exc).__name__}: {printable(reason[:600])} (-v for details{after})",
              file=sys.stderr)
        return 1


def _did_you_mean(flag: str, flags: tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(flag, flags, n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def run_options(args: argparse.Namespace, beam_args: list[str]) -> RunOptions:
    """The run's options, built once from the command line and the feeds file."""
    if not args.feeds:
        typo = next((flag for flag in beam_args if flag.startswith("-") and _did_you_mean(flag.split("=")[0],
                                                                                         ("--feeds",))), None)
        raise CliError(f"unknown option {typo.split('=')[0]} (did you mean --feeds?)" if typo
                       else "run needs a feeds file: --feeds FILE")
    config = load_feeds(args.feeds)
    store_file = sqlite_path(args.store) if args.store else None
    if store_file and not os.path.isdir(os.path.dirname(os.path.abspath(store_file))):
        # a store named by hand lives where its user put it: a mistyped folder is no new store
        raise CliError(f"--store {args.store}: folder {os.path.dirname(os.path.abspath(store_file))} does not exist "
                       "(create it first)")
    if "postgres" in args.sink and not (args.store or "").startswith(("postgresql:", "postgres:")):
        raise CliError("--sink postgres writes to the PostgreSQL store: give --store postgresql://...")
    if args.streaming and args.every:
        raise CliError("--every and --streaming exclude each other")
    if args.streaming and config.archives:
        raise CliError("archives are read by bounded passes: run without --streaming (or with --every)")
    # Beam is imported once the feeds file and the flags are known to be right: a mistake in
    # them is reported at once, not after a second of loading Beam.
    from newsbeam.pipeline.backfill import matched_files
    from newsbeam.pipeline.runners import (
        encoder_threads,
        is_cluster,
        is_dask,
        pipeline_options,
        unknown_options,
        warn_of_memory_trimming,
        worker_count,
    )

    beam = pipeline_options(beam_args)
    if is_dask(beam) and importlib.util.find_spec("distributed") is None:
        raise CliError("the Dask runner needs Dask, which is not installed: pip install 'newsbeam[dask]'")
    unknown = unknown_options(beam_args)
    if unknown:
        raise CliError(f"unknown option {unknown[0]}{_did_you_mean(unknown[0], args.run_flags)} (newsbeam run "
                       "--help lists "
                       "newsbeam's options; others go to Beam, which does not know this one either)")
    for source in config.archives:
        matched_files(source, beam)  # a scheme or folder that cannot exist: exit 2 now; nothing yet: a warning
    if args.streaming and is_dask(beam):
        raise CliError("the Dask runner runs bounded passes only (its streaming mode ends at once): use --every")
    if is_cluster(beam):
        # Workers on other machines write where they are: only a place they all share works.
        if not os.path.isabs(args.output):
            raise CliError(f"--output {args.output}: a cluster runner needs an absolute path on storage every "
                           "worker and this machine share (a shared mount), or object storage")
        if sqlite_path(args.store or default_store_url(args.output)) is not None:
            raise CliError("a cluster runner needs the shared PostgreSQL store: give --store postgresql://...")
    check_output_folder(args.output, args.sink)
    warn_of_memory_trimming(beam)
    feeds, feed_rules = config.feeds, config.feed_rules
    if config.serve_dir is not None:
        feeds = bind_served_urls(feeds, f"http://127.0.0.1:{config.serve_port}/")
    if any(feed.url.startswith(SITE) for feed in feeds):
        feeds, feed_rules = _find_sites_feeds(args, feeds, feed_rules, config)
    options = RunOptions(
        feeds=feeds, archives=config.archives, output_dir=args.output, store_url=args.store or "", sinks=args.sink,
        cache_dir=args.cache_dir,
        fetching=from_command_line(FetchSettings, args), extraction=from_command_line(ExtractSettings, args),
        matching=from_command_line(MatchSettings, args), rules=config.rule_set(feeds, feed_rules),
        webhooks=config.webhooks,
        allow_private_network=args.allow_private_network,
        serve_dir=str(config.serve_dir) if config.serve_dir else None, serve_port=config.serve_port,
        streaming=args.streaming, poll_interval_s=args.poll_interval, stop_after_s=args.stop_after,
        max_failed_share=args.max_failed_share, captures=args.captures or "",
        shards=args.shards or worker_count(beam), encoder_threads=encoder_threads(beam),
        beam_args=tuple(beam_args))
    check_store_path(options.store)
    if options.captures_dir:
        _storage(options.captures_dir, beam_args)  # a scheme nothing here can write stops the run now
    return options


def _find_sites_feeds(args: argparse.Namespace, feeds: tuple[FeedSource, ...], feed_rules: tuple, config: Any
                      ) -> tuple[tuple[FeedSource, ...], tuple]:
    """The feeds of the feeds file's `site:` entries, found through the run's own fetcher (its
    address policy, user agent and politeness)."""
    from newsbeam.fetching.addresses import AddressPolicy
    from newsbeam.fetching.client import HttpClient
    from newsbeam.fetching.politeness import HostLedger
    from newsbeam.sources.discover import discover

    settings = from_command_line(FetchSettings, args)
    served = [f"http://127.0.0.1:{config.serve_port}"] if config.serve_dir else []
    http, ledger = HttpClient(AddressPolicy(args.allow_private_network, served), settings), HostLedger()
    try:
        with serve_folder(str(config.serve_dir) if config.serve_dir else None, config.serve_port):
            return resolve_sites(feeds, feed_rules, lambda site: discover(
                site, http, lambda host: ledger.wait_for_slot(host, settings.per_host_delay_s)))
    finally:
        http.close()


def _serve(args: argparse.Namespace) -> int:
    return web.serve(args, open_where(args, only_reads=True))


def _run(args: argparse.Namespace, beam_args: list[str]) -> int:
    options = run_options(args, beam_args)
    from newsbeam.pipeline.run import format_summary, prune_summaries, run_every, run_once, run_streaming

    if args.streaming:
        summary = run_streaming(options)
        print(f"newsbeam streaming run {summary['run_id']} stopped after {summary['seconds']}s: "
              f"{summary['stories_new']} stories new, {summary['stories_updated']} updated")
        return 0
    if args.every:
        last = run_every(options, args.every)
        if last and last["interrupted"]:
            return EXIT_INTERRUPTED
        return EXIT_UNHEALTHY if last and last["health"] != "ok" else 0
    summary = run_once(options)
    print(format_summary(summary))
    if summary["interrupted"]:
        return EXIT_INTERRUPTED
    if args.prune:
        pruned = open_store(options.store).prune(args.window_days)
        summaries = prune_summaries(options.output_dir, args.window_days)
        captures = prune_captures(options.captures_dir, args.captures_days, _storage(options.captures_dir,
                                                                                       options.beam_args)) \
            if options.captures_dir else 0
        print(f"  pruned    {pruned['stories']} stories, {pruned['articles']} articles, "
              f"{pruned['dead_letters']} dead letters, {summaries} summary files older than {args.window_days:g} days, "
              f"{captures} capture files older than {args.captures_days:g} days")
    return EXIT_UNHEALTHY if summary["health"] != "ok" else 0


def _storage(location: str, beam_args: tuple[str, ...] | list[str]) -> Any:
    """Beam's FileSystems for captures on object storage (with the Beam options that say its
    endpoint and keys); None for a local folder."""
    if not on_object_storage(location):
        return None
    from newsbeam.transforms.object_storage import BeamStorage

    try:
        BeamStorage.check(location)
    except ValueError as exc:
        raise CliError(f"--captures {exc}") from None
    return BeamStorage(beam_args)


def _reprocess(args: argparse.Namespace, beam_args: list[str]) -> int:
    from newsbeam.pipeline.reprocess import reprocess
    from newsbeam.pipeline.runners import unknown_options

    store = args.store or default_store_url(args.output)
    check_store_path(store)
    unknown = unknown_options(beam_args)
    if unknown:
        raise CliError(f"unknown option {unknown[0]} (newsbeam reprocess --help lists its own)")
    captures = args.captures or os.path.join(args.output, "captures")
    storage = _storage(captures, beam_args)
    if storage is None and not os.path.isdir(captures):
        raise CliError(f"no captures at {captures}: runs keep them unless run with --captures off")
    done = reprocess(store, captures, args.output, args.sink, from_command_line(ExtractSettings, args),
                     from_command_line(MatchSettings, args), dry_run=args.dry_run, storage=storage,
                     beam_args=tuple(beam_args))
    fields = ", ".join(f"{name} {count}" for name, count in done["fields"].items()) or "none"
    print(f"reprocess: {done['captured_pages']} captured pages; {done['articles_changed']} articles "
          f"{'would change' if args.dry_run else 'changed'} (by field: {fields}); "
          f"{done['articles_moved']} moved to another story; {done['stories_written']} stories written again")
    return 0


def _apply_rules(args: argparse.Namespace) -> int:
    from newsbeam.pipeline.rules import apply_rules

    config = load_feeds(args.feeds)
    feeds = config.feeds
    if config.serve_dir is not None:
        feeds = bind_served_urls(feeds, f"http://127.0.0.1:{config.serve_port}/")
    store = args.store or default_store_url(args.output)
    check_store_path(store)
    done = apply_rules(config.rule_set(feeds, config.feed_rules), store, args.output, args.sink,
                       database_sink_urls(args.output, store, args.sink))
    print(f"rules applied: {done['articles_dropped']} stored articles dropped ({done['stories_changed']} stories "
          f"written again without them, {done['stories_removed']} removed); {done['items_restored']} dropped items "
          "kept now, fetched at the next run")
    return 0


def _discover(args: argparse.Namespace) -> int:
    """`feeds discover`: each site's feeds and sitemaps, then all of them as a feeds file (or
    OPML) to paste. Exit 3 when a site could not be read or has none."""
    from newsbeam.fetching.addresses import AddressPolicy
    from newsbeam.fetching.client import FetchError, HttpClient
    from newsbeam.fetching.politeness import HostLedger
    from newsbeam.sources.discover import discover, feeds_file_snippet, opml

    settings = from_command_line(FetchSettings, args)
    http, ledger = HttpClient(AddressPolicy(args.allow_private_network), settings), HostLedger()
    found, status = [], 0
    try:
        for site in args.sites:
            try:
                items = discover(site, http, lambda host: ledger.wait_for_slot(host, settings.per_host_delay_s))
            except FetchError as exc:
                print(printable(f"newsbeam: {site}: cannot read the site: {exc.reason}"), file=sys.stderr)
                status = EXIT_UNHEALTHY
                continue
            if not items:
                print(printable(f"newsbeam: {site}: no feed or sitemap found"), file=sys.stderr)
                status = EXIT_UNHEALTHY
            for item in items:
                print(printable(f"# {site}: {item.kind} ({item.how}) {item.url}"
                                + (f"  {item.title}" if item.title else "")), file=sys.stderr)
            found += items
    finally:
        http.close()
    print(opml(found) if args.opml else feeds_file_snippet(found), end="")
    return status


def _prune(args: argparse.Namespace) -> int:
    from newsbeam.pipeline.run import prune_summaries

    pruned = open_where(args, writes=True).prune(args.window_days)
    summaries = prune_summaries(args.output, args.window_days) if getattr(args, "output", None) else 0
    captures = prune_captures(os.path.join(args.output, "captures"), args.captures_days) if args.output else 0
    print(f"pruned {pruned['stories']} stories, {pruned['articles']} articles, {pruned['dead_letters']} "
          f"dead letters and {summaries} summary files older than {args.window_days:g} days, {captures} capture "
          f"files older than {args.captures_days:g} days")
    return 0
