"""Keep and block rules: which items of a feed a user wants, written in the feeds file.

    rules:                                     # for every feed
      - block: {title: "(?i)horoscope|sponsored"}
    feeds:
      - url: https://example.org/feed.xml
        rules:
          - keep: {language: [de, en]}
          - block: {text: "(?i)\\bwerbung\\b", older_than: 7d}

A rule's conditions must all hold for it to match; a condition's value is a regular expression
(or a list of them, any of which may match) searched in the item's field: `title`, `text`,
`author` (any of its authors), `url`, `site` (the link's host); `language` is a list of
two-letter codes; `older_than` an age (30m, 12h, 7d). An item that matches a block rule is
dropped; where a scope (all feeds, or the feed) has keep rules, an item must match one of them.

Rules are applied twice. To a feed's entry before its page is fetched (a blocked item costs no
request), with what the feed says of it: a rule that needs what only the page tells (the
article's text, a language the feed does not declare) waits for the article, and is applied
to it after extraction. A pattern runs with a time limit (the `regex` library's): a pattern that
would backtrack for minutes over a long text is cut off, and counts as no match.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import regex

from newsbeam.schemas import Article, FeedEntry, parse_time

ACTIONS = ("keep", "block")
TEXT_FIELDS = ("title", "text", "author", "url", "site")
FIELDS = (*TEXT_FIELDS, "language", "older_than")
# One pattern's search over one field: longer, and it counts as no match (the time is the
# regex library's own, checked while it searches).
PATTERN_TIMEOUT_S = 0.05
# Of a long article, the text searched: the start (where what a rule looks for is).
MAX_TEXT_CHARS = 100_000
_AGE = re.compile(r"^\s*(\d{1,6})\s*([mhdw])\s*$")
_AGE_UNIT_S = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


# How the store remembers an item a rule dropped: this, then the rule.
DROPPED_BY_A_RULE = "dropped by a rule: "
T = TypeVar("T")


class RuleError(ValueError):
    """A rule the feeds file cannot have: the message names what is wrong, in one line."""


@dataclasses.dataclass(frozen=True)
class Condition:
    field: str
    patterns: tuple[Any, ...] = ()  # compiled regex patterns, for the text fields
    languages: frozenset[str] = frozenset()
    older_than_s: float | None = None


@dataclasses.dataclass(frozen=True)
class Rule:
    action: str  # keep or block
    conditions: tuple[Condition, ...]
    # how the user wrote it, and where: what a listing of dropped items shows
    label: str


@dataclasses.dataclass(frozen=True)
class Item:
    """What a rule is judged on: a feed's entry (`whole` False: its text is the feed's summary,
    its language what the feed declares) or an extracted article (`whole` True)."""

    title: str
    text: str
    authors: tuple[str, ...]
    url: str
    language: str | None
    published: str | None
    whole: bool

    @classmethod
    def of_entry(cls, entry: FeedEntry) -> Item:
        return cls(entry.title, entry.summary, entry.authors, entry.url, entry.language, entry.published, False)

    @classmethod
    def of_article(cls, article: Article) -> Item:
        return cls(article.title, article.text, article.authors + article.credits, article.url, article.language,
                   article.published, True)


def parse_rules(raw: Any, where: str) -> tuple[Rule, ...]:
    """Rules from the feeds file's YAML (a list of {keep: {...}} or {block: {...}}); RuleError
    names the first mistake."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise RuleError(f"{where}: 'rules' must be a list of keep: or block: rules")
    return tuple(_rule(item, f"{where}: rule {number}") for number, item in enumerate(raw, start=1))


def parse_age(value: Any) -> float | None:
    """An age or an interval as the feeds file writes it (30m, 12h, 7d, 2w) in seconds; None
    for anything else."""
    match = _AGE.match(value) if isinstance(value, str) else None
    return int(match.group(1)) * _AGE_UNIT_S[match.group(2)] if match else None


def _rule(item: Any, where: str) -> Rule:
    if not isinstance(item, dict) or len(item) != 1 or next(iter(item)) not in ACTIONS:
        raise RuleError(f"{where}: a rule is one 'keep:' or 'block:' with its conditions, e.g. "
                        "block: {title: \"(?i)horoscope\"}")
    action, conditions = next(iter(item.items()))
    if not isinstance(conditions, dict) or not conditions:
        raise RuleError(f"{where}: '{action}' needs conditions: {', '.join(FIELDS)}")
    unknown = sorted(set(map(str, conditions)) - set(FIELDS))
    if unknown:
        raise RuleError(f"{where}: unknown field(s) {', '.join(unknown)}; a rule looks at {', '.join(FIELDS)}")
    parsed = tuple(_condition(str(name), value, where) for name, value in conditions.items())
    shown = ", ".join(f"{name} {_shown(value)}" for name, value in conditions.items())
    return Rule(action, parsed, f"{action} {shown} ({where.split(': ')[0]})")


