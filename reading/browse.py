"""Looking at what came in: `stories list`, `stories show`, `stories export`, `events show`,
`errors` and `report`. Everything shown comes from other people's servers: the terminal gets
it with hidden characters escaped (pipeline.terminal), the report escapes it as HTML."""

from __future__ import annotations

import argparse
import collections
import shutil
import sys
import urllib.parse

from newsbeam.outputs.files import json_line, write_parquet
from newsbeam.reading.report import render
from newsbeam.reading.terminal import printable, safe_json
from newsbeam.reading.where import CliError, open_output, open_where, since, store_files
from newsbeam.schemas import DeadLetter, Story
from newsbeam.state.stories import StoryFilter

DEFAULT_LIMIT = 50
# What a listing may ask for: beyond these, a store does not answer sensibly (an integer past
# PostgreSQL's bigint, a LIKE pattern SQLite calls too complex), and no reader means them.
MAX_LIMIT = 1_000_000
MAX_QUERY_WORDS = 32
MAX_QUERY_CHARS = 1000


def stories_list(args: argparse.Namespace) -> int:
    store = open_where(args)
    try:
        stories = store.find_stories(since=since(args.since), event=args.event, language=args.language,
                                     site=args.site, words=args.query or (), limit=args.limit,
                                     headline_changed=args.headline_changed)
    except ValueError as exc:  # a filter no store could answer (StoryFilter says which)
        raise CliError(f"stories list: {exc}") from None
    if args.json:
        for story in stories:
            print(safe_json(story.to_dict(), sort_keys=True))
        return 0
    _table(stories)
    return 0


def _table(stories: list[Story]) -> None:
    width = shutil.get_terminal_size((120, 24)).columns
    print(f"{'story_id':<18} {'updated':<20} {'languages':<10} {'var':>3}  {'site':<24} title")
    for story in stories:  # the id first: `stories show` and `events show` take it
        site = story.site_name or urllib.parse.urlsplit(story.url).netloc
        line = (f"{story.story_id:<18} {story.updated[:19]:<20} {','.join(story.languages)[:10]:<10} "
                f"{len(story.variants):>3}  "
                f"{printable(site)[:24]:<24} {printable(story.title)}")
        print(line[:max(width, 60)])
    print(f"{len(stories)} stor{'y' if len(stories) == 1 else 'ies'}", file=sys.stderr)


def stories_show(args: argparse.Namespace) -> int:
    store = open_where(args)
    story = store.story(args.story_id)
    if story is None:
        raise CliError(f"no story {args.story_id} in the store")
    if not getattr(args, "revisions", False):
        print(safe_json(story.to_dict(), indent=2))
        return 0
    revisions = store.stories.revisions.of_story(story.story_id)
    print(printable(f"story {story.story_id}: {story.title}") + f"\n{len(revisions)} earlier version(s)")
    for revision in revisions:
        print(printable(f"\n{revision['replaced_at']}  {revision['url']}  revision {revision['revision']} replaced: "
                        f"{', '.join(revision['changed'])} changed"))
        if "title" in revision["changed"]:
            print("  headline was: " + printable(revision["title"] or ""))
        for line in (revision["diff"] or "").splitlines():
            print("  " + printable(line))
    return 0


def stories_export(args: argparse.Namespace) -> int:
    store = open_where(args)
    records = (story.to_dict() for story in store.stories.records(store.stories.story_ids(since(args.since))))
    count = 0
    if args.format == "jsonl":
        with open_output(args.file, store.url) as out:
            for record in records:
                out.write((safe_json(record, sort_keys=True) if out is sys.stdout else json_line(record)) + "\n")
                count += 1
    else:
        if args.file == "-":
            raise CliError("--format parquet needs a file (-o FILE)")
        count = write_parquet(records, args.file, store_files(store.url))
    print(f"{count} stories written to {args.file}", file=sys.stderr)
    return 0


def events_show(args: argparse.Namespace) -> int:
    store = open_where(args)
    stories = store.event(args.event_id)
    if not stories:
        raise CliError(f"no event {args.event_id} in the store")
    if args.json:
        for story in stories:
            print(safe_json(story.to_dict(), sort_keys=True))
        return 0
    print(f"event {printable(args.event_id)}: {len(stories)} stor{'y' if len(stories) == 1 else 'ies'}")
    for story in stories:
        sites = sorted({v.site_name or urllib.parse.urlsplit(v.url).netloc for v in story.variants})
        print(f"  {story.story_id}  {story.updated[:19]}  {','.join(story.languages):<8} "
              f"{printable(story.title)}\n      {printable(', '.join(sites))}")
    return 0


def errors(args: argparse.Namespace) -> int:
    store = open_where(args)
    letters = store.failures()
    store.close()
    for letter in letters:
        if args.json:
            print(safe_json(letter.to_dict()))
        else:
            status = f" HTTP {letter.status}" if letter.status else ""
            next_due = "never (refused)" if letter.final else letter.next_due
            print(printable(f"{letter.at}  {letter.stage:<10} attempts={letter.attempts} next={next_due}"
                            f"{status}  {letter.url}") + "\n    " + printable(letter.reason))
    if not args.json:
        by_feed = collections.Counter(letter.feed_url for letter in letters if letter.stage in DeadLetter.PAGE_STAGES)
        for feed, count in by_feed.most_common():
            print(printable(f"pages failing: {count:>5}  {feed or '(no feed)'}"))
        print(f"{len(letters)} dead letter(s)")
    return 0


def dropped(args: argparse.Namespace) -> int:
    """The items left out on purpose (by the feeds file's rules, or a pipeline's own filter),
    the latest first, with the rule that dropped each."""
    store = open_where(args)
    items = store.stories.dropped(args.limit)
    store.close()
    for item in items:
        if args.json:
            print(safe_json(item))
        else:
            print(printable(f"{item['at']}  {item['url']}") + "\n    " + printable(item["reason"]))
    if not args.json:
        print(f"{len(items)} item(s) dropped")
    return 0


def report(args: argparse.Namespace) -> int:
    """The stories of the last run (or of --since), the feeds' health, as one HTML file."""
    store = open_where(args)
    if args.since:
        period = f"stories changed since {since(args.since)}"
        ids = store.stories.find(StoryFilter(since=since(args.since)), args.limit)
    else:
        run = store.runs.latest()
        period = f"the last run, {run['run_id']}" if run else "no run yet"
        ids = store.stories.find(StoryFilter(run=run["run_id"]), args.limit) if run else []
        if run and not ids:  # an hourly run often brings nothing: show what came in before
            ids = store.stories.find(StoryFilter(), min(args.limit, DEFAULT_LIMIT))
            period = (f"the last run, {run['run_id']}, brought nothing new: the newest "
                      f"{len(ids)} stor{'y' if len(ids) == 1 else 'ies'} before it")
    stories = list(store.stories.records(ids))
    history = {story.story_id: store.stories.revisions.of_story(story.story_id) for story in stories if story.revisions}
    page = render(stories, store.feed_health(), store.dead_letters.all(), period, store.stories.dropped(200), history)
    with open_output(args.file, store.url) as out:
        out.write(page)
    print(f"{len(ids)} stories in {args.file}", file=sys.stderr)
    return 0
