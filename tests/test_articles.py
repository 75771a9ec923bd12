"""Extraction, language detection and normalization of article pages."""

from __future__ import annotations

from schemas import FeedEntry, FetchedPage
from tests.conftest import DEMO_SITE, FIXTURES
from transforms.articles import (
    article_from_feed,
    detect_language,
    extract_article,
    normalize_text,
    split_authors,
    strip_repeated_headline,
    utc_date,
)


def entry(url: str = "http://news.example/a", **fields) -> FeedEntry:
    values = dict(url=url, link=url, feed_url="http://news.example/feed", feed_name="Example", title="",
                  summary="", published=None, updated=None, language=None)
    values.update(fields)
    return FeedEntry(**values)


def test_extracts_body_and_metadata_from_a_german_page():
    html = (DEMO_SITE / "kurier" / "seilbahn-beschlossen.html").read_bytes()
    article = extract_article(FetchedPage(entry=entry(), url="http://news.example/a", html=html,
                                          content_type="text/html"))
    assert article is not None
    assert article.title == "Lindenau baut eine Seilbahn über den Fluss"
    # the headline is not repeated as the first line; navigation and footer are gone
    assert article.text.startswith("Der Stadtrat von Lindenau")
    assert "Impressum" not in article.text and "Meistgelesen" not in article.text
    assert article.text.endswith("bei der Stadtverwaltung einreichen.")
    assert article.language == "de"
    assert article.authors == ("Greta Lindqvist",)
    assert article.site_name == "Lindenauer Kurier"
    assert article.published == "2026-11-20T00:00:00+00:00"  # the page's date; the feed had none here
    assert article.body_source == "page"


def test_feed_date_wins_over_the_page_date():
    html = (FIXTURES / "site" / "gazette" / "partner-lindenau-cable-car.html").read_bytes()
    article = extract_article(FetchedPage(entry=entry(published="2026-11-20T14:00:00+00:00"),
                                          url="http://news.example/a", html=html, content_type="text/html"))
    assert article.published == "2026-11-20T14:00:00+00:00"
    assert article.language == "en"
    assert "Subscribe" not in article.text and "More from the valley" not in article.text


def test_page_without_a_body_gives_none():
    html = (FIXTURES / "site" / "broken" / "empty-page.html").read_bytes()
    assert extract_article(FetchedPage(entry=entry(), url="http://x/", html=html, content_type="text/html")) is None


def test_article_from_feed_text():
    article = article_from_feed(entry(title="Short", summary="Short\n" + "Die Brücke bleibt bis zum Frühjahr gesperrt, "
                                      "weil der Fluss im Herbst zu hoch stand.", language="de"))
    assert article.body_source == "feed" and article.text.startswith("Die Brücke")
    assert article_from_feed(entry(title="Nothing")) is None


def test_language_detection_is_stable_and_falls_back_for_short_texts():
    text = ("The harbour ferry between Lindenau and the island moves to its winter timetable on Monday, "
            "with boats every forty minutes.")
    assert {detect_language(text, None) for _ in range(5)} == {"en"}
    assert detect_language("Kurz.", "de") == "de"
    assert detect_language("", None) is None


def test_normalize_text():
    assert normalize_text("  Cafe\u0301  au   lait \n\n\n second\tline ") == "Café au lait\nsecond line"


def test_strip_repeated_headline():
    assert strip_repeated_headline("Big News!", "Big news\nBody text.") == "Body text."
    assert strip_repeated_headline("Big News", "Other first line\nBody.") == "Other first line\nBody."


def test_split_authors():
    assert split_authors("By Jane Doe and John Roe; jane doe", "Max Mustermann und Erika Musterfrau") == (
        "Jane Doe", "John Roe", "Max Mustermann", "Erika Musterfrau")


def test_utc_date():
    assert utc_date("2026-11-20T10:00:00+02:00") == "2026-11-20T08:00:00+00:00"
    assert utc_date("2026-11-20") == "2026-11-20T00:00:00+00:00"
    assert utc_date("yesterday") is None


def test_page_in_a_legacy_encoding_has_no_mojibake():
    html = (DEMO_SITE / "kurier" / "stadtbibliothek-sonntag.html").read_text(encoding="utf-8")
    legacy = html.replace('<meta charset="utf-8">', '<meta http-equiv="Content-Type" content="text/html; '
                          'charset=iso-8859-1">').encode("iso-8859-1")
    article = extract_article(FetchedPage(entry=entry(), url="http://news.example/a", html=legacy,
                                          content_type="text/html"))
    assert "Möglich wird das durch einen Förderverein" in article.text
    assert "Ã" not in article.text and "\ufffd" not in article.text