def _shown(value: Any) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return f"~ {text[:80]!r}"


def _condition(name: str, value: Any, where: str) -> Condition:
    if name == "older_than":
        seconds = parse_age(value)
        if seconds is None:
            raise RuleError(f"{where}: older_than must be an age such as 30m, 12h or 7d, not {value!r}"[:300])
        return Condition(name, older_than_s=seconds)
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v for v in values):
        raise RuleError(f"{where}: {name} must be text or a list of texts")
    if name == "language":
        if not all(len(v) == 2 and v.isalpha() for v in values):
            raise RuleError(f"{where}: language must be two-letter codes, e.g. [de, en]")
        return Condition(name, languages=frozenset(v.lower() for v in values))
    patterns = []
    for text in values:
        try:
            patterns.append(regex.compile(text, regex.VERSION0))
        except regex.error as exc:
            raise RuleError(f"{where}: {name}: not a regular expression ({exc}): {text!r}"[:300]) from None
    return Condition(name, patterns=tuple(patterns))


@dataclasses.dataclass(frozen=True)
class RuleSet:
    """The rules for all feeds and those of each feed (by its URL)."""

    everywhere: tuple[Rule, ...] = ()
    by_feed: tuple[tuple[str, tuple[Rule, ...]], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.everywhere or self.by_feed)

    def split(self, items: Iterable[T], judged: Callable[[T], Item], feed_url: Callable[[T], str]
              ) -> tuple[list[T], list[tuple[T, str]]]:
        """The items the rules keep, and the others with why (the rule that dropped each)."""
        kept, dropped = [], []
        for item in items:
            rule = self.dropped_by(judged(item), feed_url(item))
            if rule is None:
                kept.append(item)
            else:
                dropped.append((item, DROPPED_BY_A_RULE + rule.label))
        return kept, dropped

    def dropped_by(self, item: Item, feed_url: str, now: dt.datetime | None = None) -> Rule | None:
        """The rule that drops the item (a block rule it matches, or the first keep rule of a
        scope it matches none of), or None to keep it. For an entry, only what its feed tells
        decides: a rule that needs more waits for the article."""
        now = now or dt.datetime.now(dt.UTC)
        for rules in (self.everywhere, dict(self.by_feed).get(feed_url, ())):
            for rule in rules:
                if rule.action == "block" and _verdict(rule, item, now) is True:
                    return rule
            keeps = [rule for rule in rules if rule.action == "keep"]
            verdicts = [_verdict(rule, item, now) for rule in keeps]
            if keeps and all(verdict is False for verdict in verdicts):
                return keeps[0]
        return None


NO_RULES = RuleSet()


def _verdict(rule: Rule, item: Item, now: dt.datetime) -> bool | None:
    """Does the item match the rule: True, False, or None when what the item says so far
    cannot decide (an entry, for a rule on what only its page tells)?"""
    verdicts = [_holds(condition, item, now) for condition in rule.conditions]
    if False in verdicts:
        return False
    return None if None in verdicts else True


def _holds(condition: Condition, item: Item, now: dt.datetime) -> bool | None:
    """Whether the condition holds; None when an entry cannot tell yet. Of an entry, the title,
    link and date are the article's own; its text is a summary at most, and its authors and
    language what the feed declares: a match there holds, no match waits for the article."""
    if condition.field == "older_than":
        if not item.published:
            return False if item.whole else None  # undated: no age to judge
        return (now - parse_time(item.published)).total_seconds() > (condition.older_than_s or 0)
    if condition.field == "language":
        matched = bool(item.language) and item.language in condition.languages
    else:
        texts = _texts(condition.field, item)
        matched = any(_search(pattern, text) for pattern in condition.patterns for text in texts)
    if matched:
        return True
    return False if item.whole or condition.field in ("title", "url", "site") else None


def _texts(field: str, item: Item) -> Iterable[str]:
    if field == "author":
        return item.authors
    if field == "site":
        return [urllib.parse.urlsplit(item.url).hostname or ""]
    if field == "text":
        return [item.text[:MAX_TEXT_CHARS]]
    return [getattr(item, field)]


def _search(pattern: Any, text: str) -> bool:
    try:
        return pattern.search(text, timeout=PATTERN_TIMEOUT_S) is not None
    except TimeoutError:
        return False
