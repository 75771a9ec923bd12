"""Which variant is a story's original (matching.originals): decided as articles are filed,
from the story's original so far and the copies of the article's text, with no store."""

from __future__ import annotations

import itertools

from newsbeam.matching.originals import original_of, takes_over


def row(url: str, published: str | None, text: str = "h1", first_seen: str = "2026-11-20T10:00:00+00:00",
        date_only: bool = False) -> dict:
    return {"url": url, "published": published, "published_date_only": date_only, "body_hash": text,
            "first_seen": first_seen}


def test_the_earliest_published_is_the_original_in_any_filing_order_within_a_pass():
    rows = [row("https://a.example/1", "2026-11-20T10:00:00+00:00", "h1"),
            row("https://b.example/2", "2026-11-20T08:00:00+00:00", "h2"),
            row("https://c.example/3", None, "h3"),
            row("https://d.example/4", "2026-11-20T00:00:00+00:00", "h4", date_only=True),
            row("https://e.example/5", "2026-11-20T08:00:00+00:00", "h1")]  # a copy, in the same second
    for order in itertools.permutations(rows):
        current = None
        for filed, article in enumerate(order):
            if takes_over(article, current, [r for r in order[:filed] if r["body_hash"] == article["body_hash"]],
                          article["first_seen"]):
                current = article
        assert current["url"] == "https://b.example/2"  # 08:00 ties with the copy: by URL
    assert original_of(rows) == "https://b.example/2"


def test_a_copy_of_a_text_filed_before_never_takes_over_by_dating_itself_earlier():
    first = row("https://a.example/report", "2026-11-20T10:00:00+00:00", "h1", "2026-11-20T10:00:00+00:00")
    translation = row("https://b.example/en", "2026-11-20T09:00:00+00:00", "h2", "2026-11-20T11:00:00+00:00")
    copy = row("https://c.example/copy", "2026-11-20T08:00:00+00:00", "h1", "2026-11-20T12:00:00+00:00")
    assert takes_over(translation, first, [], translation["first_seen"])  # earlier, and its own text
    assert not takes_over(copy, translation, [first], copy["first_seen"])
    assert original_of([first, translation, copy]) == translation["url"]
    # the same site publishing its own text again, earlier dated, is no copy of another site's
    same_site = row("https://www.a.example/report?amp", "2026-11-20T07:00:00+00:00", "h1", "2026-11-20T12:00:00+00:00")
    assert takes_over(same_site, translation, [first], same_site["first_seen"])


def test_an_original_updated_in_place_stays_the_original():
    original = row("https://a.example/1", "2026-11-20T08:00:00+00:00")
    later = row("https://b.example/2", "2026-11-20T09:00:00+00:00", "h2")
    assert takes_over({**original, "published": "2026-11-20T09:30:00+00:00"}, original, [], "2026-11-20T12:00:00")
    assert not takes_over(later, original, [], "2026-11-20T12:00:00")
    assert original_of([]) is None
