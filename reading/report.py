"""`newsbeam report`: one self-contained HTML page a person opens from disk.

The stories of the last run (or of a period), grouped by event, each with its variants side by
side across languages; feed health with each feed's dead letters; counts per hour and per
language as small inline charts. Nothing is loaded from elsewhere, and the page runs no script
at all (its Content-Security-Policy forbids every script, so text from a server cannot become
one). Every title, text, author, site name and URL comes from someone else's server: all of it
is escaped, control and bidirectional-override characters are shown as escapes, and only
http(s) URLs become links. Stories are collapsed, so a few thousand stay quick to open.
"""

from __future__ import annotations

import collections
import html
import re
import urllib.parse
from collections.abc import Iterable
from typing import Any

from newsbeam.reading.terminal import printable
from newsbeam.schemas import DeadLetter, Story, Variant

PREVIEW_CHARS = 400  # the start of each variant's text shown side by side
OPEN_UP_TO = 200  # stories in a report that opens with their variants shown

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5rem auto; max-width: 80rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
.muted { color: #666; font-size: .9em; }
.diff div { font-family: ui-monospace, monospace; font-size: .85em; white-space: pre-wrap; }
.diff .added, .diff ins { background: #e6ffec; } .diff .removed, .diff del { background: #ffebe9; }
.charts { display: flex; gap: 2rem; flex-wrap: wrap; }
.event { border-left: 4px solid #9ab; padding-left: .8rem; margin: 1rem 0; }
details.story { border: 1px solid #ddd; border-radius: 6px; margin: .5rem 0; padding: .4rem .7rem; }
details.story > summary { cursor: pointer; font-weight: 600; }
.variants { display: grid; grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr)); gap: .8rem; margin-top: .6rem; }
.variant { background: #f7f7f9; border-radius: 6px; padding: .6rem; overflow-wrap: anywhere; }
.variant h4 { margin: 0 0 .3rem; font-size: 1rem; }
.variant .body { white-space: pre-line; margin: .5rem 0; }
.kicker { font-size: .8rem; text-transform: uppercase; color: #555; }
.tag { display: inline-block; background: #e4ecf4; border-radius: 4px; padding: 0 .35rem; margin-right: .25rem;
       font-size: .8em; }
table { border-collapse: collapse; width: 100%; font-size: .9em; }
td, th { border-bottom: 1px solid #eee; padding: .3rem .4rem; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
.failing { color: #a40000; }
"""
# No script may run, nothing may be fetched: styles and inline images only.
POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def text(value: Any) -> str:
    """Someone else's text, safe in HTML: hidden characters shown as escapes (line breaks
    kept), then escaped."""
    return html.escape(printable(str(value), keep="\n"), quote=True) if value is not None else ""


def link(url: str | None, label: str) -> str:
    """A link when the URL is http(s); otherwise the URL shown as text."""
    try:
        scheme = urllib.parse.urlsplit(url or "").scheme.lower()
    except ValueError:
        scheme = ""
    if scheme not in ("http", "https"):
        return text(url or label)
    return f'<a href="{text(url)}" rel="noreferrer noopener">{label}</a>'


def bar_chart(title: str, counts: list[tuple[str, int]], width: int = 360) -> str:
    """A small horizontal bar chart, inline SVG."""
    if not counts:
        return f"<figure><figcaption>{text(title)}</figcaption><p class='muted'>nothing</p></figure>"
    top, row = max(value for _, value in counts) or 1, 16
    bars = []
    for n, (label, value) in enumerate(counts):
        y = n * row
        length = max(1, round((width - 150) * value / top))
        bars.append(f'<text x="0" y="{y + 12}" font-size="11">{text(label)}</text>'
                    f'<rect x="110" y="{y + 2}" width="{length}" height="12" fill="#7a9cc6"/>'
                    f'<text x="{115 + length}" y="{y + 12}" font-size="11">{value}</text>')
    return (f"<figure><figcaption>{text(title)}</figcaption>"
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{len(counts) * row + 4}" '
            f'role="img">{"".join(bars)}</svg></figure>')


def published(item: Story | Variant) -> str:
    """When it was published, as the source said it: a day alone when it gave no time."""
    if not item.published:
        return "publication time unknown"
    return item.published[:10] if item.published_date_only else item.published


def _variant(variant: Variant) -> str:
    shown = preview(variant.text)
    rest = variant.text[len(shown):]
    body = text(shown)
    if rest:  # the whole text, to read without a script: the rest folded away
        body += f'<details class="more"><summary>… read all</summary>{text(rest)}</details>'
    byline = ", ".join([*variant.authors, *variant.credits])
    kicker = f'<div class="kicker">{text(variant.kicker)}</div>' if variant.kicker else ""
    return (f'<div class="variant">{kicker}<h4>{text(variant.title)}</h4>'
            f'<div><span class="tag">{text(variant.language or "language unknown")}</span><span class="tag">'
            f'{text(variant.relation)}</span>{text(variant.site_name or urllib.parse.urlsplit(variant.url).netloc)}'
            f'</div><div class="muted">{text(published(variant))}{" · " + text(byline) if byline else ""}'
            f'</div>{_picture(variant)}<div class="body">{body}</div><div>{link(variant.link, "original")}'
            f'<span class="muted"> · {text(_source(variant))}</span></div></div>')


def _picture(variant: Variant) -> str:
    """The lead image as a line of text (the report loads nothing from elsewhere): its caption
    linked to it, and who made it."""
    if not (variant.image or variant.image_caption):
        return ""
    caption = text(variant.image_caption or "lead image")
    shown = link(variant.image, caption) if variant.image else caption
    credit = f" · {text(variant.image_credit)}" if variant.image_credit else ""
    return f'<div class="muted picture">Picture: {shown}{credit}</div>'


def preview(body: str, limit: int = 0) -> str:
    """The start of a text, cut where a word ends (at most `limit`, PREVIEW_CHARS by default)."""
    limit = limit or PREVIEW_CHARS
    if len(body) <= limit:
        return body
    cut = max(body.rfind(" ", 0, limit), body.rfind("\n", 0, limit))
    return body[:cut if cut > limit // 2 else limit]


def _source(variant: Variant) -> str:
    """Where the text came from, in words: the feed's own text, or the page read by its
    publisher's own parser or by newsbeam's generic path."""
    if variant.body_source == "feed":
        return "text from the feed (the page was not read)"
    kind, _, publisher = variant.extractor.partition(":")
    return f"read by the {publisher} parser (Fundus)" if kind == "fundus" else "read by newsbeam's generic extractor"


def story_html(story: Story, open_variants: bool, href: str | None = None) -> str:
    """One story, collapsed or open, its variants side by side; `href`: its own page."""
    languages = " ".join(f'<span class="tag">{text(language)}</span>' for language in story.languages)
    opened = " open" if open_variants and len(story.variants) > 1 else ""
    own_page = f' · <a href="{text(href)}">story {text(story.story_id)}</a>' if href else ""
    return (f'<details class="story" id="{text(story.story_id)}"{opened}><summary>{text(story.title)} {languages}'
            f'<span class="muted">{len(story.variants)} variant{"s" if len(story.variants) != 1 else ""} · '
            f'{text(story.site_name or "")} · {text(published(story))} · first seen {text(story.first_seen[:16])}'
            f'{own_page}</span></summary>'
            f'<div class="variants">{"".join(_variant(v) for v in story.variants)}</div></details>')


def history_html(revisions: list[dict[str, Any]]) -> str:
    """A story's earlier versions, oldest first: when each was replaced, what changed, its
    headline then, and the diff of its text, marked so it reads without colour too."""
    if not revisions:
        return ""
    items = []
    for revision in revisions:
        diff = "".join(f'<div class="{_DIFF_CLASS.get(line[:1], "")}">{_marked(line)}</div>'
                       for line in (revision["diff"] or "").splitlines())
        items.append(f"<li><b>{text(revision['replaced_at'])}</b> {link(revision['url'], text(revision['url']))}: "
                     f"{text(', '.join(revision['changed']))} changed"
                     + (f"<div class='muted'>headline was: {text(revision['title'] or '')}</div>"
                        if "title" in revision["changed"] else "")
                     + (f"<div class='diff'>{diff}</div>" if diff else "") + "</li>")
    return (f"<details class='history'><summary>{len(revisions)} earlier version{'s' if len(revisions) != 1 else ''}"
            f"</summary><ol>{''.join(items)}</ol></details>")


_DIFF_CLASS = {"+": "added", "-": "removed", "~": "changed"}


def _marked(line: str) -> str:
    """A diff line: its [-words out-] and {+words in+} as <del> and <ins>, their marks kept."""
    escaped = text(line)
    escaped = re.sub(r"\[-(.*?)-\]", r"<del>[-\1-]</del>", escaped)
    return re.sub(r"\{\+(.*?)\+\}", r"<ins>{+\1+}</ins>", escaped)


def feed_table(feeds: list[dict[str, Any]], letters: list[DeadLetter]) -> str:
    """Each feed's health, with its dead letters folded away."""
    by_feed: dict[str, list[DeadLetter]] = collections.defaultdict(list)
    for letter in letters:
        by_feed[letter.feed_url].append(letter)
    rows = []
    for feed in feeds:
        own = by_feed.get(feed["url"], [])
        status = feed["last_error"] or (f"HTTP {feed['last_status']}" if feed["last_status"] else "")
        failing = ' class="failing"' if failing_feed(feed) else ""
        reasons = "".join(f"<li>{text(letter.stage)} {link(letter.url, text(letter.url))}: {text(letter.reason)}</li>"
                          for letter in own[:50])
        dead = f"<details><summary>{len(own)}</summary><ul>{reasons}</ul></details>" if own else "0"
        rows.append(f"<tr{failing}><td>{text(feed['title'] or '')}<div class='muted'>"
                    f"{link(feed['url'], text(feed['url']))}</div></td><td>{text(feed['last_fetched'] or 'never')}</td>"
                    f"<td>{text(status)}</td><td>{text(feed['next_due'] or 'next pass')}</td>"
                    f"<td>{feed['failures']}</td><td>{feed['page_failures']}</td><td>{dead}</td></tr>")
    return ("<table><thead><tr><th>feed</th><th>last fetched</th><th>status</th><th>next due</th>"
            "<th>failures in a row</th><th>pages failing</th><th>dead letters</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def failing_feed(feed: dict[str, Any]) -> bool:
    """The feed itself fails, or pages of it wait as dead letters."""
    return feed_fails(feed) or bool(feed["page_failures"])


def feed_fails(feed: dict[str, Any]) -> bool:
    """The feed itself fails (it cannot be fetched or read): a run's summary counts these."""
    return bool(feed["failures"] or feed["last_error"])


def _several(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def render(stories: Iterable[Story], feeds: list[dict[str, Any]], letters: list[DeadLetter], period: str,
           dropped: Iterable[dict[str, Any]] = (), history: dict[str, list[dict[str, Any]]] | None = None) -> str:
    """The report; `history`: the earlier versions of the stories edited in place, by story."""
    history = history or {}
    stories = list(stories)
    events: dict[str, list[Story]] = collections.defaultdict(list)
    for story in stories:
        events[story.event_id].append(story)
    # events of several stories first, then by their latest change
    groups = sorted(events.values(), key=lambda members: (-len(members), max(s.updated for s in members)))
    # A short report shows the variants of each story of several at once; a long one stays
    # collapsed, to open quickly.
    open_variants = len(stories) <= OPEN_UP_TO
    sections = []
    for members in groups:
        if len(members) > 1:
            sections.append(f'<section class="event"><h3>One event, {len(members)} stories</h3>'
                            + "".join(story_html(s, open_variants) + history_html(history.get(s.story_id, []))
                                      for s in members) + "</section>")
        else:
            sections.append(story_html(members[0], open_variants) + history_html(history.get(members[0].story_id, [])))
    # by the stories' own publication time (an archive's stories of 2016 are not today's); a
    # story that gives none is undated, counted apart, never charted in the hour it was read
    per_hour = collections.Counter(s.published[:13].replace("T", " ") + "h" for s in stories if s.published)
    undated = sum(1 for s in stories if not s.published)
    per_language = collections.Counter(v.language or "language unknown" for s in stories for v in s.variants)
    # the feeds that fail themselves, as the run's summary counts them, and apart from them
    # the feeds whose pages fail (the summary's "failing pages of" line)
    failing = sum(1 for feed in feeds if feed_fails(feed))
    pages_failing = sum(1 for feed in feeds if feed["page_failures"])
    return html_page("newsbeam report", f"""<h1>newsbeam: what came in</h1>
<p class="muted">{text(period)}: {len(stories)} stories, {sum(len(s.variants) for s in stories)} variants, \
{_several(sum(1 for g in groups if len(g) > 1), "event")} of several stories; {len(feeds)} feeds: {failing} failing, \
{pages_failing} with pages failing; {len(letters)} dead letters.</p>
<div class="charts">{bar_chart("stories per hour published (UTC)" + (f", {undated} undated" if undated else ""),
                               sorted(per_hour.items())[-24:])}\
{bar_chart("variants per language", per_language.most_common(12))}</div>
<h2>Stories</h2>{"".join(sections) or "<p class='muted'>No story in this period.</p>"}
<h2>Feed health</h2>{feed_table(feeds, letters)}
{dropped_table(list(dropped))}""")


def dropped_table(dropped: list[dict[str, Any]]) -> str:
    """The items left out on purpose (the feeds file's rules), the latest first, with why."""
    if not dropped:
        return ""
    rows = "".join(f"<tr><td>{text(item['at'])}</td><td>{link(item['url'], item['url'][:120])}</td>"
                   f"<td>{text(item['reason'])}</td></tr>" for item in dropped)
    return (f"<h2>Dropped by your rules</h2><details><summary>{len(dropped)} items (the latest)</summary>"
            f"<table><thead><tr><th>when</th><th>item</th><th>why</th></tr></thead><tbody>{rows}</tbody></table>"
            "</details>")


def html_page(title: str, body: str, policy: str = POLICY) -> str:
    """A whole page: newsbeam's style, and a policy under which no script runs and nothing is
    fetched from elsewhere."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{text(title)}</title><style>{STYLE}</style></head>
<body>{body}</body></html>
"""
